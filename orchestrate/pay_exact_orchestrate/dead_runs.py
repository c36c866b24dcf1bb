"""A killed run's Meltano job, cleared once its processes are provably gone.

Meltano refuses to start a job while the system database shows a run of it as running, and it
calls a run dead only 5 minutes after its last heartbeat (``HEARTBEAT_VALID_MINUTES`` in
``meltano/core/job/job.py``): after a run worker was killed with its ``meltano``, the retry
Dagster starts would be refused, and its back-off stretched, for those minutes.

Each run of a customer leaves a claim while it runs: the run id it gave Meltano (``--run-id``),
this machine (host name and boot id) and the process group of its ``meltano`` (started as a
group leader, so the tap and the target are in that group too). A claim still there when the
next run of that customer starts belongs to a run that ended without cleaning up. Its Meltano
job is marked failed, as Meltano's own stale check would mark it, only when the claim was made
on this machine since its last boot and no process of the group is left. Anything less certain
(another machine, a process of the group still alive) is left to Meltano's check: the run
refuses and Dagster retries it with back-off.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

CLAIMS = ".runs"  # in the customer's report folder
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
# Meltano's table of runs (``meltano/core/job/job.py``, ``Job``); the states are its names.
RUNS = sa.table(
    "runs",
    # Meltano's GUID: PostgreSQL's uuid, elsewhere 32 hex characters, as sa.Uuid stores it.
    sa.column("run_id", sa.Uuid),
    sa.column("state", sa.String),
    sa.column("ended_at", sa.DateTime(timezone=True)),
    sa.column("payload", sa.String),
)
REASON = (
    "The run's processes are gone (killed with their run worker); marked failed by the next run "
    "of this customer on the same machine."
)


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:  # not Linux: no claim can be proven dead here
        return ""


@dataclass(frozen=True, slots=True)
class Claim:
    run_id: str
    host: str
    boot: str
    group: int

    def here(self) -> bool:
        return bool(self.boot) and self.host == socket.gethostname() and self.boot == boot_id()


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user holds the number: not provably gone
        return True
    return True


def new_run_id() -> str:
    return str(uuid.uuid4())


def claims_dir(report_dir: Path) -> Path:
    return report_dir / CLAIMS


def write_claim(report_dir: Path, run_id: str, group: int) -> Path:
    folder = claims_dir(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.json"
    claim = Claim(run_id=run_id, host=socket.gethostname(), boot=boot_id(), group=group)
    path.write_text(json.dumps(asdict(claim)))
    return path


def dead_claims(report_dir: Path) -> list[tuple[Path, Claim]]:
    """Claims left by runs of this machine whose processes are all gone."""
    found = []
    folder = claims_dir(report_dir)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            claim = Claim(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if claim.here() and not group_alive(claim.group):
            found.append((path, claim))
    return found


def clear_dead_runs(report_dir: Path, meltano_database_uri: str) -> list[str]:
    """Mark the Meltano jobs of this customer's provably dead runs failed; their run ids."""
    dead = dead_claims(report_dir)
    if not dead:
        return []
    engine = sa.create_engine(meltano_database_uri, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for _, claim in dead:
                running = (RUNS.c.run_id == uuid.UUID(claim.run_id)) & (RUNS.c.state == "RUNNING")
                for (text,) in conn.execute(sa.select(RUNS.c.payload).where(running)):
                    # Meltano's own ``Job.fail`` keeps the payload (an incomplete state) too.
                    payload = {**json.loads(text or "{}"), "error": REASON}
                    conn.execute(
                        RUNS.update()
                        .where(running)
                        .values(
                            state="FAIL", ended_at=datetime.now(UTC), payload=json.dumps(payload)
                        )
                    )
    finally:
        engine.dispose()
    for path, _ in dead:
        path.unlink(missing_ok=True)
    return [claim.run_id for _, claim in dead]
