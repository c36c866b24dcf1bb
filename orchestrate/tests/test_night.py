"""A small night through Dagster as an operator runs it: the daemon, the product's
``dagster.yaml``, the schedule's run requests; three run workers SIGKILLed mid-booking with
their Meltano, tap and target. ``bench/orchestrate_night.py --dagster`` runs the same at size."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from pay_exact_orchestrate.bytecode import compile_plugins
from pay_exact_orchestrate.customer_run import prepare_system_database
from pay_exact_orchestrate.dagster_night import book_night, night_environ, prepare_home
from pay_exact_orchestrate.dead_runs import REASON, RUNS
from pay_exact_orchestrate.sandbox_customers import SandboxCustomer
from pay_exact_orchestrate.settings import OrchestrateSettings

from .conftest import clean_environ

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CUSTOMERS = 6
KILLED = 3


def first_post(customer: SandboxCustomer) -> Callable[[], bool]:
    return lambda: any(e.method == "POST" for e in customer.exact.requests("/api/v1/"))


def test_a_night_through_the_daemon_books_everyone_once_also_after_killed_run_workers(
    orchestration: OrchestrateSettings,
    dagster_database: str,
    sandbox_customers: Callable[..., list[SandboxCustomer]],
    tmp_path,
) -> None:
    customers = sandbox_customers(CUSTOMERS)
    prepare_system_database(orchestration, base_environ=clean_environ())
    compile_plugins(orchestration.project_dir)
    home = prepare_home(tmp_path / "dagster")
    dagster_url = sa.engine.make_url(dagster_database).set(drivername="postgresql")
    victims = {c.name: first_post(c) for c in customers[:KILLED]}

    night = book_night(
        [c.name for c in customers],
        home=home,
        environ=night_environ(
            clean_environ(),
            orchestration,
            home,
            dagster_url.render_as_string(hide_password=False),
        ),
        victims=victims,
        timeout=540,
    )

    assert sorted(night.killed) == sorted(victims)
    assert night.succeeded == {c.name for c in customers}
    # Each killed run was retried by Dagster, and the retry cleared the killed run's Meltano
    # job instead of being refused by it.
    assert night.retried == set(victims)
    assert night.runs == {"SUCCESS": CUSTOMERS, "FAILURE": KILLED}
    engine = sa.create_engine(orchestration.meltano_database_uri)
    with engine.connect() as conn:
        cleared = conn.execute(
            sa.select(sa.func.count()).where(RUNS.c.payload.contains(REASON))
        ).scalar_one()
    engine.dispose()
    assert cleared == KILLED
    for customer in customers:
        assert customer.entries() == {c: 1 for c in customer.clearing_ids}, customer.name
    assert night.peak_slot > 0
