"""A night of customers through Dagster as an operator runs it, measured from outside.

Used by ``bench/orchestrate_night.py`` and the night test; the product's runs never import it.

- the instance: the product's ``dagster.yaml`` (queued runs, at most 4 at once, one per customer,
  run retries, run monitoring, no compute-log copies) with its storage in PostgreSQL;
- ``dagster-daemon run`` with a workspace holding ``pay_exact_orchestrate.definitions``: its
  code server starts every run worker, which books one customer;
- the customers as dynamic partitions, all booked by the nightly schedule's run requests (one
  run per customer, with the night and the customer as run key), here from a schedule that
  ticks every minute so the night starts within a minute, and asks for the night only once
  (``night_now_requests``). Not by ``dagster job backfill``: that
  command marks its backfill completed as soon as it has queued the runs, and Dagster's run
  retries skip every run of a completed backfill, so a run whose worker was killed stays failed
  (``should_retry`` in ``dagster/_daemon/auto_run_reexecution``);
- this process becomes the reaper of every process the daemon leaves behind (a killed run
  worker's Meltano, tap and target), so that ``getrusage`` of its children counts the CPU of all
  of them: the daemon, its code server, the run workers, Meltano and the plugins;
- every 0.2 s the process tree is read from ``/proc``: the peak resident memory of each run slot
  (a run worker and its descendants) and of the daemon with its code server;
- optionally, run workers are SIGKILLed with their Meltano, tap and target once the sandbox has
  seen that customer's first bank-entry POST (the caller says when).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from pay_exact_orchestrate.settings import REPOSITORY, OrchestrateSettings

if TYPE_CHECKING:
    from dagster import DagsterInstance, RunRequest, ScheduleEvaluationContext, SkipReason

JOB = "book_customers"
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PR_SET_CHILD_SUBREAPER = 36
DONE = ("SUCCESS", "FAILURE", "CANCELED")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- the process tree ----------------------------------------------------------------------------


@dataclass
class Proc:
    pid: int
    parent: int
    group: int
    state: str
    rss: int
    command: str


def processes() -> dict[int, Proc]:
    found = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as stat:
                # The command may hold spaces and brackets: fields follow the last ')'.
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        found[int(name)] = Proc(
            pid=int(name),
            parent=int(fields[1]),
            group=int(fields[2]),
            state=fields[0],
            rss=int(fields[21]) * PAGE_BYTES,
            command=command,
        )
    return found


def descendants(tree: Mapping[int, Proc], top: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for proc in tree.values():
        children[proc.parent].append(proc.pid)
    found, queue = [], [top]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found


def meltano_of(tree: Mapping[int, Proc], customer: str) -> Proc | None:
    """The ``meltano`` process booking ``customer`` (the environment is on its command line)."""
    for proc in tree.values():
        if f"--environment={customer} " in proc.command + " " and "meltano" in proc.command:
            return proc
    return None


class Watcher:
    """Reaps what the daemon leaves behind, samples memory, kills the chosen run workers."""

    def __init__(
        self, daemon: int, victims: Mapping[str, Callable[[], bool]] | None = None
    ) -> None:
        self.me = os.getpid()
        self.daemon = daemon
        self.victims = dict(victims or {})  # customer -> has the sandbox seen its first POST?
        self.killed: list[str] = []
        self.peak_slot = 0
        self.peak_daemon = 0
        self.peak_self = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            tree = processes()
            self._reap(tree)
            self._measure(tree)
            self._kill(tree)

    def _reap(self, tree: Mapping[int, Proc]) -> None:
        # Orphans reparented to this process; the daemon itself is waited for by its Popen.
        for proc in tree.values():
            if proc.parent == self.me and proc.state == "Z" and proc.pid != self.daemon:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(proc.pid, os.WNOHANG)

    def _measure(self, tree: Mapping[int, Proc]) -> None:
        mine = tree.get(self.me)
        if mine is not None:
            self.peak_self = max(self.peak_self, mine.rss)
        servers = [p.pid for p in tree.values() if p.parent == self.daemon]
        daemon = tree[self.daemon].rss if self.daemon in tree else 0
        for server in servers:
            daemon += tree[server].rss
            for worker in (p.pid for p in tree.values() if p.parent == server):
                slot = sum(tree[pid].rss for pid in descendants(tree, worker) if pid in tree)
                if "multiprocessing" in tree[worker].command and slot < 40 * 2**20:
                    daemon += slot  # multiprocessing's own helper, not a run
                else:
                    self.peak_slot = max(self.peak_slot, slot)
        self.peak_daemon = max(self.peak_daemon, daemon)

    def _kill(self, tree: Mapping[int, Proc]) -> None:
        for customer, posted in list(self.victims.items()):
            if not posted():
                continue
            meltano = meltano_of(tree, customer)
            if meltano is None:
                continue
            # The run worker, then Meltano's group (Meltano, the tap and the target).
            with contextlib.suppress(ProcessLookupError):
                os.kill(meltano.parent, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(meltano.group, signal.SIGKILL)
            self.killed.append(customer)
            del self.victims[customer]


def reap_leftovers(grace: float = 30.0) -> int:
    """Wait for what the daemon left behind (runs still in flight when a night was cut short),
    then kill what is left; reaps all of it so its CPU is counted. Returns how many were killed."""
    me = os.getpid()
    deadline = time.monotonic() + grace
    killed = 0
    while True:
        tree = processes()
        left = [pid for pid in descendants(tree, me) if pid != me and tree[pid].state != "Z"]
        for proc in tree.values():
            if proc.parent == me and proc.state == "Z":
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(proc.pid, 0)
        if not left:
            return killed
        if time.monotonic() > deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed += len(left)
            deadline = time.monotonic() + grace
        time.sleep(0.2)


# -- the instance and the daemon -----------------------------------------------------------------


def instance_config(poll_seconds: int | None = None) -> dict:
    """The product's ``dagster.yaml``; ``poll_seconds`` shortens run monitoring's poll for tests."""
    config = yaml.safe_load((REPOSITORY / "orchestrate" / "dagster.yaml").read_text())
    if poll_seconds is not None:
        config["run_monitoring"]["poll_interval_seconds"] = poll_seconds
    return config


NIGHT_NOW_SCHEDULE = "night_now"


def night_now_requests(context: ScheduleEvaluationContext) -> list[RunRequest] | SkipReason:
    """The nightly schedule's run requests, asked for by the first tick only.

    Dagster matches a run key together with the tick's scheduled time, so it keeps one tick
    evaluated twice from requesting a run twice, not the next tick: a schedule that ticks every
    minute and yields the night each time queues every customer again every minute (a night of
    1,000 customers had queued 4,767 runs when it was cut short).
    """
    from dagster import RunsFilter, SkipReason  # noqa: PLC0415

    from pay_exact_orchestrate import definitions as d  # noqa: PLC0415

    instance = context.instance
    if instance.get_runs_count(RunsFilter(tags={"dagster/schedule_name": NIGHT_NOW_SCHEDULE})):
        return SkipReason("the night is already requested")
    night = context.scheduled_execution_time
    return list(d.nightly_requests(night, instance.get_dynamic_partitions(d.CUSTOMERS)))


# The product's definitions and a schedule like the nightly one that ticks every minute.
NIGHT_NOW = f"""
import dagster as dg
from pay_exact_orchestrate import definitions as d
from pay_exact_orchestrate.dagster_night import night_now_requests


@dg.schedule(
    name="{NIGHT_NOW_SCHEDULE}",
    cron_schedule="* * * * *",
    job=d.booking_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def night_now(context):
    return night_now_requests(context)


defs = dg.Definitions.merge(d.defs, dg.Definitions(schedules=[night_now]))
"""


def prepare_home(folder: Path, poll_seconds: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(yaml.safe_dump(instance_config(poll_seconds)))
    (folder / "night_now.py").write_text(NIGHT_NOW)
    (folder / "workspace.yaml").write_text(
        yaml.safe_dump({"load_from": [{"python_file": {"relative_path": "night_now.py"}}]})
    )
    return folder


def night_environ(
    base: Mapping[str, str], settings: OrchestrateSettings, home: Path, dagster_url: str
) -> dict[str, str]:
    return {
        **base,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": dagster_url,
        "MELTANO_DATABASE_URI": settings.meltano_database_uri,
        "PAY_EXACT_STORE_URL": settings.store_url,
        "PAY_EXACT_REPORTS_DIR": str(settings.reports_dir),
        "PAY_EXACT_SECRETS_DIR": str(settings.secrets_dir),
        "PAY_EXACT_PROJECT_DIR": str(settings.project_dir),
        "PAY_EXACT_ENVIRONMENTS_DIR": str(settings.environments_dir),
    }


@dataclass
class NightOutcome:
    customers: int
    wall: float
    cpu: float
    peak_slot: int
    peak_daemon: int
    peak_self: int
    succeeded: set[str]
    runs: dict[str, int]  # run status -> count
    killed: list[str]
    retried: set[str]  # customers booked by a run that retried an earlier one
    load: tuple[float, float]  # the 1-minute load average: mean and peak over the night
    errors: list[str] = field(default_factory=list)


def run_statuses(instance: DagsterInstance) -> list[tuple[str, str, str, str | None]]:
    """(run id, status, customer, parent run id) of every booking run."""
    from dagster import RunsFilter  # noqa: PLC0415

    return [
        (run.run_id, run.status.value, run.tags.get("dagster/partition", ""), run.parent_run_id)
        for run in instance.get_runs(filters=RunsFilter(job_name=JOB))
    ]


@contextlib.contextmanager
def open_instance(home: Path, environ: Mapping[str, str]) -> Iterator[DagsterInstance]:
    """The night's instance, read from this process (its storage URL is in ``environ``)."""
    from dagster import DagsterInstance  # noqa: PLC0415

    saved = os.environ.get("DAGSTER_POSTGRES_URL")
    os.environ["DAGSTER_POSTGRES_URL"] = environ["DAGSTER_POSTGRES_URL"]
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_POSTGRES_URL", None)
        else:
            os.environ["DAGSTER_POSTGRES_URL"] = saved


def book_night(
    customers: list[str],
    *,
    home: Path,
    environ: dict[str, str],
    victims: Mapping[str, Callable[[], bool]] | None = None,
    timeout: float = 3 * 3600,
    progress: Callable[[str], None] | None = None,
) -> NightOutcome:
    """Every customer booked through the daemon by the schedule; returns what was measured."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        with open_instance(home, environ) as instance:
            # What the customers sensor does within a minute of the files appearing.
            instance.add_dynamic_partitions("customers", customers)
            return _book(
                customers,
                home=home,
                environ=environ,
                instance=instance,
                victims=victims,
                timeout=timeout,
                progress=progress,
            )
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _book(
    customers: list[str],
    *,
    home: Path,
    environ: dict[str, str],
    instance: DagsterInstance,
    victims: Mapping[str, Callable[[], bool]] | None,
    timeout: float,
    progress: Callable[[str], None] | None,
) -> NightOutcome:
    before = children_cpu()
    started = time.monotonic()
    log = (home / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=home,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    errors: list[str] = []
    try:
        with Watcher(daemon.pid, victims) as watcher:
            loads: list[float] = []
            runs = wait_for_night(
                instance,
                set(customers),
                deadline=started + timeout,
                progress=progress,
                daemon=daemon,
                loads=loads,
            )
            killed = list(watcher.killed)
        wall = time.monotonic() - started
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
    leftovers = reap_leftovers()
    if leftovers:
        errors.append(f"{leftovers} processes still running after the daemon stopped were killed")
    cpu = children_cpu() - before
    succeeded = {c for _, status, c, _ in runs if status == "SUCCESS"}
    retried = {c for _, status, c, parent in runs if status == "SUCCESS" and parent}
    counts: dict[str, int] = defaultdict(int)
    for _, status, _, _ in runs:
        counts[status] += 1
    if daemon.returncode not in (0, -signal.SIGTERM):
        errors.append(f"daemon exit {daemon.returncode}")
    return NightOutcome(
        customers=len(customers),
        wall=wall,
        cpu=cpu,
        peak_slot=watcher.peak_slot,
        peak_daemon=watcher.peak_daemon,
        peak_self=watcher.peak_self,
        succeeded=succeeded,
        runs=dict(counts),
        killed=killed,
        retried=retried,
        load=(sum(loads) / max(len(loads), 1), max(loads, default=0.0)),
        errors=errors,
    )


def wait_for_night(
    instance: DagsterInstance,
    customers: set[str],
    *,
    deadline: float,
    progress: Callable[[str], None] | None,
    daemon: subprocess.Popen[bytes],
    loads: list[float],
) -> list[tuple[str, str, str, str | None]]:
    """Until every customer has a successful run, or nothing is left to run (retries included:
    a failed run whose retry is not launched yet counts as pending for 3 minutes)."""
    idle_since: float | None = None
    shown = -1
    while True:
        runs = run_statuses(instance)
        loads.append(os.getloadavg()[0])
        done = {c for _, status, c, _ in runs if status == "SUCCESS"}
        busy = any(status not in DONE for _, status, _, _ in runs)
        if progress is not None and len(done) // 50 != shown:
            shown = len(done) // 50
            progress(
                f"{len(done)}/{len(customers)} customers booked, {len(runs)} runs, "
                f"load {loads[-1]:.1f}"
            )
        if done >= customers or time.monotonic() > deadline or daemon.poll() is not None:
            return runs
        if busy:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 180:
            return runs
        time.sleep(5)
