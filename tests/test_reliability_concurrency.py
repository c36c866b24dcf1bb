"""Two runs for the same customer at once: the second waits for the first and then books
nothing twice; it spends no refresh token; if the first is killed, the second finishes the job;
if the first takes too long, the second stops with a clear message and no state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from target_exactonline.exact_client import SqlTokenStore, TokenSet
from target_exactonline.exact_client.testing import require_postgres_url
from target_exactonline.run_lock import RunLocked, lock_file_for, run_lock

WAITING = "is booking"  # the waiting run's log line: "Another run for ... is booking ..."


def started_together(books: Any, **first: Any) -> tuple[Any, Any]:
    """Two target processes on the same input and store, the second as soon as the first runs."""
    a = books.start(**first)
    b = books.start()
    return a, b


@pytest.mark.slow
def test_two_runs_at_once_book_each_clearing_once_and_share_one_refresh(
    books: Any, rows: Callable[..., None]
) -> None:
    # Tokens about to expire: whichever run calls Exact first must refresh them, once.
    now = books.exact.admin.clock.now()
    minted = books.exact.mint_tokens(age=595)
    store = SqlTokenStore(books.store_url)
    store.put("acme", TokenSet(minted["access_token"], minted["refresh_token"], now + 5, now - 595))
    store.close()

    # The first POST takes 4 s, so the runs overlap however slowly the second one starts.
    books.exact.inject(
        path=r"/financialtransaction/BankEntries$", method="POST", action="delay", delay=4.0
    )
    a, b = started_together(books)
    out_a, err_a = a.communicate(timeout=120)
    out_b, err_b = b.communicate(timeout=120)
    assert (a.returncode, b.returncode) == (0, 0), (err_a[-2000:], err_b[-2000:])
    tally = books.tally()
    assert tally.exactly_once, tally
    logs = err_a + err_b
    assert "Old refresh token used" not in logs
    token_calls = [e.status for e in books.exact.requests("/api/oauth2/token")]
    assert token_calls == [200]  # one refresh for both runs
    # each run printed its one state line, and both are the full state
    assert len(out_a.splitlines()) == len(out_b.splitlines()) == 1
    # the one that waited found everything booked
    waited = [err for err in (err_a, err_b) if WAITING in err]
    assert len(waited) == 1
    assert f"{tally.expected} already booked" in waited[0]
    posts = [e for e in books.exact.requests() if e.method == "POST" and "BankEntries" in e.path]
    assert len(posts) == tally.expected
    # the refreshed tokens still work for a third run
    books.exact.advance(600)
    third = books.run_process()
    assert third.returncode == 0, third.stderr[-2000:]
    rows(
        "N1",
        "concurrency",
        fault="two target processes for one customer started at once",
        where="the whole run",
        tally=tally,
        outcome="the second waited for the first, then found all 6 booked; one token refresh",
    )


@pytest.mark.slow
def test_a_run_killed_while_another_waits_leaves_the_waiting_run_to_finish(
    books: Any, rows: Callable[..., None], poll: Callable[..., bool]
) -> None:
    # The first run's POSTs are slow (6 s each), so the second is waiting when it dies, even
    # on a loaded machine where starting the second process takes seconds.
    books.exact.inject(
        path=r"/financialtransaction/BankEntries$",
        method="POST",
        action="delay",
        delay=6,
        count=2,
    )
    a = books.start(kill_at="after_ledger:2")
    # Start the second once the first holds the lock (it writes who it is into the lock file).
    lock = lock_file_for(books.store_url, books.exact.division)
    assert lock is not None
    assert poll(lambda: lock.exists() and lock.read_text().startswith("process"))
    b = books.start()
    a.communicate(timeout=120)
    out_b, err_b = b.communicate(timeout=120)
    assert a.returncode == -9
    assert b.returncode == 0, err_b[-2000:]
    assert WAITING in err_b
    tally = books.tally()
    assert tally.exactly_once, tally
    assert len(out_b.splitlines()) == 1
    rows(
        "N2",
        "concurrency",
        fault="first run SIGKILLed while a second run waits for it",
        where="after the 2nd clearing of the first run",
        tally=tally,
        outcome="the lock went with the killed process; the waiting run booked the rest",
    )


def test_a_run_that_waits_too_long_stops_cleanly_with_no_state(
    books: Any, rows: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    import target_exactonline.target as target_module

    def short_wait(*args: Any, **kwargs: Any) -> Any:
        return run_lock(*args, **{**kwargs, "wait_seconds": 0.3})

    monkeypatch.setattr(target_module, "run_lock", short_wait)
    holder = logging.getLogger("test.holder")
    with run_lock(books.store_url, division=books.exact.division, logger=holder):
        blocked = books.run()
    assert isinstance(blocked.error, RunLocked)
    text = str(blocked.error)
    assert f"another run for Exact division {books.exact.division} is still booking" in text
    assert "Nothing is lost" in text
    assert blocked.states == []  # Meltano keeps the previous state
    assert books.exact.requests("/api/") == []  # not one Exact call, not one token used
    runs = [blocked, books.run()]
    assert runs[-1].error is None
    tally = books.tally()
    assert tally.exactly_once, tally
    rows(
        "N3",
        "concurrency",
        fault="another run holds the customer's lock longer than this run waits",
        where="start of the booking",
        tally=tally,
        outcome="stopped with a clear message, no Exact call, no state; the next run booked all",
    )


@pytest.mark.postgres
def test_the_lock_on_postgresql_keeps_a_second_holder_out_until_released() -> None:
    url = require_postgres_url()
    log = logging.getLogger("test.pg")
    division = 987_654_321
    inside = threading.Event()
    release = threading.Event()

    def first() -> None:
        with run_lock(url, division=division, logger=log):
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(10)
        with (
            pytest.raises(RunLocked, match=f"division {division}"),
            run_lock(url, division=division, logger=log, wait_seconds=0.3),
        ):
            pass
        with run_lock(url, division=division + 1, logger=log, wait_seconds=0.3):
            pass  # another division is not held up
    finally:
        release.set()
        thread.join()
    with run_lock(url, division=division, logger=log, wait_seconds=0.3):
        pass  # released with its connection


def test_other_databases_run_without_a_lock_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.nolock")
    with (
        caplog.at_level(logging.WARNING, logger="test.nolock"),
        run_lock("sqlite://", division=1, logger=log),
    ):
        pass
    assert "not kept apart" in caplog.text
