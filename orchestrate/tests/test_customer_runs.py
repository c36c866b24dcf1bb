"""Customer runs for real: ``meltano run`` in private views of one installed project, against
the sandboxes, with Meltano's system database and the target's store shared in PostgreSQL.

On the plain shared layout (every run in the project folder itself) the same four runs at once
fail, because Meltano writes each plugin's catalog, config and state under fixed names in the
one ``.meltano/run/`` folder; ``bench/orchestrate_night.py --shared-layout`` measures that (a
benchmark, since a race is not a reliable test).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from pay_exact_orchestrate.customer_run import (
    STATE_ID,
    prepare_system_database,
    run_customer,
    run_environment,
)
from pay_exact_orchestrate.customers import read_customers
from pay_exact_orchestrate.sandbox_customers import SandboxCustomer
from pay_exact_orchestrate.secrets import OwnerOnlyFileSecrets
from pay_exact_orchestrate.settings import OrchestrateSettings
from pay_exact_orchestrate.view import committed_catalog, private_view

from .conftest import MELTANO, clean_environ

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def bookmarks(database: str) -> dict[str, dict]:
    """Meltano's stored state per state id, from the shared system database."""
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT state_id, completed_state FROM state")).all()
    finally:
        engine.dispose()
    return {
        state_id: (json.loads(state) if isinstance(state, str) else state)
        for state_id, state in rows
    }


def ledger_rows(store_url: str) -> dict[tuple[str, int], set[str]]:
    """The booked clearing ids per Exact country and division, read with SQL."""
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT country, division, clearing_id FROM pay_exact_bookings")
            ).all()
    finally:
        engine.dispose()
    found: dict[tuple[str, int], set[str]] = {}
    for country, division, clearing_id in rows:
        found.setdefault((country, int(division)), set()).add(clearing_id)
    return found


def token_rows(store_url: str) -> dict[tuple[str, str], tuple[str, str]]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT country, token_key, access_token, refresh_token FROM exact_oauth_tokens"
                )
            ).all()
    finally:
        engine.dispose()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def settlement_bookmark(state: dict) -> str:
    return state["singer_state"]["bookmarks"]["settlements"]["replication_key_value"]


def last_settlement(customer: SandboxCustomer) -> str:
    return max(str(s["settlementDate"])[:10] for s in customer.pay.merchant.pay["settlements"])


def test_four_customers_at_once_from_one_project_each_book_with_their_own_bookmark(
    orchestration: OrchestrateSettings,
    sandbox_customers: Callable[..., list[SandboxCustomer]],
) -> None:
    customers = sandbox_customers(4)
    prepare_system_database(orchestration, base_environ=clean_environ())

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda c: run_customer(
                    c.name, settings=orchestration, base_environ=clean_environ()
                ),
                customers,
            )
        )

    for customer, result in zip(customers, results, strict=True):
        # On failure, say all a run said: its exit code, its report's summary, Meltano's last lines.
        assert result.outcome == "booked", (
            customer.name,
            result.exit_code,
            result.summary.text if result.summary else None,
            result.log_tail,
        )
        assert result.summary is not None
        assert result.summary.booked == len(customer.clearing_ids)
        assert result.summary.html.parent == orchestration.reports_dir / customer.name
        assert (result.summary.exact_calls or 0) > 0
        # Every clearing of this customer is in its own Exact administration, once.
        assert customer.entries() == {c: 1 for c in customer.clearing_ids}

    # Each customer's bookmark is its own, in the shared system database.
    states = bookmarks(orchestration.meltano_database_uri)
    for customer in customers:
        state = states[STATE_ID.format(customer=customer.name)]
        assert settlement_bookmark(state) == last_settlement(customer)
    # The merchants' histories end on different days, so a shared bookmark would show.
    assert len({settlement_bookmark(state) for state in states.values()}) == len(customers)

    # Nothing stays behind in the project folder: the runs wrote in their own views.
    assert not (orchestration.project_dir / ".meltano" / "run" / "tap-pay").exists()

    # Customers 1 and 2 share a division number in Exact nl and be: in the one shared store each
    # pair of country and division holds exactly its own customer's clearings.
    assert customers[0].administration()[1] == customers[1].administration()[1]
    ledger = ledger_rows(orchestration.store_url)
    for customer in customers:
        assert ledger[customer.administration()] == set(customer.clearing_ids)
    # Their tokens are stored apart and encrypted: no access or refresh token in plain text.
    tokens = token_rows(orchestration.store_url)
    assert {(c.country, c.name) for c in customers} <= set(tokens)
    for values in tokens.values():
        assert all(value.startswith("fernet:") for value in values)

    # A second night books nothing twice.
    again = run_customer(customers[0].name, settings=orchestration, base_environ=clean_environ())
    assert again.outcome == "booked"
    assert again.summary is not None
    assert again.summary.booked == 0
    assert customers[0].entries() == {c: 1 for c in customers[0].clearing_ids}


def test_a_view_shows_meltano_one_environment_and_the_installed_plugins(
    orchestration: OrchestrateSettings,
    sandbox_customers: Callable[..., list[SandboxCustomer]],
) -> None:
    sandbox_customers(2)
    (customer, _other) = read_customers(orchestration.environments_dir).usable.values()
    secrets = OwnerOnlyFileSecrets(orchestration.secrets_dir or Path()).secrets_for(customer)
    env = run_environment(orchestration, customer, secrets, clean_environ())
    with private_view(orchestration.project_dir, customer) as view:
        listed = subprocess.run(
            [str(MELTANO), "environment", "list"],
            cwd=view,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.split()
        assert listed == [customer.name]
        # The plugins run from the project's installation (nothing installed per view).
        venv = view / ".meltano" / "loaders" / "target-exactonline" / "venv"
        assert (
            venv.resolve()
            == (
                orchestration.project_dir / ".meltano" / "loaders" / "target-exactonline" / "venv"
            ).resolve()
        )

        def printed(*args: str) -> dict:
            out = subprocess.run(
                [
                    str(MELTANO),
                    f"--environment={customer.name}",
                    "config",
                    "print",
                    *args,
                    "--format=json",
                ],
                cwd=view,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            ).stdout
            return json.loads(out)

        target = printed("target-exactonline")
        tap_extras = printed("tap-pay", "--extras")
    # The report folder is the customer's own in the shared folder; the tap reads the
    # committed catalog instead of discovering one.
    assert target["report_dir"] == str(orchestration.reports_dir / customer.name)
    assert target["division"] == int(customer.division)
    assert tap_extras["_catalog"] == str(committed_catalog())


def test_dagster_books_a_customer_and_shows_what_it_booked(
    orchestration: OrchestrateSettings,
    sandbox_customers: Callable[..., list[SandboxCustomer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dagster as dg
    from pay_exact_orchestrate import definitions as d

    (customer,) = sandbox_customers(1)
    prepare_system_database(orchestration, base_environ=clean_environ())
    for name, value in {
        "MELTANO_DATABASE_URI": orchestration.meltano_database_uri,
        "PAY_EXACT_STORE_URL": orchestration.store_url,
        "PAY_EXACT_REPORTS_DIR": str(orchestration.reports_dir),
        "PAY_EXACT_SECRETS_DIR": str(orchestration.secrets_dir),
        "PAY_EXACT_PROJECT_DIR": str(orchestration.project_dir),
        "PAY_EXACT_ENVIRONMENTS_DIR": str(orchestration.environments_dir),
    }.items():
        monkeypatch.setenv(name, value)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(d.CUSTOMERS, [customer.name])
        result = dg.materialize(
            [d.customer_booking], partition_key=customer.name, instance=instance
        )
        assert result.success
        (materialization,) = result.asset_materializations_for_node("customer_booking")
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        assert materialization.partition == customer.name
        assert metadata["outcome"] == "booked"
        assert metadata["clearings booked"] == len(customer.clearing_ids)
        assert metadata["blocked"] == 0
        assert metadata["failed"] == 0
        assert metadata["Exact calls"] > 0
        assert Path(metadata["report"]).exists()
        (check,) = result.get_asset_check_evaluations()
        assert check.passed
        booked = d.customers_booked_recently(dg.build_asset_check_context(instance=instance))
        assert booked.passed
    assert customer.entries() == {c: 1 for c in customer.clearing_ids}
