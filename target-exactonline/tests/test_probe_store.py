"""The self-check's records in the store (SQLite and PostgreSQL): the latest result per division
and probe, the refusal they make, and the linked invoices with their entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from target_exactonline import ledger, probe_store
from target_exactonline.exact_client.testing import fresh_postgres_database
from target_exactonline.ledger import BookingLedger, LinkedInvoice, make_store_engine
from target_exactonline.probe_store import ProbeStore
from target_exactonline.probes import Outcome, ProbeResult

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    with fresh_postgres_database("pay_exact_probes") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_store_engine(url)
    ledger.metadata.create_all(engine)
    probe_store.metadata.create_all(engine)
    yield engine
    with engine.begin() as conn:  # each test starts from empty tables
        for table in (probe_store.probe_results, ledger.links, ledger.bookings):
            conn.execute(table.delete())
    engine.dispose()


def failed(name: str = "settlement_model") -> ProbeResult:
    return ProbeResult(name, Outcome.DID_NOT_HOLD, "invoice 25700002 is Status 20", "look at it")


def test_a_failed_probe_refuses_until_a_check_finds_it_holding(engine: sa.Engine) -> None:
    store = ProbeStore(engine, division=101, store_key="acme")
    assert store.refusal("check") is None
    store.record([failed(), ProbeResult("receivable_sign", Outcome.HELD, "all positive")], at=AT)
    latest = store.latest()
    assert latest["settlement_model"].outcome is Outcome.DID_NOT_HOLD
    assert latest["settlement_model"].checked_at == AT
    assert latest["settlement_model"].advice == "look at it"
    refusal = store.refusal("target-exactonline check --config c.json")
    assert refusal is not None
    assert "settlement_model did not hold when checked 2026-12-04 21:00 UTC" in refusal
    assert "seen: invoice 25700002 is Status 20 (look at it)" in refusal
    assert "run `target-exactonline check --config c.json` again" in refusal
    # Another division's results are its own.
    assert ProbeStore(engine, division=202, store_key="bloom").refusal("check") is None
    # Checking again replaces the result.
    store.record([ProbeResult("settlement_model", Outcome.HELD, "3 of 3 settled")], at=AT)
    assert store.refusal("check") is None
    assert set(store.latest()) == {"settlement_model", "receivable_sign"}


def test_probes_runs_do_not_depend_on_never_refuse(engine: sa.Engine) -> None:
    store = ProbeStore(engine, division=101, store_key="acme")
    store.record([failed("receivable_sign"), failed("partial_open_amount")], at=AT)
    store.record(
        [ProbeResult("partial_last_payment_date", Outcome.COULD_NOT_TELL, "none partly paid")]
    )
    assert store.refusal("check") is None


def test_linked_invoices_carry_the_entry_that_linked_them(engine: sa.Engine) -> None:
    books = BookingLedger(engine, division=101, store_key="acme")
    books.plan("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
    books.start_posting("CLR-1")
    books.mark_posted("CLR-1", entry_id="e-1", entry_number=25000001)
    one = LinkedInvoice("CLR-1", "25700002", "r-1", Decimal("60.50"), "EUR", "c-1")
    books.record_links("CLR-1", [one])
    books.record_links("CLR-1", [one])  # a repeat changes nothing
    (found,) = books.recent_links(10)
    assert found.entry_id == "e-1"
    assert found.amount == Decimal("60.50")
    assert BookingLedger(engine, division=202, store_key="bloom").recent_links(10) == []
