"""The Meltano project as its users run it: the real ``meltano`` (from ``.venv``, as ``bin/dev``
installs it) in a temporary copy of the project, with the plugins installed by ``meltano install``
once for this module.

Two customers, the example environments ``acme`` and ``bloom`` exactly as shipped in
``environments/``, each against its own Pay. and Exact sandboxes seeded from a different
generated merchant. The sandboxes are seeded to fit what the environment files say (token code,
client id, division, revenue groups, journals), and the customers' secrets reach Meltano only
through their own variables (``ACME_PAY_API_TOKEN``, ``BLOOM_EXACT_CLIENT_SECRET``, ...).

The real Pay. and Exact hosts are unreachable here, so each run points the plugins at its
customer's sandboxes with ``TAP_PAY_API_URL`` and ``TARGET_EXACTONLINE_EXACT_BASE_URL``, set only
in that one process's environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from pay_exact_sandbox.exact.config import OAuthClient
from pay_exact_sandbox.exact.data import ExactData
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.generator import GeneratorParams, Merchant, generate, jsonio
from pay_exact_sandbox.generator.exact_side import ExactSideParams, build_exact_data
from pay_exact_sandbox.generator.params import RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from target_exactonline.exact_client import SqlTokenStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"
# What a clone holds that Meltano needs: the project files and the plugins' packages.
PROJECT_PARTS = ("meltano.yml", "environments", "tap-pay", "transform", "target-exactonline")
STATE_ID = "{env}:tap-pay-to-target-exactonline"
# Variables that would override every environment's settings (reference singer-meltano §2.2).
BARE_PREFIXES = ("TAP_PAY_", "TARGET_EXACTONLINE_", "TARGET_JSONL_", "MELTANO_")


# -- the project ---------------------------------------------------------------------------------


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(BARE_PREFIXES)}


def meltano(
    project: Path, *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(MELTANO), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert result.returncode == 0, (
            f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with its plugins installed by ``meltano install`` (once)."""
    path = tmp_path_factory.mktemp("pay-exact-project")
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "tests"
    )
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, path / part, ignore=ignore)
        else:
            shutil.copy2(source, path / part)
    text = (path / "meltano.yml").read_text()
    (path / "meltano.yml").write_text(
        re.sub(r"(?m)^project_id: .*$", f"project_id: {uuid.uuid4()}", text)
    )
    meltano(path, "install", env=clean_environ())
    return path


def environment_config(project: Path, name: str) -> dict[str, dict[str, Any]]:
    """The plugin configs an environment file sets, by plugin name."""
    document = yaml.safe_load((project / "environments" / f"{name}.meltano.yml").read_text())
    (environment,) = [e for e in document["environments"] if e["name"] == name]
    plugins = environment["config"]["plugins"]
    return {
        plugin["name"]: plugin.get("config", {})
        for kind in ("extractors", "loaders")
        for plugin in plugins.get(kind, [])
    }


# -- one customer ----------------------------------------------------------------------------------


@dataclass
class Customer:
    """A customer environment, its two sandboxes and its secrets."""

    name: str
    project: Path
    pay: PaySandbox
    exact: ExactSandbox
    merchant: Merchant
    tap_config: dict[str, Any]
    target_config: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def truth(self) -> dict[str, Any]:
        return self.exact.runtime.store.truth["exact"]

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **clean_environ(),
            **self.secrets,
            "TAP_PAY_API_URL": self.pay.api_url,
            "TARGET_EXACTONLINE_EXACT_BASE_URL": self.exact.url,
            **extra,
        }

    def meltano(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return meltano(
            self.project, f"--environment={self.name}", *args, env=self.env(), check=check
        )

    def run(self, *flags: str) -> subprocess.CompletedProcess[str]:
        return self.meltano("run", *flags, "tap-pay", "target-exactonline")

    def authorize(self) -> str:
        """``meltano invoke target-exactonline:authorize --paste``, with a script as the browser.

        The sandbox grants consent at once, so following the printed URL gives the redirect that
        a browser would end on; it is pasted back as a user would.
        """
        process = subprocess.Popen(
            [
                str(MELTANO),
                f"--environment={self.name}",
                "invoke",
                "target-exactonline:authorize",
                "--paste",
            ],
            cwd=self.project,
            env=self.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdin is not None
        url = None
        for line in process.stdout:
            found = re.search(r"(https?://\S+/api/oauth2/auth\?\S+)", line)
            if found:
                url = found.group(1)
                break
        if url is None:
            _, err = process.communicate(timeout=60)
            pytest.fail(f"authorize printed no URL:\n{err[-3000:]}")
        answer = requests.get(url, allow_redirects=False, timeout=30)
        assert answer.status_code == 302, answer.text
        out, err = process.communicate(answer.headers["Location"] + "\n", timeout=120)
        assert process.returncode == 0, err[-3000:]
        return out + err

    def posts(self) -> list[Any]:
        return [e for e in self.exact.requests("/api/v1/") if e.method != "GET"]

    def entries(self) -> dict[str, dict[str, Any]]:
        """Bank entries booked by the target, by clearing id (from the key in each line)."""
        found: dict[str, dict[str, Any]] = {}
        for entry in self.exact.runtime.store.bank_entries.values():
            key = (entry["BankEntryLines"][0]["Description"] or "").split(" ")[0]
            if not key.startswith("PX:"):
                continue  # the merchant's own bank history
            assert key[3:] not in found, f"{self.name}: {key} booked twice"
            found[key[3:]] = entry
        return found

    def clearings(self) -> dict[str, str]:
        """Every clearing of the merchant -> its revenue group."""
        groups = {}
        for settlement in self.merchant.pay["settlements"]:
            for clearing in settlement["clearings"]:
                groups[clearing["clearingId"]] = clearing["clearingLines"][0]["turnoverGroup"][
                    "code"
                ]
        return groups

    def ledger(self) -> list[tuple[int, str, str, str]]:
        path = sqlite_path(self.project, self.store_url)
        with sqlite3.connect(path) as db:
            return db.execute(
                "SELECT division, clearing_id, store_key, status FROM pay_exact_bookings"
            ).fetchall()

    @property
    def store_url(self) -> str:
        url = str(self.target_config["store_url"])
        return self.secrets.get(url[2:-1], url) if url.startswith("${") else url

    def tokens(self, key: str) -> Any:
        store = SqlTokenStore(sqlite_url_in(self.project, self.store_url))
        try:
            return store.load(key)
        finally:
            store.close()

    def reports(self) -> list[Path]:
        return sorted((self.project / self.target_config["report_dir"]).glob("*.jsonl"))


def clearing_outcomes(report: Path) -> list[str]:
    """The outcome of every clearing in a JSON-lines run report."""
    items = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    return [item["outcome"] for item in items if item["type"] == "clearing"]


def sqlite_path(project: Path, url: str) -> Path:
    assert url.startswith("sqlite:///"), url
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else project / path


def sqlite_url_in(project: Path, url: str) -> str:
    return f"sqlite:///{sqlite_path(project, url)}"


def expected_links(truth: dict[str, Any]) -> dict[str, int]:
    """Pay. record id -> the invoice or credit note it must be linked to (the 100 % matches)."""
    links = {}
    for order in truth["orders"].values():
        if order["case"] == "matched":
            links[order["payment_record"]] = int(order["invoice_numbers"][0])
    for record_id, reversal in truth["reversals"].items():
        order = truth["orders"][reversal["order"]]
        if reversal["case"] == "credit_note" and order["case"] != "currency_mismatch":
            links[record_id] = int(reversal["credit_note_number"])
    return links


def linked(entries: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Pay. record id -> invoice number, for every line linked to an invoice."""
    found = {}
    for entry in entries.values():
        for line in entry["BankEntryLines"]:
            record = re.search(r"transaction (\S+)", line.get("Notes") or "")
            if record and line.get("OurRef") is not None:
                found[record.group(1)] = int(line["OurRef"])
    return found


def rename(merchant: Merchant, renames: dict[str, str]) -> Merchant:
    """The same merchant with codes (token code, revenue groups) renamed everywhere."""
    text = merchant.dumps()
    for old, new in renames.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return Merchant.from_json(jsonio.loads(text))


def start_customer(
    name: str,
    project: Path,
    params: GeneratorParams,
    pay_factory: Callable[..., PaySandbox],
    exact_factory: Callable[..., ExactSandbox],
    *,
    extend: Callable[[ExactData, dict[str, Any]], None] | None = None,
) -> Customer:
    configs = environment_config(project, name)
    tap, target = configs["tap-pay"], configs["target-exactonline"]
    merchant = generate(params)
    renames = {merchant.pay["tokens"][0]["code"]: tap["token_code"]}
    groups = tap.get("revenue_groups") or []
    for group, code in zip(merchant.pay["turnoverGroups"], groups, strict=False):
        renames[group["code"]] = code
    merchant = rename(merchant, renames)
    data = build_exact_data(
        merchant, ExactSideParams(seed=params.seed, division_code=int(target["division"]))
    )
    if extend is not None:
        extend(data, target)
    prefix = name.upper()
    secrets = {
        f"{prefix}_PAY_API_TOKEN": merchant.pay["tokens"][0]["token"],
        f"{prefix}_EXACT_CLIENT_SECRET": f"{name}-exact-secret-{uuid.uuid4().hex}",
    }
    client = OAuthClient(
        client_id=target["client_id"],
        client_secret=secrets[f"{prefix}_EXACT_CLIENT_SECRET"],
        redirect_uris=(target["redirect_uri"],),
    )
    return Customer(
        name=name,
        project=project,
        pay=pay_factory(merchant),
        exact=exact_factory(data, clients=(client,)),
        merchant=merchant,
        tap_config=tap,
        target_config=target,
        secrets=secrets,
    )


def bloom_extras(data: ExactData, target: dict[str, Any]) -> None:
    """What bloom's file names beyond the generated chart: the shop counter's bank journal and
    the standard debtor."""
    for override in target.get("revenue_group_overrides") or []:
        journal = override.get("bank_journal")
        if journal and journal not in {j["Code"] for j in data.journals}:
            gl = f"11{journal}"
            data.gl_accounts.append({"Code": gl, "Description": f"Pay. {journal}", "Type": 12})
            data.journals.append(
                {"Code": journal, "Description": "Pay. winkel", "Type": 12, "GLAccountCode": gl}
            )
    data.accounts.append(
        {"Code": target["standard_debtor_code"], "Name": "Kassaklanten", "Country": "NL"}
    )


@pytest.fixture
def customers(
    project: Path,
    pay_sandbox_factory: Callable[..., PaySandbox],
    exact_sandbox_factory: Callable[..., ExactSandbox],
) -> dict[str, Customer]:
    acme = start_customer(
        "acme",
        project,
        GeneratorParams(seed=61, days=3, payments_per_clearing=(8, 12)),
        pay_sandbox_factory,
        exact_sandbox_factory,
    )
    bloom = start_customer(
        "bloom",
        project,
        GeneratorParams(
            seed=62,
            start_date=date(2025, 6, 2),
            days=3,
            payments_per_clearing=(8, 12),
            revenue_groups=(
                RevenueGroup("Webshop", "woocommerce"),
                RevenueGroup("Winkel", "lightspeed", own_bank_account=True),
            ),
        ),
        pay_sandbox_factory,
        exact_sandbox_factory,
        extend=bloom_extras,
    )
    # bloom keeps its ledger and tokens in the database its variable names; here a file.
    bloom.secrets["BLOOM_STORE_URL"] = "sqlite:///.state/bloom/store.sqlite"
    return {"acme": acme, "bloom": bloom}


# -- the tests ----------------------------------------------------------------------------------


def test_two_customers_book_separately_and_reruns_book_nothing(
    project: Path, customers: dict[str, Customer]
) -> None:
    acme, bloom = customers["acme"], customers["bloom"]

    # Each customer authorizes once; the tokens land in that customer's own store, under its name.
    for customer in (acme, bloom):
        said = customer.authorize()
        assert f"division {customer.target_config['division']} is readable" in said
        assert customer.secrets[f"{customer.name.upper()}_EXACT_CLIENT_SECRET"] not in said
    assert acme.tokens("acme") is not None
    assert acme.tokens("bloom") is None
    assert bloom.tokens("bloom") is not None
    assert bloom.tokens("acme") is None
    assert sqlite_path(project, acme.store_url) != sqlite_path(project, bloom.store_url)

    # The configuration check passes for both, as the files are shipped (reads only).
    for customer in (acme, bloom):
        checked = customer.meltano("invoke", "target-exactonline", "--test", check=False)
        assert checked.returncode == 0, checked.stderr[-3000:]
        assert "MISSING" not in checked.stderr
        assert f"Bank journal {customer.target_config['bank_journal']}" in checked.stderr
        # The self-check: before any live run the settlement model cannot be judged yet.
        assert "COULD NOT TELL settlement_model: " in checked.stderr
        # ... and the Pay. side of it, as onboarding runs it.
        paid = customer.meltano("invoke", "tap-pay:check", check=False)
        assert paid.returncode == 0, paid.stderr[-3000:]
        assert "HELD    clearing_permission: " in paid.stderr
        assert "HELD    settlement_unit: " in paid.stderr

    # acme is shipped in dry-run mode, as onboarding starts: nothing is written to Exact, the
    # report shows the plan, and no state is kept, so the first live run reads everything.
    acme.run()
    assert acme.posts() == []
    assert acme.entries() == {}
    (dry_report,) = acme.reports()
    outcomes = clearing_outcomes(dry_report)
    assert set(outcomes) == {"would_book"}
    assert len(outcomes) == len(acme.clearings())
    states = meltano(project, "state", "list", env=clean_environ()).stdout
    assert STATE_ID.format(env="acme") not in states

    # Going live is removing the dry_run line from the customer's file.
    env_file = project / "environments" / "acme.meltano.yml"
    live = re.sub(r"(?m)^\s*dry_run: true\n", "", env_file.read_text())
    assert live != env_file.read_text()
    env_file.write_text(live)

    # The nightly job for acme, the plain run for bloom: both book every clearing once.
    acme.meltano("run", "pay-to-exact")
    bloom.run()

    for customer in (acme, bloom):
        entries = customer.entries()
        clearings = customer.clearings()
        assert set(entries) == set(clearings), customer.name
        for entry in entries.values():
            assert sum(line["AmountFC"] for line in entry["BankEntryLines"]) == Decimal(0)
        links = expected_links(customer.truth)
        assert len(links) >= len(clearings), customer.name  # most payments match in full
        assert linked(entries) == links, customer.name
        assert len(customer.posts()) == len(clearings)
    # bloom's shop counter pays into its own bank journal, as its file says
    overrides = {o["revenue_group"]: o for o in bloom.target_config["revenue_group_overrides"]}
    for clearing_id, entry in bloom.entries().items():
        group = bloom.clearings()[clearing_id]
        journal = overrides.get(group, {}).get("bank_journal", bloom.target_config["bank_journal"])
        assert entry["JournalCode"] == journal, clearing_id
    assert {e["JournalCode"] for e in bloom.entries().values()} == {"25", "26"}
    # each division holds only its own merchant's clearings
    assert not set(acme.entries()) & set(bloom.clearings())
    assert not set(bloom.entries()) & set(acme.clearings())

    # After the first live run the self-check sees the linked invoices settled.
    after = acme.meltano("invoke", "target-exactonline", "--test", check=False)
    assert after.returncode == 0, after.stderr[-3000:]
    assert "HELD    settlement_model: " in after.stderr

    # Separate state ids, each at its own merchant's last settlement.
    states = meltano(project, "state", "list", env=clean_environ()).stdout
    for customer in (acme, bloom):
        state_id = STATE_ID.format(env=customer.name)
        assert state_id in states
        shown = json.loads(meltano(project, "state", "get", state_id, env=clean_environ()).stdout)
        bookmark = shown["singer_state"]["bookmarks"]["settlements"]["replication_key_value"]
        last = max(s["settlementDate"] for s in customer.merchant.pay["settlements"])
        assert bookmark == last, customer.name

    # Separate ledgers: each holds its own division's clearings, posted, under its own name.
    for customer in (acme, bloom):
        rows = customer.ledger()
        assert {r[1] for r in rows} == set(customer.clearings())
        assert {(r[0], r[2], r[3]) for r in rows} == {
            (int(customer.target_config["division"]), customer.name, "posted")
        }

    # Reruns book nothing: no write reaches either Exact, and nothing new is in either division.
    for customer in (acme, bloom):
        before = len(customer.posts())
        customer.exact.admin.log.clear()
        customer.run()
        assert customer.posts() == [], customer.name
        assert len(customer.entries()) == before
        outcomes = clearing_outcomes(customer.reports()[-1])
        assert set(outcomes) == {"already_booked"}, customer.name

    # No secret reached a file of the project.
    written = "\n".join(
        p.read_text(errors="replace")
        for p in [project / "meltano.yml", *(project / "environments").glob("*.yml")]
        + [r for c in (acme, bloom) for r in c.reports()]
    )
    for customer in (acme, bloom):
        for value in customer.secrets.values():
            if not value.startswith("sqlite"):
                assert value not in written


def test_tap_pay_into_target_jsonl_keeps_working(
    project: Path, pay_sandbox_factory: Callable[..., PaySandbox]
) -> None:
    pay = pay_sandbox_factory(GeneratorParams(seed=63, days=2, payments_per_clearing=(3, 5)))
    env = {
        **clean_environ(),
        "PAY_SANDBOX_API_URL": pay.api_url,
        "DEMO_PAY_TOKEN_CODE": pay.token_code,
        "DEMO_PAY_API_TOKEN": pay.api_token,
    }
    meltano(project, "--environment=demo", "run", "tap-pay", "target-jsonl", env=env)
    written = (project / "output" / "demo" / "clearing_records.jsonl").read_text().splitlines()
    assert len(written) == len(pay.merchant.pay["clearingRecords"])
    shown = meltano(project, "state", "get", "demo:tap-pay-to-target-jsonl", env=env).stdout
    assert "settlements" in shown
