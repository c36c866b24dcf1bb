"""Rate limits and the error budget of the Exact sandbox, driven by its clock."""

from __future__ import annotations

import requests
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox

MINUTELY = {
    "X-RateLimit-Minutely-Limit",
    "X-RateLimit-Minutely-Remaining",
    "X-RateLimit-Minutely-Reset",
}
DAILY = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
# 2026-03-10T10:00:30Z: half a minute into a minute, well inside a UTC day.
START = 1773136830


def _headers(response: requests.Response) -> set[str]:
    return {name for name in response.headers if name.startswith("X-RateLimit-")}


def test_every_response_carries_six_headers_in_epoch_ms(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze(START)
    with exact_sandbox.session() as http:
        ok = http.get(f"{exact_sandbox.api_url}/crm/Accounts?$select=ID", timeout=10)
        bad = http.get(f"{exact_sandbox.api_url}/crm/Accounts?$filter=Nope eq 1", timeout=10)
    for response in (ok, bad):
        assert _headers(response) == MINUTELY | DAILY
    assert ok.headers["X-RateLimit-Limit"] == "5000"
    assert ok.headers["X-RateLimit-Minutely-Limit"] == "60"
    assert ok.headers["X-RateLimit-Remaining"] == "4999"
    assert ok.headers["X-RateLimit-Minutely-Remaining"] == "59"
    assert bad.headers["X-RateLimit-Minutely-Remaining"] == "58"
    assert ok.headers["X-RateLimit-Minutely-Reset"] == str((START // 60 + 1) * 60 * 1000)
    assert ok.headers["X-RateLimit-Reset"] == str((START // 86400 + 1) * 86400 * 1000)


def test_minutely_limit_gives_429_with_only_minutely_headers(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(minutely_limit=5)
    sandbox.freeze(START)
    url = f"{sandbox.api_url}/financial/Journals?$select=Code"
    with sandbox.session() as http:
        statuses = [http.get(url, timeout=10).status_code for _ in range(5)]
        refused = http.get(url, timeout=10)
        sandbox.advance(30)  # the next minute starts at a minute boundary
        after = http.get(url, timeout=10)
    assert statuses == [200] * 5
    assert refused.status_code == 429
    assert _headers(refused) == MINUTELY
    assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert after.status_code == 200
    assert after.headers["X-RateLimit-Minutely-Remaining"] == "4"
    assert after.headers["X-RateLimit-Remaining"] == "4994"


def test_daily_limit_resets_at_midnight_utc(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(daily_limit=3)
    midnight = (START // 86400 + 1) * 86400
    sandbox.freeze(midnight - 120)
    url = f"{sandbox.api_url}/financial/Journals?$select=Code"
    with sandbox.session() as http:
        first = [http.get(url, timeout=10).status_code for _ in range(3)]
        sandbox.advance(60)
        refused = http.get(url, timeout=10)
        sandbox.advance(60)
        next_day = http.get(url, timeout=10)
    assert first == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert next_day.status_code == 200
    assert next_day.headers["X-RateLimit-Remaining"] == "2"


def test_refusals_before_counting_still_carry_the_headers(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze(START)
    with exact_sandbox.session() as http:
        other = http.get(f"{exact_sandbox.url}/api/v1/999/crm/Accounts", timeout=10)
        exact_sandbox.advance(600)
        expired = http.get(f"{exact_sandbox.api_url}/crm/Accounts", timeout=10)
    assert other.status_code == 403
    assert _headers(other) == MINUTELY | DAILY
    assert expired.status_code == 401
    assert _headers(expired) == MINUTELY | DAILY


def test_me_and_oauth_do_not_count_against_the_division(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze(START)
    with exact_sandbox.session() as http:
        for _ in range(3):
            me = http.get(f"{exact_sandbox.url}/api/v1/current/Me", timeout=10)
        response = http.get(f"{exact_sandbox.api_url}/crm/Accounts?$select=ID", timeout=10)
    assert me.headers["X-RateLimit-Minutely-Remaining"] == "60"
    assert response.headers["X-RateLimit-Minutely-Remaining"] == "59"


def test_limits_are_counted_per_division_client_pair(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(minutely_limit=2)
    sandbox.freeze(START)
    url = f"{sandbox.api_url}/financial/Journals?$select=Code"
    with sandbox.session() as one, sandbox.session() as two:
        one.get(url, timeout=10)
        one.get(url, timeout=10)
        # A second token of the same app shares the division's budget.
        assert two.get(url, timeout=10).status_code == 429


def _get(sandbox: ExactSandbox, url: str) -> requests.Response:
    # A fresh token per call: these tests move the clock past the 600 s token lifetime.
    with sandbox.session() as http:
        return http.get(url, timeout=10)


def _post(sandbox: ExactSandbox, url: str, body: dict) -> requests.Response:
    with sandbox.session() as http:
        return http.post(url, json=body, timeout=10)


def test_error_budget_blocks_an_endpoint_after_ten_errors(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze(START)
    bad = f"{exact_sandbox.api_url}/crm/Accounts?$filter=Nope eq 1"
    good = f"{exact_sandbox.api_url}/crm/Accounts?$select=ID"
    other = f"{exact_sandbox.api_url}/financial/Journals?$select=Code"
    statuses = []
    for _ in range(10):
        statuses.append(_get(exact_sandbox, bad).status_code)
        exact_sandbox.advance(61)  # keep clear of the minutely limit
    blocked = _get(exact_sandbox, good)
    elsewhere = _get(exact_sandbox, other)
    exact_sandbox.advance(3600)
    unblocked = _get(exact_sandbox, good)
    assert statuses == [400] * 10
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert _headers(blocked) == MINUTELY | DAILY  # unlike a minutely 429
    assert elsewhere.status_code == 200  # other endpoints stay open
    assert unblocked.status_code == 200


def test_business_errors_count_and_old_errors_fall_out_of_the_window(
    exact_sandbox_factory,
) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(error_budget=3)
    sandbox.freeze(START)
    url = f"{sandbox.api_url}/financialtransaction/BankEntries"
    body = {"JournalCode": "NOPE", "BankEntryLines": [{"AmountFC": 1}]}
    assert _post(sandbox, url, body).status_code == 500
    assert _post(sandbox, url, body).status_code == 500
    sandbox.advance(3601)  # the first two errors expire
    assert _post(sandbox, url, body).status_code == 500
    assert _post(sandbox, url, body).status_code == 500
    assert _post(sandbox, url, body).status_code == 500
    assert _post(sandbox, url, body).status_code == 429


def test_expired_tokens_count_as_errors_too(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(error_budget=2)
    sandbox.freeze(START)
    url = f"{sandbox.api_url}/crm/Accounts?$select=ID"
    with sandbox.session() as stale:
        sandbox.advance(600)
        assert stale.get(url, timeout=10).status_code == 401
        assert stale.get(url, timeout=10).status_code == 401
    assert _get(sandbox, url).status_code == 429
