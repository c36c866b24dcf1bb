"""A night of many customers, as the orchestrator runs them, against the local sandboxes.

    .venv/bin/python bench/orchestrate_night.py [--customers 20] [--concurrency 4]
                                                [--skip-shared] [--only-shared] [--dagster]

Up to four rounds, each on fresh sandboxes (one multi-customer Pay. and Exact sandbox pair serving
every customer, in this process) and a fresh PostgreSQL database holding Meltano's system
database and the target's store:

1. ``view``: every customer's run in its own private Meltano view (``customer_run.py``),
   ``--concurrency`` at a time, as Dagster's run queue would start them;
2. ``shared, one at a time``: the plain layout, every run from one project folder whose
   ``meltano.yml`` includes every customer's file and has no committed catalog: the CPU a run
   costs there;
3. ``shared, N at once``: the same layout, ``--concurrency`` at a time: how many runs fail
   (Meltano's files under fixed names in the one ``.meltano/run/``);
4. with ``--dagster``, ``dagster, N at once``: the night as an operator runs it
   (``dagster_night.py``): ``dagster-daemon`` with the product's ``dagster.yaml`` and storage in
   a PostgreSQL database of its own, the nightly schedule's run requests, the run queue's limits,
   run retries; ``--kill K`` SIGKILLs K run workers (with their Meltano, tap and target) once
   the sandbox has seen that customer's first bank-entry POST.

Per round: wall time, wall time per customer, CPU-s of Meltano and the plugins per customer
(``getrusage`` of this process's children), the peak memory of one run slot (the sum of the
resident memory of a process this benchmark started and its descendants, sampled every 0.2 s
from ``/proc``), the runs that
failed, the clearings expected and posted, and bookings found twice in Exact.

What this does not measure: real API latency and several machines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import yaml
from pay_exact_orchestrate.bytecode import compile_plugins
from pay_exact_orchestrate.customer_run import (
    BARE_PREFIXES,
    prepare_system_database,
    run_customer,
    run_environment,
)
from pay_exact_orchestrate.customers import read_customers
from pay_exact_orchestrate.dagster_night import book_night, night_environ, prepare_home
from pay_exact_orchestrate.dead_runs import REASON as DEAD_REASON
from pay_exact_orchestrate.dead_runs import RUNS
from pay_exact_orchestrate.sandbox_customers import (
    SandboxCustomer,
    start_customer_sandboxes,
    start_sandbox_customer,
)
from pay_exact_orchestrate.secrets import OwnerOnlyFileSecrets
from pay_exact_orchestrate.settings import OrchestrateSettings
from pay_exact_orchestrate.view import PLUGIN_TYPES, committed_catalog, view_document

ROOT = Path(__file__).resolve().parent.parent
MELTANO = Path(sys.executable).parent / "meltano"
POSTGRES = os.environ.get(
    "PAY_EXACT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith((*BARE_PREFIXES, "PAY_"))}


# -- memory of one run slot ----------------------------------------------------------------------


class SlotMemory:
    """Peak resident memory of one run slot: a process this benchmark started (``meltano``, or
    Dagster's run worker) together with all its descendants, sampled every 0.2 s."""

    def __init__(self) -> None:
        self.me = os.getpid()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> SlotMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> dict[int, int]:
        parent: dict[int, int] = {}
        rss: dict[int, int] = {}
        for name in filter(str.isdigit, os.listdir("/proc")):
            pid = int(name)
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    # The command may hold spaces and brackets: fields follow the last ')'.
                    fields = stat.read().rsplit(")", 1)[1].split()
                parent[pid] = int(fields[1])
                rss[pid] = int(fields[21]) * PAGE_BYTES
            except (OSError, IndexError, ValueError):
                continue
        slots: dict[int, int] = defaultdict(int)
        for pid, size in rss.items():
            top, hops = pid, 0
            while parent.get(top, 0) not in (self.me, 0) and hops < 64:
                top, hops = parent[top], hops + 1
            if parent.get(top) == self.me:
                slots[top] += size
        return slots

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            slots = self._sample()
            if slots:
                self.peak = max(self.peak, *slots.values())


# -- one round -----------------------------------------------------------------------------------


@dataclass
class Round:
    name: str
    customers: int
    wall: float
    cpu: float
    peak_slot: int
    failed: int
    expected: int
    posted: int
    duplicates: int
    errors: list[str]
    killed: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)
    partial: bool = False

    def show(self) -> None:
        # A night cut short: the figures per customer are of the customers booked.
        n = max(self.customers - self.failed if self.partial else self.customers, 1)
        if self.partial:
            print(
                f"PARTIAL (stopped at the time limit): {n} of {self.customers} customers booked",
                flush=True,
            )
        slot = f"{self.peak_slot / 2**20:.0f} MB" if self.peak_slot else "-"
        print(
            f"{self.name:<24} {self.customers:>4} customers  wall {self.wall:7.1f} s "
            f"({self.wall / n:5.2f} s/customer)  CPU {self.cpu / n:5.2f} s/customer  "
            f"peak/slot {slot:>7}  failed {self.failed:>3}  posted {self.posted}/{self.expected}"
            f"  duplicates {self.duplicates}",
            flush=True,
        )
        if self.killed:
            print(
                f"    {self.killed} runs SIGKILLed mid-booking (with their tap and target), "
                f"booked again by {self.retries} retries at {RETRY_AFTER} s back-off",
                flush=True,
            )
        for note in self.notes:
            print(f"    {note}", flush=True)
        for error in self.errors[:3]:
            print(f"    e.g. {error}", flush=True)


def fresh_database() -> tuple[str, Callable[[], None]]:
    base = sa.engine.make_url(POSTGRES)
    name = f"pay_exact_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def cause(done: subprocess.CompletedProcess[str]) -> str:
    """The last line of a failed command's output that says what went wrong."""
    if done.returncode == 0:
        return ""
    lines = (done.stderr + done.stdout).strip().splitlines()
    telling = [
        line
        for line in lines
        if re.search(r"error|invalid|fail|exception", line, re.I)
        and "run completed" not in line.lower()  # Meltano's closing line, also at level error
    ]
    return (telling or lines or ["(no output)"])[-1].strip()[-300:]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def shared_project(settings: OrchestrateSettings, folder: Path) -> Path:
    """The plain layout: one folder, every customer's file included, discovery on every run."""
    any_customer = next(iter(read_customers(settings.environments_dir).usable.values()))
    document = view_document(settings.project_dir, any_customer, committed_catalog())
    document["include_paths"] = ["./environments/*.meltano.yml"]
    for extractor in document["plugins"]["extractors"]:
        extractor.pop("catalog", None)
    folder.mkdir(parents=True)
    (folder / "meltano.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copytree(settings.environments_dir, folder / "environments")
    (folder / ".meltano").mkdir()
    for kind in PLUGIN_TYPES:
        installed = settings.project_dir / ".meltano" / kind
        if installed.is_dir():
            (folder / ".meltano" / kind).symlink_to(installed, target_is_directory=True)
    return folder


# Retries after a killed run, 2, 4 and 8 minutes apart (the asset's RetryPolicy waits about 2, 6
# and 14): Meltano refuses a run of the same job within 5 minutes of the killed one's last
# heartbeat (HEARTBEAT_VALID_MINUTES in meltano/core/job/job.py), so the first retry meets that.
RETRY_AFTER = (120, 240, 480)


def slot_of(customer: str) -> list[int]:
    """This process's ``meltano`` child running ``customer``, then all its descendants."""
    me = os.getpid()
    parent: dict[int, int] = {}
    command: dict[int, str] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as stat:
                parent[int(name)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                command[int(name)] = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
    tops = [
        pid
        for pid, ppid in parent.items()
        if ppid == me and f"--environment={customer} " in command.get(pid, "") + " "
    ]
    found = list(tops)
    for pid in found:
        found.extend(child for child, ppid in parent.items() if ppid == pid)
    return found


class Killer:
    """SIGKILLs the whole run of each chosen customer once its Exact has taken a first POST."""

    def __init__(self, victims: list[SandboxCustomer]) -> None:
        self.waiting = {c.name: c for c in victims}
        self.killed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while self.waiting and not self._stop.wait(0.02):
            for name, customer in list(self.waiting.items()):
                if not any(e.method == "POST" for e in customer.exact.requests("/api/v1/")):
                    continue
                pids = slot_of(name)
                for pid in reversed(pids):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                if pids:
                    self.killed.append(name)
                del self.waiting[name]


def mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def cleared_meltano_jobs(meltano_database_uri: str) -> int:
    """Meltano jobs a customer run marked failed because their processes were gone."""
    engine = sa.create_engine(meltano_database_uri)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.count()).where(RUNS.c.payload.contains(DEAD_REASON))
        ).scalar_one()
    engine.dispose()
    return int(found)


def dagster_round(
    name: str,
    customers: list[SandboxCustomer],
    *,
    settings: OrchestrateSettings,
    work: Path,
    dagster_database: str,
    kill: int,
    timeout: float,
) -> Round:
    """Every customer through Dagster's daemon, by one backfill (``dagster_night.py``)."""
    dagster_url = sa.engine.make_url(dagster_database).set(drivername="postgresql")
    home = prepare_home(work / "dagster")
    victims = {
        c.name: (lambda c=c: any(e.method == "POST" for e in c.exact.requests("/api/v1/")))
        for c in customers[:kill]
    }
    night = book_night(
        [c.name for c in customers],
        home=home,
        environ=night_environ(
            environ(), settings, home, dagster_url.render_as_string(hide_password=False)
        ),
        victims=victims,
        timeout=timeout,
        progress=lambda line: print(f"    {time.strftime('%H:%M:%S')} {line}", flush=True),
    )
    expected = posted = duplicates = 0
    for customer in customers:
        entries = customer.entries()
        expected += len(customer.clearing_ids)
        posted += len(set(entries) & customer.clearing_ids)
        duplicates += sum(n - 1 for n in entries.values() if n > 1)
    failed = [c.name for c in customers if c.name not in night.succeeded]
    cleared = cleared_meltano_jobs(settings.meltano_database_uri)
    runs = ", ".join(f"{n} {status.lower()}" for status, n in sorted(night.runs.items()))
    load = f"mean {night.load[0]:.1f}, peak {night.load[1]:.1f}"
    return Round(
        name=name,
        customers=len(customers),
        wall=night.wall,
        cpu=night.cpu,
        peak_slot=night.peak_slot,
        failed=len(failed),
        expected=expected,
        posted=posted,
        duplicates=duplicates,
        errors=[f"not booked: {', '.join(failed[:10])}", *night.errors] if failed else night.errors,
        partial=bool(failed) and night.wall >= timeout,
        notes=[
            f"runs: {runs}; killed mid-booking: {', '.join(night.killed) or 'none'}; "
            f"booked by a retry: {', '.join(sorted(night.retried)) or 'none'}; killed runs' "
            f"Meltano jobs cleared by the retry: {cleared}",
            f"daemon with code server peak {mb(night.peak_daemon)}; this process (the "
            f"sandboxes) peak {mb(night.peak_self)}; 1-minute load average {load}",
        ],
    )


def run_round(
    name: str,
    count: int,
    concurrency: int,
    layout: str,
    *,
    kill: int = 0,
    timeout: float = 3 * 3600,
) -> Round:
    database, drop = fresh_database()
    dagster_database, drop_dagster = fresh_database() if layout == "dagster" else ("", None)
    customers: list[SandboxCustomer] = []
    sandboxes = start_customer_sandboxes()
    with tempfile.TemporaryDirectory(prefix="pay-exact-night-") as tmp:
        work = Path(tmp)
        settings = OrchestrateSettings(
            meltano_database_uri=database,
            store_url=database,
            reports_dir=work / "reports",
            project_dir=ROOT,
            environments_dir=work / "environments",
            secrets_dir=work / "secrets",
        )
        try:
            for i in range(count):
                customers.append(
                    start_sandbox_customer(
                        f"shop{i + 1}",
                        seed=900 + i,
                        division=500001 + i,
                        # Every other customer in Exact be: the store's keys carry the country.
                        country=("nl", "be")[i % 2],
                        environments_dir=settings.environments_dir,
                        secrets_dir=work / "secrets",
                        store_url=database,
                        sandboxes=sandboxes,
                        days=2,
                    )
                )
            prepare_system_database(settings, base_environ=environ())
            shared = shared_project(settings, work / "shared") if layout == "shared" else None
            if layout == "dagster":
                return dagster_round(
                    name,
                    customers,
                    settings=settings,
                    work=work,
                    dagster_database=dagster_database,
                    kill=kill,
                    timeout=timeout,
                )
            provider = OwnerOnlyFileSecrets(work / "secrets")
            by_name = read_customers(settings.environments_dir).usable

            def book(customer: SandboxCustomer) -> tuple[bool, str]:
                if shared is None:
                    result = run_customer(customer.name, settings=settings, base_environ=environ())
                    return result.ok, "; ".join(result.log_tail[-2:])
                known = by_name[customer.name]
                env = run_environment(settings, known, provider.secrets_for(known), environ())
                done = subprocess.run(
                    [
                        str(MELTANO),
                        f"--environment={customer.name}",
                        "run",
                        "tap-pay",
                        "target-exactonline",
                    ],
                    cwd=shared,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                return done.returncode == 0, cause(done)

            before = children_cpu()
            started = time.monotonic()
            with (
                SlotMemory() as memory,
                ThreadPoolExecutor(max_workers=concurrency) as pool,
                Killer(customers[:kill]) as killer,
            ):
                outcomes = list(pool.map(book, customers))

            # What Dagster does for a run that failed: try again after a back-off.
            def retry(customer: SandboxCustomer) -> tuple[int, tuple[bool, str]]:
                outcome = (False, "not retried")
                for attempt, delay in enumerate(RETRY_AFTER, start=1):
                    time.sleep(delay)
                    outcome = book(customer)
                    if outcome[0]:
                        return attempt, outcome
                return len(RETRY_AFTER), outcome

            killed = [c for c in customers if c.name in killer.killed]
            with ThreadPoolExecutor(max_workers=max(len(killed), 1)) as pool:
                retried = dict(zip([c.name for c in killed], pool.map(retry, killed), strict=True))
            retries = sum(attempts for attempts, _ in retried.values())
            outcomes = [
                retried[c.name][1] if c.name in retried else outcome
                for c, outcome in zip(customers, outcomes, strict=True)
            ]
            wall = time.monotonic() - started
            cpu = children_cpu() - before
            expected = sum(len(c.clearing_ids) for c in customers)
            posted = duplicates = 0
            for customer in customers:
                entries = customer.entries()
                posted += len(set(entries) & customer.clearing_ids)
                duplicates += sum(n - 1 for n in entries.values() if n > 1)
            return Round(
                name=name,
                customers=count,
                wall=wall,
                cpu=cpu,
                peak_slot=memory.peak,
                failed=sum(1 for ok, _ in outcomes if not ok),
                expected=expected,
                posted=posted,
                duplicates=duplicates,
                errors=[error for ok, error in outcomes if not ok and error],
                killed=len(killer.killed),
                retries=retries,
            )
        finally:
            sandboxes.stop()
            drop()
            if drop_dagster is not None:
                drop_dagster()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-shared", action="store_true", help="only the per-run views")
    parser.add_argument("--only-shared", action="store_true", help="only the shared layout")
    parser.add_argument(
        "--dagster",
        action="store_true",
        help="also the night through Dagster's daemon (its queue allows 4 runs at once)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3 * 3600,
        help="stop the Dagster night after this many seconds and report what was booked",
    )
    parser.add_argument("--skip-view", action="store_true", help="no round of bare views")
    parser.add_argument(
        "--kill",
        type=int,
        default=0,
        help="SIGKILL this many runs mid-booking and retry them (in the Dagster round if "
        "there is one, else in the views' round)",
    )
    args = parser.parse_args()
    subprocess.run(
        [str(MELTANO), "install"],
        cwd=ROOT,
        env={**environ(), "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"},
        check=True,
        capture_output=True,
    )
    compile_plugins(ROOT)  # as `pay-exact-run-customer --prepare` does after an installation
    print(
        f"{args.customers} customers, {args.concurrency} at a time, on {os.cpu_count()} cores; "
        "Meltano's system database and the target's store in one PostgreSQL database",
        flush=True,
    )
    rounds = []
    if not args.only_shared and not args.skip_view:
        rounds.append(
            run_round(
                f"view, {args.concurrency} at once",
                args.customers,
                args.concurrency,
                "view",
                kill=0 if args.dagster else args.kill,
            )
        )
        rounds[-1].show()
    if args.dagster:
        rounds.append(
            run_round(
                "dagster daemon, 4 at once", args.customers, 4, "dagster", timeout=args.timeout
            )
        )
        rounds[-1].show()
        if args.kill:
            # Then run workers killed mid-booking, on a small night of their own: retries of a
            # night queue behind every run not yet started.
            count = max(2 * args.kill, 8)
            rounds.append(run_round("dagster, SIGKILL", count, 4, "dagster", kill=args.kill))
            rounds[-1].show()
    if not args.skip_shared:
        rounds.append(run_round("shared, one at a time", args.customers, 1, "shared"))
        rounds[-1].show()
        rounds.append(
            run_round(
                f"shared, {args.concurrency} at once", args.customers, args.concurrency, "shared"
            )
        )
        rounds[-1].show()
    by_name = {r.name.split(",")[0]: r for r in rounds}
    # Only against a view round without kills: retries are runs too.
    if "view" in by_name and "dagster daemon" in by_name and not by_name["view"].killed:
        view, dagster = by_name["view"], by_name["dagster daemon"]
        print(
            f"Dagster's own CPU per customer (daemon and run worker minus the view's run): "
            f"{(dagster.cpu - view.cpu) / view.customers:.2f} s",
            flush=True,
        )
    if "view" in by_name and not args.skip_shared:
        view, alone = by_name["view"], rounds[-2]
        print(
            f"CPU per customer, view against shared project: "
            f"{view.cpu / view.customers:.2f} / {alone.cpu / alone.customers:.2f} s = "
            f"{view.cpu / max(alone.cpu, 1e-9):.2f}",
            flush=True,
        )
    return 0 if all(r.duplicates == 0 for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
