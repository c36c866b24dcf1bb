"""The Exact client against the Exact sandbox: tokens over an hour, pacing, 429s, paging,
literals, writes that are never retried, and no secret in any log line or error text.

The sandbox clock is frozen and driven: the client's ``clock`` reads it and its ``sleep``
advances it, so every wait is simulated and the tests never sleep for real.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pay_exact_sandbox.exact.data import ExactData
from pay_exact_sandbox.exact.pytest_fixtures import (
    DEFAULT_FIXTURE,
    ExactSandbox,
    start_exact_sandbox,
)
from target_exactonline.exact_client import (
    ExactClient,
    ExactForbidden,
    ExactOAuth,
    ExactValidationError,
    ReauthorizeRequired,
    SqlTokenStore,
    TokenSet,
    UnknownOutcome,
)
from target_exactonline.exact_client.odata import (
    guid_literal,
    pad_account_code,
    parse_odata_date,
    quote_string,
)

KEY = "acme"
T0 = 1_795_000_000.0  # a fixed sandbox time, 2026-11-18


@pytest.fixture
def sandbox(exact_sandbox: ExactSandbox) -> ExactSandbox:
    exact_sandbox.freeze(at=T0)
    return exact_sandbox


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlTokenStore]:
    s = SqlTokenStore(f"sqlite:///{tmp_path / 'tokens.sqlite'}")
    yield s
    s.close()


def seed_tokens(sandbox: ExactSandbox, store: SqlTokenStore, key: str = KEY) -> TokenSet:
    """A consent as `authorize` leaves it: tokens just issued, stored under ``key``."""
    minted = sandbox.mint_tokens()
    now = sandbox.admin.clock.now()
    tokens = TokenSet(
        access_token=minted["access_token"],
        refresh_token=minted["refresh_token"],
        expires_at=now + int(minted["expires_in"]),
        issued_at=now,
    )
    store.put(key, tokens)
    return tokens


def make_client(
    sandbox: ExactSandbox, store: SqlTokenStore, key: str = KEY
) -> tuple[ExactClient, ExactOAuth]:
    clock: Callable[[], float] = sandbox.admin.clock.now
    oauth = ExactOAuth(
        base_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        store=store,
        key=key,
        clock=clock,
        sleep=sandbox.advance,
    )
    client = ExactClient(
        sandbox.url, sandbox.division, auth=oauth, clock=clock, sleep=sandbox.advance
    )
    return client, oauth


def statuses(sandbox: ExactSandbox, prefix: str, method: str | None = None) -> list[int | None]:
    return [
        e.status for e in sandbox.requests(prefix) if method is None or e.method == method.upper()
    ]


# -- tokens --------------------------------------------------------------------------------


def test_an_hour_of_reads_with_600_s_tokens_never_refreshes_early(
    sandbox: ExactSandbox, store: SqlTokenStore
) -> None:
    seed_tokens(sandbox, store)
    client, oauth = make_client(sandbox, store)
    reads = 0
    # Uneven steps, so refreshes fall between reads at different offsets.
    steps = [7, 13, 29, 3, 41, 17]
    while sandbox.admin.clock.now() < T0 + 3600:
        rows = list(client.get_all("financial/Journals", select=["Code", "Type"]))
        assert {r["Code"] for r in rows} >= {"20", "25", "70", "90"}
        reads += 1
        sandbox.advance(steps[reads % len(steps)])
    token_calls = statuses(sandbox, "/api/oauth2/token")
    assert token_calls == [200] * 6  # 3600 s / 600 s, and no TooEarlyToRefreshTokens (400)
    assert oauth.refreshes == 6
    assert statuses(sandbox, "/api/v1/") == [200] * reads
    stored = store.load(KEY)
    assert stored is not None
    assert stored.generation == 6


def test_old_refresh_token_used_asks_to_reauthorize(
    sandbox: ExactSandbox, store: SqlTokenStore, tmp_path: Path
) -> None:
    tokens = seed_tokens(sandbox, store)
    # A restored copy of the token store (say, staging) refreshes first and burns the token.
    copy_store = SqlTokenStore(f"sqlite:///{tmp_path / 'staging.sqlite'}")
    copy_store.put(KEY, tokens)
    staging, _ = make_client(sandbox, copy_store)
    sandbox.advance(590)
    staging.me()
    copy_store.close()

    client, _ = make_client(sandbox, store)
    with pytest.raises(ReauthorizeRequired) as info:
        client.me()
    err = info.value
    assert err.status == 401
    assert "Old refresh token used" in (err.message or "")
    text = str(err)
    assert "target-exactonline authorize" in text
    assert repr(KEY) in text
    assert tokens.refresh_token not in text
    assert sandbox.client_secret not in text
    assert statuses(sandbox, "/api/oauth2/token") == [200, 401]


def test_expired_refresh_token_asks_to_reauthorize(
    sandbox: ExactSandbox, store: SqlTokenStore
) -> None:
    tokens = seed_tokens(sandbox, store)
    sandbox.advance(31 * 86400)  # a month without a run: the refresh token has lapsed
    client, _ = make_client(sandbox, store)
    with pytest.raises(ReauthorizeRequired) as info:
        client.me()
    err = info.value
    assert err.status == 400
    assert "The refresh token expired at" in (err.message or "")
    text = str(err)
    assert "target-exactonline authorize" in text
    assert tokens.refresh_token not in text
    assert sandbox.client_secret not in text
    assert statuses(sandbox, "/api/oauth2/token") == [400]  # asked once, not retried


# -- rate limits ---------------------------------------------------------------------------


def test_300_reads_at_60_a_minute_get_zero_429s(
    sandbox: ExactSandbox, store: SqlTokenStore
) -> None:
    seed_tokens(sandbox, store)
    client, _ = make_client(sandbox, store)
    sent_at: list[float] = []
    client.session.hooks["response"].append(
        lambda response, *args, **kwargs: sent_at.append(sandbox.admin.clock.now())
    )
    for _ in range(300):
        assert len(list(client.get_all("financial/Journals", select="Code", top=1))) == 1
    api = statuses(sandbox, "/api/v1/")
    assert len(api) == 300
    assert 429 not in api
    assert client.calls_made == 300
    # Never more than 60 in one (minute-aligned) window of the sandbox clock ...
    per_minute: dict[int, int] = {}
    for at in sent_at:
        per_minute[int(at // 60)] = per_minute.get(int(at // 60), 0) + 1
    assert max(per_minute.values()) == 60
    assert len(per_minute) == math.ceil(300 / 60)
    # ... and no more waiting than the windows need (T0 is 40 s into its first minute).
    elapsed = sandbox.admin.clock.now() - T0
    assert elapsed <= 20 + 3 * 61 + 1


def test_recovers_from_a_429(sandbox: ExactSandbox, store: SqlTokenStore) -> None:
    seed_tokens(sandbox, store)
    client, _ = make_client(sandbox, store)
    # Another user of the same app and division spends this minute's calls first.
    other = sandbox.session()
    for _ in range(60):
        assert other.get(f"{sandbox.api_url}/financial/Journals?$select=Code").status_code == 200
    before = sandbox.admin.clock.now()
    rows = list(client.get_all("financial/GLAccounts", select=["Code", "Type"]))
    assert {r["Code"] for r in rows} >= {"1300", "4390"}
    assert statuses(sandbox, f"/api/v1/{sandbox.division}/financial/GLAccounts") == [429, 200]
    # It waited until the minutely reset plus a second, no less.
    reset = (int(before // 60) + 1) * 60
    assert sandbox.admin.clock.now() >= reset + 1


# -- reading -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[ExactSandbox]:
    """The small fixture plus 20,000 open sales invoices."""
    data = ExactData.load(DEFAULT_FIXTURE)
    template = data.sales_entries[0]
    for i in range(20_000):
        entry = copy.deepcopy(template)
        ref = f"BULK{i:05d}"
        entry.update({"YourRef": ref, "Description": ref, "PaymentReference": ref})
        data.sales_entries.append(entry)
    sandbox = start_exact_sandbox(data)
    sandbox.freeze(at=T0)
    yield sandbox
    sandbox.stop()


@pytest.mark.slow
def test_20000_open_items_take_one_call_per_1000(big_sandbox: ExactSandbox, tmp_path: Path) -> None:
    store = SqlTokenStore(f"sqlite:///{tmp_path / 'tokens.sqlite'}")
    seed_tokens(big_sandbox, store)
    client, _ = make_client(big_sandbox, store)
    big_sandbox.admin.log.clear()
    items = list(
        client.get_all(
            "cashflow/Receivables",
            select=["ID", "Account", "AmountFC", "Currency", "InvoiceNumber", "YourRef", "DueDate"],
            filter="Status eq 20",
            bulk=True,
        )
    )
    open_items = len(items)
    assert open_items >= 20_000
    assert len({i["ID"] for i in items}) == open_items  # no row twice across pages
    calls = [e for e in big_sandbox.requests("/api/v1/") if e.method == "GET"]
    assert all(e.path.endswith("/bulk/Cashflow/Receivables") for e in calls)
    assert len(calls) <= math.ceil(open_items / 1000) + 1
    assert len(calls) == client.calls_made
    # Values arrive typed: Decimal amounts and aware dates.
    sample = next(i for i in items if i["YourRef"] == "BULK00042")
    assert str(sample["AmountFC"]) == "121.00"
    assert parse_odata_date(sample["DueDate"]).tzinfo is not None
    store.close()


def test_quotes_and_odata_syntax_in_a_reference_do_no_harm(
    sandbox: ExactSandbox, store: SqlTokenStore
) -> None:
    seed_tokens(sandbox, store)
    client, _ = make_client(sandbox, store)
    names = [
        "O'Brien & Zn.",
        "x' or Name ne 'x",
        "') or (1 eq 1",
        "50%+korting #1 ''dubbel''",
    ]
    created = {}
    for name in names:
        row = client.post("crm/Accounts", {"Name": name, "Status": "C"})
        created[name] = row["ID"]
    everyone = list(client.get_all("crm/Accounts", select=["ID", "Name"]))
    assert len(everyone) > len(names)
    for name in names:
        found = list(
            client.get_all(
                "crm/Accounts", select=["ID", "Name"], filter=f"Name eq {quote_string(name)}"
            )
        )
        assert [(r["ID"], r["Name"]) for r in found] == [(created[name], name)]
    # An injection attempt that names nobody matches nobody (it stays a string).
    attack = "nobody' or Name ne '"
    assert (
        list(client.get_all("crm/Accounts", select="ID", filter=f"Name eq {quote_string(attack)}"))
        == []
    )
    with pytest.raises(ValueError, match="GUID"):
        guid_literal(f"{created[names[0]]}') or (1 eq 1")
    # An account code filter works only padded to 18 characters.
    code = next(
        r
        for r in client.get_all("crm/Accounts", select=["Code", "Name"])
        if r["Name"] == "Jansen BV"
    )["Code"]
    padded = list(
        client.get_all(
            "crm/Accounts", select="Name", filter=f"Code eq {quote_string(pad_account_code(code))}"
        )
    )
    assert [r["Name"] for r in padded] == ["Jansen BV"]


# -- writes --------------------------------------------------------------------------------


def _bank_entry(sandbox: ExactSandbox, client: ExactClient, description: str) -> dict[str, Any]:
    gl = {r["Code"]: r["ID"] for r in client.get_all("financial/GLAccounts", select=["ID", "Code"])}
    return {
        "JournalCode": "25",
        "BankEntryLines": [
            {
                "Date": "2026-11-18T00:00:00",
                "GLAccount": gl["2050"],
                "AmountFC": "-10.00",
                "Description": description,
            },
            {
                "Date": "2026-11-18T00:00:00",
                "GLAccount": gl["4390"],
                "AmountFC": "10.00",
                "Description": description,
            },
        ],
    }


def _find_lines(client: ExactClient, description: str) -> list[dict[str, Any]]:
    return list(
        client.get_all(
            "financialtransaction/BankEntryLines",
            select=["ID", "EntryID", "Description"],
            filter=f"Description eq {quote_string(description)}",
        )
    )


def test_a_post_whose_answer_is_lost_is_not_retried(
    sandbox: ExactSandbox, store: SqlTokenStore
) -> None:
    seed_tokens(sandbox, store)
    client, _ = make_client(sandbox, store)
    body = _bank_entry(sandbox, client, "PAYNL CLR-LOST-1")
    sandbox.inject(action="commit_then_drop", method="POST", path="/BankEntries$")
    with pytest.raises(UnknownOutcome) as info:
        client.post("financialtransaction/BankEntries", body)
    assert "look it up" in str(info.value)
    assert statuses(sandbox, "/api/v1/", "POST") == [None]  # one POST, no answer
    # The caller's lookup finds it: it was stored once, and only once.
    lines = _find_lines(client, "PAYNL CLR-LOST-1")
    assert len({line["EntryID"] for line in lines}) == 1


def test_a_business_refusal_is_a_validation_error_and_stores_nothing(
    sandbox: ExactSandbox, store: SqlTokenStore
) -> None:
    seed_tokens(sandbox, store)
    client, _ = make_client(sandbox, store)
    body = _bank_entry(sandbox, client, "PAYNL CLR-BAD-1")
    body["JournalCode"] = "70"  # a sales journal: Exact refuses a bank entry there
    with pytest.raises(ExactValidationError) as info:
        client.post("financialtransaction/BankEntries", body)
    assert info.value.status == 500
    assert info.value.message
    assert _find_lines(client, "PAYNL CLR-BAD-1") == []
    # A 500 without Exact's error body leaves the outcome open.
    sandbox.inject(action="commit_then_status", method="POST", path="/BankEntries$", status=500)
    good = _bank_entry(sandbox, client, "PAYNL CLR-500-1")
    with pytest.raises(UnknownOutcome):
        client.post("financialtransaction/BankEntries", good)
    assert len(_find_lines(client, "PAYNL CLR-500-1")) == 2
    assert statuses(sandbox, "/api/v1/", "POST") == [500, 500]


# -- secrets -------------------------------------------------------------------------------


def test_no_secret_in_logs_or_errors(
    sandbox: ExactSandbox, store: SqlTokenStore, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    tokens = seed_tokens(sandbox, store)
    client, oauth = make_client(sandbox, store)
    seen: list[str] = [tokens.access_token, tokens.refresh_token, sandbox.client_secret]
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        client.me()
        sandbox.advance(590)
        client.me()  # refreshes
        current = store.load(KEY)
        assert current is not None
        seen += [current.access_token, current.refresh_token]
        sandbox.inject(action="status", status=502, path="/Journals$", count=5)
        with pytest.raises(Exception) as unavailable:  # noqa: PT011 - any error text is scanned
            list(client.get_all("financial/Journals", select="Code"))
        texts.append(str(unavailable.value))
        # Burn the refresh token elsewhere, then fail to refresh.
        form = {
            "grant_type": "refresh_token",
            "refresh_token": current.refresh_token,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        sandbox.advance(600)
        burned = requests.post(f"{sandbox.url}/api/oauth2/token", data=form, timeout=10)
        assert burned.status_code == 200
        with pytest.raises(ReauthorizeRequired) as reauth:
            client.me()
        texts.append(str(reauth.value))
        texts.append(repr(reauth.value))
        texts.append(repr(oauth))
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    everything = "\n".join(texts)
    assert "refreshed the Exact Online access token" in everything
    for secret in seen:
        assert secret not in everything


def test_division_check(sandbox: ExactSandbox, store: SqlTokenStore) -> None:
    seed_tokens(sandbox, store)
    client, oauth = make_client(sandbox, store)
    check = client.check_division()
    assert check.division == sandbox.division
    assert check.user_name
    other = ExactClient(
        sandbox.url, sandbox.division + 1, auth=oauth, clock=sandbox.admin.clock.now
    )
    with pytest.raises(ExactForbidden) as info:
        other.check_division()
    assert info.value.status == 403
    assert info.value.reason == "NoDivisionAccess"
