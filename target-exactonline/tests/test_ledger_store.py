"""The booking ledger on SQLite and on PostgreSQL: transitions, guards and persistence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from target_exactonline.exact_client.testing import fresh_postgres_database
from target_exactonline.ledger import BookingLedger, LedgerConflict, Status, make_store_engine


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    with fresh_postgres_database("pay_exact_ledger") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'store.sqlite'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # each test starts from empty tables
        conn.execute(sa.text("DELETE FROM pay_exact_bookings"))
        conn.execute(sa.text("DELETE FROM pay_exact_relations"))
    engine.dispose()


_open: list[BookingLedger] = []


@pytest.fixture(autouse=True)
def _close_ledgers() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def ledger(url: str, division: int = 101) -> BookingLedger:
    opened = BookingLedger(make_store_engine(url), division=division, store_key="acme")
    _open.append(opened)
    return opened


def test_happy_path_is_planned_posting_posted_and_survives_a_new_process(store_url: str) -> None:
    first = ledger(store_url)
    row = first.plan(
        "CLR-1", booking_key="PX:CLR-1", plan_digest="abc", settlement_date=date(2026, 3, 4)
    )
    assert row.status is Status.PLANNED
    assert row.attempts == 0
    row = first.start_posting("CLR-1")
    assert row.status is Status.POSTING
    assert row.outcome_unknown
    assert row.attempts == 1
    first.mark_posted("CLR-1", entry_id="e-1", entry_number=25000007)

    again = ledger(store_url)  # a new run, a new engine: only the database remembers
    row = again.get("CLR-1")
    assert row is not None
    assert row.is_posted
    assert (row.entry_id, row.entry_number, row.settlement_date) == (
        "e-1",
        25000007,
        date(2026, 3, 4),
    )
    assert row.store_key == "acme"
    assert row.booking_key == "PX:CLR-1"


def test_posted_row_is_never_replanned_blocked_or_failed(store_url: str) -> None:
    book = ledger(store_url)
    book.plan("CLR-1", booking_key="PX:CLR-1", plan_digest="a", settlement_date=None)
    book.start_posting("CLR-1")
    book.mark_posted("CLR-1", entry_id="e-1", entry_number=1)

    replanned = book.plan("CLR-1", booking_key="PX:CLR-1", plan_digest="b", settlement_date=None)
    assert replanned.is_posted
    assert replanned.plan_digest == "a"
    blocked = book.mark_blocked("CLR-1", "late data", booking_key="PX:CLR-1", settlement_date=None)
    assert blocked.is_posted
    with pytest.raises(LedgerConflict, match="posted"):
        book.mark_failed("CLR-1", "nope")
    with pytest.raises(LedgerConflict, match="posted"):
        book.start_posting("CLR-1")


def test_failed_and_blocked_clearings_can_be_planned_again(store_url: str) -> None:
    book = ledger(store_url)
    book.plan("CLR-1", booking_key="PX:CLR-1", plan_digest="a", settlement_date=None)
    book.start_posting("CLR-1")
    failed = book.mark_failed("CLR-1", "Exact refused: Ongeldig: Dagboek")
    assert failed.status is Status.FAILED
    assert failed.reason == "Exact refused: Ongeldig: Dagboek"

    blocked = book.mark_blocked(
        "CLR-2", "totals inconsistent", booking_key="PX:CLR-2", settlement_date=date(2026, 3, 5)
    )
    assert blocked.status is Status.BLOCKED
    assert blocked.settlement_date == date(2026, 3, 5)

    for clearing_id in ("CLR-1", "CLR-2"):
        row = book.plan(
            clearing_id, booking_key=f"PX:{clearing_id}", plan_digest="z", settlement_date=None
        )
        assert row.status is Status.PLANNED
        assert row.reason is None
        assert row.plan_digest == "z"
    assert book.start_posting("CLR-1").attempts == 2


def test_a_stale_copy_cannot_overwrite_a_newer_change(store_url: str) -> None:
    book = ledger(store_url)
    book.plan("CLR-1", booking_key="PX:CLR-1", plan_digest="a", settlement_date=None)
    stale = book.get("CLR-1")
    assert stale is not None
    book.start_posting("CLR-1")
    with book.engine.begin() as conn, pytest.raises(LedgerConflict, match="another run"):
        book._cas(conn, stale, status=Status.PLANNED.value)


def test_rows_are_per_division(store_url: str) -> None:
    one, two = ledger(store_url, 1), ledger(store_url, 2)
    one.plan("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
    assert two.get("CLR-1") is None
    assert set(one.rows(["CLR-1", "CLR-9"])) == {"CLR-1"}


def test_rows_reads_many_clearings(store_url: str) -> None:
    book = ledger(store_url)
    ids = [f"CLR-{i:04d}" for i in range(1200)]
    with book.engine.begin() as conn:
        from target_exactonline.ledger import bookings

        now = book._clock()
        conn.execute(
            sa.insert(bookings),
            [
                dict(
                    country="nl", division=101, clearing_id=i, store_key="acme",
                    booking_key=f"PX:{i}",
                    status="planned", attempts=0, version=1, created_at=now, updated_at=now,
                )
                for i in ids
            ],
        )  # fmt: skip
    found = book.rows([*ids, "missing"])
    assert len(found) == 1200
    assert found["CLR-0999"].booking_key == "PX:CLR-0999"


def test_record_posted_elsewhere_creates_or_completes_the_row(store_url: str) -> None:
    book = ledger(store_url)
    row = book.record_posted_elsewhere(
        "CLR-7",
        booking_key="PX:CLR-7",
        settlement_date=date(2026, 1, 2),
        entry_id="e-7",
        entry_number=70,
    )
    assert row.is_posted
    assert row.entry_number == 70
    book.plan("CLR-8", booking_key="PX:CLR-8", plan_digest=None, settlement_date=None)
    book.start_posting("CLR-8")  # crashed here last time; the key was found in Exact
    row = book.record_posted_elsewhere(
        "CLR-8", booking_key="PX:CLR-8", settlement_date=None, entry_id="e-8", entry_number=None
    )
    assert row.is_posted
    assert row.entry_id == "e-8"


def test_long_reasons_are_clipped(store_url: str) -> None:
    book = ledger(store_url)
    book.plan("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
    row = book.mark_failed("CLR-1", "x" * 5000)
    assert row.reason is not None
    assert len(row.reason) == 2000
    assert row.reason.endswith("…")


def test_relations_are_remembered_once(store_url: str) -> None:
    book = ledger(store_url)
    assert book.known_relation("email:jan@example.nl") is None
    book.remember_relation("email:jan@example.nl", account_id="acc-1", account_code="  42")
    book.remember_relation("email:jan@example.nl", account_id="acc-2", account_code=None)
    assert book.known_relation("email:jan@example.nl") == ("acc-1", "  42")
    assert ledger(store_url, division=2).known_relation("email:jan@example.nl") is None


def test_sqlite_folder_is_created(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'x.sqlite'}"
    BookingLedger.from_url(url, division=1, store_key="k").close()
    assert (tmp_path / "deep" / "er" / "x.sqlite").is_file()


def _commits(book: BookingLedger) -> list[int]:
    counted = [0]
    sa.event.listen(book.engine, "commit", lambda _conn: counted.__setitem__(0, counted[0] + 1))
    return counted


def test_one_commit_per_clearing_posting_before_the_post_posted_with_the_next(
    store_url: str,
) -> None:
    book = ledger(store_url)
    other = ledger(store_url)  # what another process (or the next run) sees in the database
    commits = _commits(book)
    for n in (1, 2, 3):
        row = book.start_posting(
            f"CLR-{n}", booking_key=f"PX:CLR-{n}", plan_digest="d", settlement_date=date(2026, 3, n)
        )
        assert (row.status, row.attempts) == (Status.POSTING, 1)
        # 'posting' is durable before the POST: another connection sees it now
        seen = other.get(f"CLR-{n}")
        assert seen is not None
        assert seen.status is Status.POSTING
        book.mark_posted_later(f"CLR-{n}", entry_id=f"e-{n}", entry_number=n)
        if n > 1:  # the previous clearing's 'posted' went with this clearing's 'posting'
            previous = other.get(f"CLR-{n - 1}")
            assert previous is not None
            assert previous.is_posted
    assert commits[0] == 3
    pending = other.get("CLR-3")
    assert pending is not None
    assert pending.status is Status.POSTING  # not yet committed: a crash now leaves 'posting'
    book.flush()
    assert commits[0] == 4
    done = other.get("CLR-3")
    assert done is not None
    assert (done.status, done.entry_id) == (Status.POSTED, "e-3")


def test_reads_and_other_changes_commit_waiting_posted_marks_first(store_url: str) -> None:
    book = ledger(store_url)
    book.start_posting("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
    book.mark_posted_later("CLR-1", entry_id="e-1", entry_number=1)
    row = book.get("CLR-1")  # the ledger's own reads never see a stale row
    assert row is not None
    assert row.is_posted
    book.start_posting("CLR-2", booking_key="PX:CLR-2", plan_digest=None, settlement_date=None)
    book.mark_posted_later("CLR-2", entry_id="e-2", entry_number=2)
    book.close()  # the end of a run commits what waits
    row = ledger(store_url).get("CLR-2")
    assert row is not None
    assert row.is_posted


def test_links_wait_with_the_posted_mark_and_are_written_together(store_url: str) -> None:
    from decimal import Decimal

    from target_exactonline.ledger import LinkedInvoice

    book = ledger(store_url)
    other = ledger(store_url)
    commits = _commits(book)
    links = [
        LinkedInvoice("CLR-1", f"2570000{n}", f"guid-{n}", Decimal("60.50"), "EUR", "cust")
        for n in range(3)
    ]
    book.start_posting("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
    book.mark_posted_later("CLR-1", entry_id="e-1", entry_number=1)
    book.record_links_later("CLR-1", links)
    assert other.recent_links(10) == []  # nothing written yet: the posted mark waits too
    book.start_posting("CLR-2", booking_key="PX:CLR-2", plan_digest=None, settlement_date=None)
    assert commits[0] == 2  # the mark and the links went with CLR-2's 'posting'
    found = sorted(other.recent_links(10), key=lambda i: i.invoice_number)
    assert [(i.invoice_number, i.entry_id) for i in found] == [
        (i.invoice_number, "e-1") for i in links
    ]  # written, with the entry they were posted in
    posted = other.get("CLR-1")
    assert posted is not None
    assert posted.is_posted


def test_each_step_returns_the_row_as_stored(store_url: str) -> None:
    book = ledger(store_url)
    other = ledger(store_url)
    steps = [
        lambda: book.start_posting(
            "CLR-9", booking_key="PX:CLR-9", plan_digest="d1", settlement_date=None
        ),
        lambda: book.mark_failed("CLR-9", "Exact said no"),
        lambda: book.start_posting("CLR-9", booking_key="PX:CLR-9", plan_digest="d2"),
        lambda: book.mark_posted("CLR-9", entry_id="e-9", entry_number=9),
    ]
    for step in steps:
        returned = step()
        assert returned == other.get("CLR-9")
    assert returned.attempts == 2
    assert returned.version == 6  # inserted, posting, failed, planned again, posting, posted
