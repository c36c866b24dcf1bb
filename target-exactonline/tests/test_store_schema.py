"""Several customers' first runs creating the shared PostgreSQL store's tables at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from target_exactonline.exact_client.testing import fresh_postgres_database
from target_exactonline.exact_client.token_store import SqlTokenStore
from target_exactonline.ledger import BookingLedger, make_store_engine
from target_exactonline.probe_store import ProbeStore
from target_exactonline.run_history import RunHistory

RUNS_AT_ONCE = 6


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(3))
def test_first_runs_of_several_customers_create_the_shared_tables_together(attempt: int) -> None:
    with fresh_postgres_database("pay_exact_schema") as url:
        start = threading.Barrier(RUNS_AT_ONCE)

        def first_run(division: int) -> None:
            engine = make_store_engine(url)
            tokens = SqlTokenStore(url)
            try:
                start.wait(timeout=30)
                # The order a run opens its stores in: tokens, ledger, run history, probes.
                tokens.ensure_schema()
                BookingLedger(engine, division=division, store_key=f"nl-{division}")
                RunHistory(engine, store_key=f"nl-{division}", division=division)
                ProbeStore(engine, division=division, store_key=f"nl-{division}")
            finally:
                tokens.close()
                engine.dispose()

        with ThreadPoolExecutor(max_workers=RUNS_AT_ONCE) as pool:
            # .result() re-raises a run's failure, e.g. a duplicate key in pg_type.
            for done in [pool.submit(first_run, 100 + n) for n in range(RUNS_AT_ONCE)]:
                done.result()
