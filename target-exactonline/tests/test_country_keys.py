"""Two customers with one division number in two Exact countries, in one store: their ledger
rows, relations, run history, probe results and run locks stay apart; a store written before the
country was part of the key is upgraded on first open and its rows keep working."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from target_exactonline.exact_client.testing import fresh_postgres_database
from target_exactonline.exact_client.token_store import SqlTokenStore, TokenSet
from target_exactonline.ledger import BookingLedger, Status, make_store_engine
from target_exactonline.probe_store import ProbeStore
from target_exactonline.probes import Outcome, ProbeResult
from target_exactonline.run_history import RunHistory
from target_exactonline.run_lock import RunLocked, run_lock

DIVISION = 4242
LOG = logging.getLogger("test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    with fresh_postgres_database("pay_exact_countries") as url:
        yield url


def test_ledger_rows_and_relations_of_nl_and_be_stay_apart(store_url: str) -> None:
    with (
        BookingLedger.from_url(store_url, division=DIVISION, store_key="a", country="nl") as nl,
        BookingLedger.from_url(store_url, division=DIVISION, store_key="b", country="be") as be,
    ):
        nl.plan("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
        assert be.get("CLR-1") is None
        assert be.all_rows() == []
        # The same clearing id in both countries is two rows.
        be.plan("CLR-1", booking_key="PX:CLR-1", plan_digest="b", settlement_date=None)
        assert nl.get("CLR-1").plan_digest is None
        assert be.get("CLR-1").plan_digest == "b"
        nl.remember_relation("debtor:x", account_id="nl-account", account_code="1")
        assert be.known_relation("debtor:x") is None
        be.remember_relation("debtor:x", account_id="be-account", account_code="2")
        assert nl.known_relation("debtor:x") == ("nl-account", "1")
        assert [r.store_key for r in nl.all_rows()] == ["a"]


def test_run_history_and_probes_of_nl_and_be_stay_apart(store_url: str) -> None:
    engine = make_store_engine(store_url)
    try:
        nl = RunHistory(engine, store_key="shop", division=DIVISION, country="nl")
        be = RunHistory(engine, store_key="shop", division=DIVISION, country="be")
        nl.record(run_id="r1", succeeded=False, summary="nl failed")
        assert be.streak().count == 0
        assert nl.streak().count == 1

        nl_probes = ProbeStore(engine, division=DIVISION, store_key="shop", country="nl")
        be_probes = ProbeStore(engine, division=DIVISION, store_key="shop", country="be")
        failed = ProbeResult(
            name="entry_number_unique", outcome=Outcome.DID_NOT_HOLD, seen="x", advice=None
        )
        nl_probes.record([failed])
        assert set(nl_probes.latest()) == {"entry_number_unique"}
        assert be_probes.latest() == {}
    finally:
        engine.dispose()


def test_run_locks_are_per_country(store_url: str, tmp_path: Path) -> None:
    with run_lock(store_url, division=DIVISION, country="nl", logger=LOG, wait_seconds=0):
        # be's run of the same division number goes ahead at once ...
        with run_lock(store_url, division=DIVISION, country="be", logger=LOG, wait_seconds=0):
            pass
        # ... while a second nl run of it is refused.
        with (
            pytest.raises(RunLocked, match=f"division {DIVISION}"),
            run_lock(store_url, division=DIVISION, country="nl", logger=LOG, wait_seconds=0),
        ):
            pass


# -- a store from before the country key ------------------------------------------------------

OLD_BOOKINGS = """
CREATE TABLE pay_exact_bookings (
    division INTEGER NOT NULL, clearing_id VARCHAR(100) NOT NULL, store_key VARCHAR(200) NOT NULL,
    booking_key VARCHAR(100) NOT NULL, status VARCHAR(20) NOT NULL, reason TEXT,
    plan_digest VARCHAR(64), settlement_date DATE, entry_id VARCHAR(64), entry_number INTEGER,
    attempts INTEGER NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMP WITH TIME ZONE
    NOT NULL, updated_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (division, clearing_id)
)"""


def test_an_older_store_gains_the_country_and_keeps_its_rows(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_BOOKINGS))
        conn.execute(
            sa.text(
                "INSERT INTO pay_exact_bookings VALUES (:d, 'CLR-OLD', 'shop', 'PX:CLR-OLD', "
                "'posted', NULL, NULL, NULL, 'E-1', 7, 1, 2, :t, :t)"
            ),
            {"d": DIVISION, "t": now},
        )
    engine.dispose()

    # The first run to open it is a be customer's: the rows written before are be's.
    with BookingLedger.from_url(store_url, division=DIVISION, store_key="shop", country="be") as be:
        old = be.get("CLR-OLD")
        assert old is not None
        assert old.status is Status.POSTED
        assert old.entry_id == "E-1"
    with BookingLedger.from_url(store_url, division=DIVISION, store_key="x", country="nl") as nl:
        assert nl.get("CLR-OLD") is None
        if store_url.startswith("postgresql"):
            # The primary key now includes the country: nl may book the same clearing id.
            nl.plan("CLR-OLD", booking_key="PX:CLR-OLD", plan_digest=None, settlement_date=None)
            assert nl.get("CLR-OLD").status is Status.PLANNED
    # Opening it again changes nothing more.
    with BookingLedger.from_url(store_url, division=DIVISION, store_key="shop", country="be") as be:
        assert be.get("CLR-OLD").status is Status.POSTED


def test_an_older_token_table_gains_the_country_and_its_row_still_opens(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE exact_oauth_tokens (token_key VARCHAR(200) PRIMARY KEY, "
                "access_token TEXT NOT NULL, refresh_token TEXT NOT NULL, "
                "expires_at DOUBLE PRECISION NOT NULL, issued_at DOUBLE PRECISION NOT NULL, "
                "generation INTEGER NOT NULL)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO exact_oauth_tokens "
                "VALUES ('shop', 'old-access', 'old-refresh', 2, 1, 3)"
            )
        )
    engine.dispose()
    nl = SqlTokenStore(store_url, country="nl")
    before = nl.load("shop")
    assert before is not None
    assert (before.refresh_token, before.generation) == ("old-refresh", 3)
    be = SqlTokenStore(store_url, country="be")
    assert be.load("shop") is None
    if store_url.startswith("postgresql"):
        be.put("shop", TokenSet("be-access", "be-refresh", 2.0, 1.0))
        assert be.load("shop").refresh_token == "be-refresh"
        assert nl.load("shop").refresh_token == "old-refresh"
    nl.close()
    be.close()
