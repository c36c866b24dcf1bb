"""Faults on the Exact side, injected through the sandbox's admin API: a POST committed whose
answer is lost, 5xx after a commit, timeouts, storms of 429 and of 5xx, token endpoint
failures and Exact's error budget. After each, the target runs again until it has nothing left
to do: every clearing is booked exactly once.

The target runs in this process with its Exact client on the sandbox's clock, so waiting for a
rate limit or backing off advances that clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from target_exactonline.exact_client import SqlTokenStore, TokenSet
from target_exactonline.exact_client.settings import ExactSettings
from target_exactonline.sandbox_testing import store_target_tokens

POST_ENTRY = r"/financialtransaction/BankEntries$"
RECEIVABLES = r"/bulk/Cashflow/Receivables"
TOKEN = r"/api/oauth2/token$"
EXACT_ERROR = {"error": {"code": "", "message": {"lang": "nl-NL", "value": "Interne fout"}}}
MAX_RUNS = 4


def until_done(books: Any, *, client: Any = None, **changes: Any) -> list[Any]:
    """Run the target until a run ends without error (at most MAX_RUNS runs)."""
    runs = []
    for _ in range(MAX_RUNS):
        run = books.run(client=client, **changes)
        runs.append(run)
        if run.error is None:
            break
    return runs


def booked_in(run: Any) -> int:
    result = run.target.result if run.target is not None else None
    if result is None:
        return 0
    return sum(1 for c in result.report.clearings if c.outcome.value == "booked")


def outcome_text(runs: list[Any]) -> str:
    counts = [booked_in(run) for run in runs]
    if len(runs) == 1:
        return f"1 run booked all {counts[0]}"
    per_run = ", ".join(f"run {n}: {c}" for n, c in enumerate(counts, 1))
    return f"{len(runs)} runs; booked per run: {per_run}"


def check_done(books: Any, runs: list[Any]) -> Any:
    assert runs[-1].error is None, runs[-1].stderr[-3000:]
    tally = books.tally()
    assert tally.exactly_once, tally
    assert set(books.ledger().values()) == {"posted"}
    assert runs[-1].states == [books.kit.tap_state]  # nothing left unbooked: state unclamped
    for run in runs[:-1]:
        # a run that did not book everything holds the bookmarks back (or writes no state)
        assert run.error is not None
        assert run.states != [books.kit.tap_state]
    return tally


def entry_posts(books: Any) -> list[int | None]:
    return [
        e.status for e in books.exact.requests() if e.method == "POST" and "BankEntries" in e.path
    ]


# -- writes whose outcome is lost -----------------------------------------------------------------

LOST_ANSWERS = [
    ("A1", {"action": "commit_then_drop"}, "POST stored, then the connection dropped"),
    (
        "A2",
        {"action": "commit_then_status", "status": 500},
        "POST stored, then HTTP 500 without Exact's error body",
    ),
    (
        "A3",
        {"action": "commit_then_status", "status": 500, "body": EXACT_ERROR},
        "POST stored, then HTTP 500 with Exact's error body (looks like a refusal)",
    ),
    ("A4", {"action": "commit_then_status", "status": 503}, "POST stored, then HTTP 503"),
    ("A5", {"action": "drop"}, "connection dropped, POST not stored"),
    ("A6", {"action": "status", "status": 502}, "HTTP 502 from a gateway, POST not stored"),
]


@pytest.mark.parametrize("case", LOST_ANSWERS, ids=[c[0] for c in LOST_ANSWERS])
def test_a_post_whose_answer_is_lost_is_looked_up_never_sent_blindly(
    books: Any, rows: Callable[..., None], case: tuple[str, dict[str, Any], str]
) -> None:
    ref, rule, fault = case
    # The first and the third bank entry of the run meet the fault.
    books.exact.inject(path=POST_ENTRY, method="POST", count=1, **rule)
    books.exact.inject(path=POST_ENTRY, method="POST", action="delay", delay=0.0, count=1)
    books.exact.inject(path=POST_ENTRY, method="POST", count=1, **rule)
    runs = until_done(books)
    tally = check_done(books, runs)
    rows(
        ref,
        "Exact API",
        fault=fault,
        where="POST of the 1st and the 3rd bank entry",
        tally=tally,
        outcome=outcome_text(runs),
    )


def test_a_timeout_whose_post_is_stored_later_is_not_booked_twice(
    books: Any, rows: Callable[..., None], poll: Callable[..., bool]
) -> None:
    """The client gives up after its timeout while Exact is still storing the entry."""
    config = books.config

    def impatient(_settings: Any) -> Any:
        client = ExactSettings.from_config(config).client(
            clock=books.exact.admin.clock.now, sleep=books.exact.advance
        )
        client.timeout = 0.3  # Exact answers after 1 s: the client times out first
        return client

    books.exact.inject(path=POST_ENTRY, method="POST", action="delay", delay=1.0, count=2)
    runs = [books.run(client=impatient)]
    assert runs[0].error is not None  # two clearings without an answer, not sent again
    assert books.tally().duplicated == 0
    # The next run comes later (nightly): by then Exact has stored both slow POSTs.
    assert poll(lambda: sum(e.fault == "delay" for e in books.exact.requests()) == 2)
    runs += until_done(books, client=impatient)
    tally = check_done(books, runs)
    rows(
        "A7",
        "Exact API",
        fault="client timeout (0.3 s); Exact stores the POST 0.7 s later",
        where="POST of bank entries, twice",
        tally=tally,
        outcome=outcome_text(runs),
    )


# -- storms ---------------------------------------------------------------------------------------

STORMS = [
    ("A8", {"action": "status", "status": 429, "count": 8}, RECEIVABLES, "GET", "8 x HTTP 429"),
    ("A9", {"action": "status", "status": 429, "count": 12}, RECEIVABLES, "GET", "12 x HTTP 429"),
    ("A10", {"action": "status", "status": 503, "count": 3}, RECEIVABLES, "GET", "3 x HTTP 503"),
    ("A11", {"action": "status", "status": 500, "count": 6}, RECEIVABLES, "GET", "6 x HTTP 500"),
    ("A12", {"action": "drop", "count": 6}, RECEIVABLES, "GET", "6 dropped connections"),
    ("A13", {"action": "status", "status": 429, "count": 3}, POST_ENTRY, "POST", "3 x HTTP 429"),
]


@pytest.mark.parametrize("storm", STORMS, ids=[s[0] for s in STORMS])
def test_storms_of_429_and_5xx_end_in_each_clearing_booked_once(
    books: Any, rows: Callable[..., None], storm: tuple[str, dict[str, Any], str, str, str]
) -> None:
    ref, rule, path, method, fault = storm
    books.exact.inject(path=path, method=method, **rule)
    runs = until_done(books)
    tally = check_done(books, runs)
    rows(
        ref,
        "Exact API",
        fault=fault,
        where="reading the open invoices" if path == RECEIVABLES else "POST of bank entries",
        tally=tally,
        outcome=outcome_text(runs),
    )


# -- tokens ---------------------------------------------------------------------------------------


def expiring_tokens(books: Any) -> None:
    """Tokens 595 s old: the first call of a run must refresh them."""
    now = books.exact.admin.clock.now()
    minted = books.exact.mint_tokens(age=595)
    store = SqlTokenStore(books.store_url)
    store.put("acme", TokenSet(minted["access_token"], minted["refresh_token"], now + 5, now - 595))
    store.close()


def test_token_endpoint_failures_are_retried_and_the_refresh_token_survives(
    books: Any, rows: Callable[..., None]
) -> None:
    expiring_tokens(books)
    books.exact.inject(path=TOKEN, method="POST", action="status", status=503, count=2)
    runs = until_done(books)
    tally = check_done(books, runs)
    assert [e.status for e in books.exact.requests("/api/oauth2/token")][-1] == 200
    # the rotated refresh token is the one stored: the next refresh works too
    books.exact.advance(600)
    again = books.run()
    assert again.error is None, again.stderr[-2000:]
    assert [e.status for e in books.exact.requests("/api/oauth2/token")][-1] == 200
    rows(
        "A14",
        "Exact API",
        fault="token endpoint: 2 x HTTP 503 on the refresh",
        where="first call of the run",
        tally=tally,
        outcome=outcome_text(runs) + "; the next refresh worked",
    )


def test_a_refused_refresh_token_stops_the_run_until_authorised_again(
    books: Any, rows: Callable[..., None]
) -> None:
    expiring_tokens(books)
    books.exact.inject(
        path=TOKEN,
        method="POST",
        action="status",
        status=401,
        body={"error": "unauthorized_client", "error_description": "Old refresh token used."},
    )
    refused = books.run()
    assert refused.error is not None
    assert "target-exactonline authorize" in refused.stderr
    assert entry_posts(books) == []
    assert books.tally().found == 0
    store_target_tokens(books.exact, books.store_url)  # the customer consents again
    runs = [refused, *until_done(books)]
    tally = check_done(books, runs)
    rows(
        "A15",
        "Exact API",
        fault="token endpoint: 401 Old refresh token used",
        where="first call of the run",
        tally=tally,
        outcome=f"run 1 booked nothing and asked for `authorize`; after it, run {len(runs)} "
        f"booked all {booked_in(runs[-1])}",
    )


def test_an_expired_refresh_token_stops_the_run_until_authorised_again(
    books: Any, rows: Callable[..., None]
) -> None:
    # No fault injected: a month without a run, and the sandbox refuses the lapsed refresh token
    # as the field does (400 invalid_request "The refresh token expired at ...").
    books.exact.advance(31 * 86400)
    refused = books.run()
    assert refused.error is not None
    assert "target-exactonline authorize" in refused.stderr
    assert "The refresh token expired at" in refused.stderr
    assert [e.status for e in books.exact.requests("/api/oauth2/token")] == [400]
    assert entry_posts(books) == []
    assert books.tally().found == 0
    store_target_tokens(books.exact, books.store_url)  # the customer consents again
    runs = [refused, *until_done(books)]
    tally = check_done(books, runs)
    rows(
        "A18",
        "Exact API",
        fault="refresh token unused for 31 days: 400 invalid_request 'The refresh token "
        "expired at ...'",
        where="first call of the run",
        tally=tally,
        outcome=f"run 1 booked nothing and asked for `authorize`; after it, run {len(runs)} "
        f"booked all {booked_in(runs[-1])}",
    )


# -- the error budget -----------------------------------------------------------------------------


def test_refusals_stop_before_the_error_budget_and_a_rerun_books_the_rest(
    books: Any, rows: Callable[..., None]
) -> None:
    # Exact refuses bank entries for a while (its own text, HTTP 500): the run stops after
    # max_rejections, well inside Exact's 10 errors per endpoint per hour.
    books.exact.inject(
        path=POST_ENTRY, method="POST", action="status", status=500, body=EXACT_ERROR, count=3
    )
    first = books.run(max_rejections=3)
    assert first.error is not None
    assert entry_posts(books) == [500, 500, 500]
    assert books.tally().found == 0
    runs = [first, *until_done(books, max_rejections=3)]
    tally = check_done(books, runs)
    rows(
        "A16",
        "Exact API",
        fault="Exact refuses 3 entries in a row (HTTP 500, its error text)",
        where="POST of bank entries; max_rejections 3",
        tally=tally,
        outcome=f"run 1 stopped after 3 refusals (Exact allows 10 an hour); "
        f"run {len(runs)} booked all {booked_in(runs[-1])}",
    )


def test_exacts_error_budget_blocks_the_endpoint_and_the_next_run_books_the_rest(
    books_factory: Callable[..., Any], rows: Callable[..., None]
) -> None:
    """Exact's own budget (here 2 errors): then the endpoint answers 429 for an hour."""
    books = books_factory(error_budget=2)
    first_day = min(s["settlementDate"] for s in books.kit.merchant.pay["settlements"])
    year, month = int(first_day[:4]), int(first_day[5:7])
    books.exact.close_period(year, month)  # every entry is refused: a real business error
    first = books.run()
    assert first.error is not None
    assert entry_posts(books) == [500, 500, 429]  # two refusals, then the block: it stopped
    assert books.tally().found == 0
    books.exact.close_period(year, month, closed=False)
    books.exact.advance(3601)  # the block lasts one window
    runs = [first, *until_done(books)]
    tally = check_done(books, runs)
    rows(
        "A17",
        "Exact API",
        fault="Exact's error budget used up (a closed period; budget 2 errors an hour)",
        where="POST of bank entries",
        tally=tally,
        outcome=f"run 1 stopped at the block (2 refusals, then 429); an hour later run "
        f"{len(runs)} booked all {booked_in(runs[-1])}",
    )
