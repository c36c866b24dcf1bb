"""Pacing from the X-RateLimit headers against a mocked server that enforces the limits."""

from __future__ import annotations

import json
import math

import pytest
import requests_mock
from target_exactonline.exact_client.client import ExactClient
from target_exactonline.exact_client.errors import ExactBudgetExhausted, ExactRateLimited
from target_exactonline.exact_client.rate_limit import RateLimiter
from target_exactonline.exact_client.testing import ManualClock

HOST = "https://start.exactonline.test"
DIV = 7


class StaticAuth:
    def access_token(self) -> str:
        return "access-token-static-xxxx"

    def token_after_rejection(self, rejected_access_token: str) -> str:
        return rejected_access_token


class LimitedServer:
    """Minute-aligned windows of ``per_minute`` calls and a daily budget, like Exact."""

    def __init__(self, clock: ManualClock, per_minute: int = 60, per_day: int = 5000) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self.per_day = per_day
        self.window = -1
        self.used = 0
        self.day_used = 0
        self.statuses: list[int] = []

    def __call__(self, request, context) -> str:  # type: ignore[no-untyped-def]
        now = self.clock.now()
        window = int(now // 60)
        if window != self.window:
            self.window, self.used = window, 0
        reset_ms = str((window + 1) * 60_000)
        minutely = {
            "X-RateLimit-Minutely-Limit": str(self.per_minute),
            "X-RateLimit-Minutely-Reset": reset_ms,
        }
        if self.used >= self.per_minute:
            context.status_code = 429
            context.headers.update({**minutely, "X-RateLimit-Minutely-Remaining": "0"})
            self.statuses.append(429)
            return ""
        self.used += 1
        self.day_used += 1
        context.headers.update(
            {
                **minutely,
                "X-RateLimit-Minutely-Remaining": str(self.per_minute - self.used),
                "X-RateLimit-Limit": str(self.per_day),
                "X-RateLimit-Remaining": str(self.per_day - self.day_used),
                "X-RateLimit-Reset": str(int((now // 86400 + 1) * 86400 * 1000)),
            }
        )
        self.statuses.append(200)
        return json.dumps({"d": {"results": [{"Code": "25"}]}})


def test_300_reads_at_60_a_minute_get_no_429() -> None:
    clock = ManualClock(1_800_000_030.0)
    server = LimitedServer(clock)
    client = ExactClient(HOST, DIV, auth=StaticAuth(), clock=clock.now, sleep=clock.sleep)
    with requests_mock.Mocker() as mock:
        mock.get(f"{HOST}/api/v1/{DIV}/financial/Journals", text=server)
        for _ in range(300):
            assert len(list(client.get_all("financial/Journals", select="Code"))) == 1
    assert server.statuses == [200] * 300
    # It waited only when a minute was used up: 300 calls span exactly five windows.
    windows = math.ceil(300 / 60)
    assert len(clock.slept) == windows - 1
    assert client.calls_made == 300


def test_a_shared_quota_is_respected() -> None:
    """Another process used 50 of this minute's calls: the headers say so, and we pace on them."""
    clock = ManualClock(1_800_000_000.0)
    server = LimitedServer(clock)
    server.window, server.used = int(clock.now() // 60), 50
    client = ExactClient(HOST, DIV, auth=StaticAuth(), clock=clock.now, sleep=clock.sleep)
    with requests_mock.Mocker() as mock:
        mock.get(f"{HOST}/api/v1/{DIV}/financial/Journals", text=server)
        for _ in range(30):
            list(client.get_all("financial/Journals", select="Code"))
    assert 429 not in server.statuses
    assert len(clock.slept) == 1


def test_limiter_without_headers_counts_its_own_calls() -> None:
    clock = ManualClock(1_800_000_000.0)
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    limiter.update(
        {
            "X-RateLimit-Minutely-Limit": "60",
            "X-RateLimit-Minutely-Remaining": "2",
            "X-RateLimit-Minutely-Reset": str(int((clock.now() + 30) * 1000)),
        }
    )
    limiter.before_request()
    limiter.before_request()
    assert clock.slept == []
    limiter.before_request()  # the third would be past the limit: wait for reset + 1 s
    assert clock.slept == [31.0]


def test_daily_budget_and_its_reset() -> None:
    clock = ManualClock(1_800_000_000.0)
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    reset = clock.now() + 3600
    limiter.update(
        {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset * 1000)),
        }
    )
    assert limiter.remaining_today() == 0
    assert not limiter.can_afford(1)
    with pytest.raises(ExactBudgetExhausted) as info:
        limiter.before_request()
    assert info.value.resets_at == reset
    clock.advance(3600)
    assert limiter.remaining_today() == 5000
    limiter.before_request()
    assert limiter.remaining_today() == 4999


def test_a_daily_429_is_not_waited_out() -> None:
    clock = ManualClock(1_800_000_000.0)
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    with pytest.raises(ExactBudgetExhausted):
        limiter.wait_after_429({"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000"})
    assert clock.slept == []


def test_retry_after_is_honoured_and_a_bare_429_waits_a_minute() -> None:
    clock = ManualClock(1_800_000_000.0)
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    assert limiter.wait_after_429({"Retry-After": "7"}) == 7
    assert limiter.wait_after_429({}) == 60
    # A reset far in the future is clock skew, not a minute: wait at most a minute and a bit.
    far = str(int((clock.now() + 3600) * 1000))
    assert limiter.wait_after_429({"X-RateLimit-Minutely-Reset": far}) <= 62


def test_a_long_block_is_reported_not_slept() -> None:
    clock = ManualClock(1_800_000_000.0)
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    with pytest.raises(ExactRateLimited) as info:
        limiter.wait_after_429({"Retry-After": "3600", "X-RateLimit-Remaining": "4000"})
    assert info.value.retry_at == clock.now() + 3600
    assert clock.slept == []
