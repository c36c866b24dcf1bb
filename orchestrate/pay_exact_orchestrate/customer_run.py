"""One booking run of one customer, whatever starts it (Dagster, a shell, cron).

Phases:
1. settings: the shared stores must be configured (``settings.py``), else nothing starts;
2. the customer: its environment file is read, must not share its Exact administration and must
   set the key that encrypts its tokens in the shared store;
3. secrets: that customer's variables from the secret provider, for this process only;
4. the view: a private Meltano project for this run (``view.py``);
5. ``meltano --environment=<customer> run tap-pay target-exactonline``, never ``--force``
   (Meltano's guard against a second run of the same job is all ``--force`` would turn off; the
   target's run lock and ledger stay the real guard); a previous run of this customer that was
   killed with its processes is cleared first (``dead_runs.py``), and this run leaves a claim
   while ``meltano`` runs as the leader of its own process group;
6. the outcome: read from the report the target wrote for this run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pay_exact_orchestrate.customers import Customer, read_customers
from pay_exact_orchestrate.dead_runs import clear_dead_runs, new_run_id, write_claim
from pay_exact_orchestrate.report_reader import ReportSummary, latest_report
from pay_exact_orchestrate.secrets import OwnerOnlyFileSecrets, SecretProvider, SecretsError
from pay_exact_orchestrate.settings import SECRETS_DIR, OrchestrateSettings
from pay_exact_orchestrate.view import private_view

# Variables that would set every customer's plugin settings or Meltano's own; a run gets only
# the ones this module sets (reference singer-meltano §2.2).
BARE_PREFIXES = ("TAP_PAY_", "TARGET_EXACTONLINE_", "TARGET_JSONL_", "MELTANO_")
STATE_ID = "{customer}:tap-pay-to-target-exactonline"
LOG_TAIL = 40  # lines of Meltano's output kept with a result that did not book everything
TIMEOUT_S = 3 * 3600.0


class CustomerRefused(RuntimeError):
    """This customer cannot run as configured (unknown, unreadable, or sharing its books)."""


@dataclass(frozen=True, slots=True)
class CustomerRunResult:
    customer: str
    # booked: ran and every clearing is in Exact; nothing_to_do: no clearings came in;
    # not_booked: ran, some clearings were not booked (the report says why; retried next run);
    # failed: the run ended without a report (Meltano, a plugin or the connection failed).
    outcome: str
    exit_code: int
    seconds: float
    summary: ReportSummary | None = None
    log_tail: list[str] = field(default_factory=list)
    # Meltano run ids of earlier runs of this customer, killed with their processes, that this
    # run marked failed before it started (``dead_runs.py``).
    cleared_runs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("booked", "nothing_to_do")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.summary is not None:
            data["summary"] = self.summary.as_dict()
        return data


def meltano_command() -> str:
    """The ``meltano`` beside this Python (a virtual environment's), else the one on PATH."""
    beside = Path(sys.executable).parent / "meltano"
    return str(beside) if beside.exists() else "meltano"


def default_provider(settings: OrchestrateSettings) -> SecretProvider:
    if settings.secrets_dir is None:
        raise SecretsError(f"{SECRETS_DIR} is not set: it names the folder of the secret files")
    return OwnerOnlyFileSecrets(settings.secrets_dir)


def find_customer(settings: OrchestrateSettings, name: str) -> Customer:
    customers = read_customers(settings.environments_dir)
    if name in customers.refused:
        raise CustomerRefused(customers.refused[name])
    if name not in customers.usable:
        raise CustomerRefused(
            f"{name}: no environment file {name}.meltano.yml in {settings.environments_dir}"
        )
    customer = customers.usable[name]
    if not customer.token_key_set:
        # The target would refuse to start too, but only after Meltano and the tap ran, and the
        # run would be retried as if the failure could pass.
        raise CustomerRefused(
            f"{name}: target-exactonline has no token_encryption_key in {customer.file.name}; the "
            f"shared store keeps Exact tokens encrypted (e.g. token_encryption_key: "
            f"${{{customer.secret_prefix}TOKEN_ENCRYPTION_KEY}}, the key in its secrets)"
        )
    return customer


def run_environment(
    settings: OrchestrateSettings,
    customer: Customer,
    secrets: Mapping[str, str],
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``meltano`` process's variables: the caller's less plugin and Meltano settings, the
    shared stores, this customer's report folder, and this customer's secrets."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith(BARE_PREFIXES)
    }
    env.update(
        {
            "MELTANO_DATABASE_URI": settings.meltano_database_uri,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TARGET_EXACTONLINE_STORE_URL": settings.store_url,
            "TARGET_EXACTONLINE_REPORT_DIR": str(settings.reports_dir / customer.name),
        }
    )
    env.update(secrets)
    return env


def _url_passwords(*urls: str) -> list[str]:
    found = []
    for url in urls:
        try:
            password = make_url(url).password
        except ArgumentError:
            continue
        if password:
            found.append(str(password))
    return found


def _scrubbed(lines: list[str], secrets: Iterable[str]) -> list[str]:
    """``lines`` with every secret value (4 characters or more) replaced by ***."""
    values = sorted((v for v in secrets if len(v) >= 4), key=len, reverse=True)
    out = []
    for line in lines:
        clean = line
        for value in values:
            clean = clean.replace(value, "***")
        out.append(clean)
    return out


def prepare_system_database(
    settings: OrchestrateSettings,
    *,
    meltano: str | None = None,
    base_environ: Mapping[str, str] | None = None,
) -> None:
    """Create or migrate Meltano's system database once, before runs start.

    Every ``meltano`` start migrates the system database when it is behind, without a lock
    between processes (``meltano/core/migration_service.py``): the first runs of a night on a
    new or upgraded database would migrate it at the same time. So deployments run this (``bin/dev
    orchestrate``, ``pay-exact-run-customer --prepare``) after installing or upgrading Meltano.
    """
    env = {
        k: v
        for k, v in (os.environ if base_environ is None else base_environ).items()
        if not k.startswith(BARE_PREFIXES)
    }
    env["MELTANO_DATABASE_URI"] = settings.meltano_database_uri
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    done = subprocess.run(
        [meltano or meltano_command(), "upgrade", "database"],
        cwd=settings.project_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"meltano upgrade database failed (exit {done.returncode}): {done.stderr[-2000:]}"
        )


def run_customer(
    name: str,
    *,
    settings: OrchestrateSettings | None = None,
    provider: SecretProvider | None = None,
    meltano: str | None = None,
    base_environ: Mapping[str, str] | None = None,
) -> CustomerRunResult:
    """Book one customer; raises before starting when it cannot run safely."""
    settings = settings or OrchestrateSettings.from_environ(base_environ)
    customer = find_customer(settings, name)
    secrets = (provider or default_provider(settings)).secrets_for(customer)
    env = run_environment(settings, customer, secrets, base_environ)
    reports = settings.reports_dir / customer.name
    reports.mkdir(parents=True, exist_ok=True)
    cleared = clear_dead_runs(reports, settings.meltano_database_uri)
    run_id = new_run_id()
    started = time.time()
    with private_view(settings.project_dir, customer) as view:
        process = subprocess.Popen(
            [
                meltano or meltano_command(),
                f"--environment={customer.name}",
                "run",
                f"--run-id={run_id}",
                "tap-pay",
                "target-exactonline",
            ],
            cwd=view,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Meltano, the tap and the target in one process group of their own: the group
            # says whether any of them still runs (``dead_runs.py``).
            start_new_session=True,
        )
        claim = write_claim(reports, run_id, process.pid)
        try:
            output, _ = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        claim.unlink(missing_ok=True)
    seconds = time.time() - started
    summary = latest_report(reports, since=started)
    if process.returncode == 0:
        outcome = "booked" if summary is not None else "nothing_to_do"
    else:
        outcome = "not_booked" if summary is not None else "failed"
    tail = [] if outcome in ("booked", "nothing_to_do") else output.splitlines()[-LOG_TAIL:]
    return CustomerRunResult(
        customer=customer.name,
        outcome=outcome,
        exit_code=process.returncode,
        seconds=round(seconds, 3),
        summary=summary,
        cleared_runs=cleared,
        log_tail=_scrubbed(
            tail,
            [
                *secrets.values(),
                *_url_passwords(settings.store_url, settings.meltano_database_uri),
            ],
        ),
    )
