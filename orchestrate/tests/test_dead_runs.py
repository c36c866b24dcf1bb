"""A killed run's Meltano job is cleared only when its processes are provably gone."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from pay_exact_orchestrate.dead_runs import RUNS, clear_dead_runs, write_claim


@pytest.fixture
def meltano_db(tmp_path: Path) -> str:
    """A system database with Meltano's runs table (the columns this module touches)."""
    url = f"sqlite:///{tmp_path / 'meltano.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE runs (id INTEGER PRIMARY KEY, job_name VARCHAR, run_id CHAR(32), "
                "state VARCHAR, ended_at DATETIME, payload VARCHAR)"
            )
        )
    engine.dispose()
    return url


def add_run(url: str, run_id: str, payload: dict) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            RUNS.insert().values(
                run_id=uuid.UUID(run_id), state="RUNNING", payload=json.dumps(payload)
            )
        )
    engine.dispose()


def run_row(url: str, run_id: str) -> tuple[str, dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        state, payload = conn.execute(
            sa.select(RUNS.c.state, RUNS.c.payload).where(RUNS.c.run_id == uuid.UUID(run_id))
        ).one()
    engine.dispose()
    return state, json.loads(payload)


def dead_group() -> int:
    """The process group of a process that has ended (it led its own group)."""
    process = subprocess.Popen(["true"], start_new_session=True)
    process.wait()
    return process.pid


def test_a_run_whose_processes_are_gone_is_marked_failed_keeping_its_payload(
    tmp_path: Path, meltano_db: str
) -> None:
    run_id = str(uuid.uuid4())
    add_run(meltano_db, run_id, {"singer_state": {"bookmarks": {}}})
    claim = write_claim(tmp_path, run_id, dead_group())
    assert clear_dead_runs(tmp_path, meltano_db) == [run_id]
    state, payload = run_row(meltano_db, run_id)
    assert state == "FAIL"
    assert payload["singer_state"] == {"bookmarks": {}}
    assert "processes are gone" in payload["error"]
    assert not claim.exists()


def test_a_run_with_a_process_left_stays_running(tmp_path: Path, meltano_db: str) -> None:
    run_id = str(uuid.uuid4())
    add_run(meltano_db, run_id, {})
    claim = write_claim(tmp_path, run_id, os.getpgid(0))  # this test's own group: alive
    assert clear_dead_runs(tmp_path, meltano_db) == []
    assert run_row(meltano_db, run_id)[0] == "RUNNING"
    assert claim.exists()


def test_a_claim_of_another_machine_is_left_to_meltano(tmp_path: Path, meltano_db: str) -> None:
    run_id = str(uuid.uuid4())
    add_run(meltano_db, run_id, {})
    claim = write_claim(tmp_path, run_id, dead_group())
    claim.write_text(json.dumps({**json.loads(claim.read_text()), "host": "elsewhere"}))
    assert clear_dead_runs(tmp_path, meltano_db) == []
    assert run_row(meltano_db, run_id)[0] == "RUNNING"
