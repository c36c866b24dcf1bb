"""Pacing from Exact's ``X-RateLimit-*`` headers: 60 calls a minute and 5,000 a day per division.

Every response (errors included) says how many calls are left in the current minute and day and
when each window resets (epoch milliseconds). The limiter counts each call it lets through, takes
the server's numbers whenever a response brings them, and sleeps until the minutely reset plus a
second when the minute is used up, so a single client never sends past the minutely limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from target_exactonline.exact_client.errors import ExactBudgetExhausted, ExactRateLimited
from target_exactonline.exact_client.redaction import get_logger

log = get_logger(__name__)

# Clients sleep until the minutely reset plus one second (reference §2).
RESET_MARGIN_S = 1.0
# When a 429 names no reset at all, a minute always clears the minutely window.
FALLBACK_WAIT_S = 60.0
# A reset further away than this is clock skew, not a minutely window.
MAX_MINUTELY_WAIT_S = 61.0 + RESET_MARGIN_S
# A 429 asking for longer than this is a block, not a rate window.
MAX_429_WAIT_S = 120.0


@dataclass(slots=True)
class RateLimitState:
    """What the last response said, with resets as epoch seconds."""

    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_reset: float | None = None
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset: float | None = None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _reset_header(headers: Mapping[str, str], name: str) -> float | None:
    value = _int_header(headers, name)
    return value / 1000.0 if value is not None else None


class RateLimiter:
    """Pacing and the daily budget for one division."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.state = RateLimitState()
        self.slept_s = 0.0

    def before_request(self) -> None:
        """Wait for the next minute when this one is used up; refuse when the day is used up."""
        with self._lock:
            now = self._clock()
            st = self.state
            self._roll_day(now)
            if st.daily_remaining is not None and st.daily_remaining <= 0:
                raise ExactBudgetExhausted(
                    "the daily Exact Online call budget for this division is used up",
                    remaining=0,
                    needed=1,
                    resets_at=st.daily_reset,
                )
            wait = 0.0
            if st.minutely_remaining is not None and st.minutely_remaining <= 0:
                if st.minutely_reset is None:
                    wait = FALLBACK_WAIT_S
                else:
                    wait = min(st.minutely_reset + RESET_MARGIN_S - now, MAX_MINUTELY_WAIT_S)
            if wait > 0:
                log.info("minutely Exact Online limit reached; waiting %.1f s", wait)
                self._pause(wait)
            if wait > 0 or (st.minutely_reset is not None and self._clock() >= st.minutely_reset):
                # A new window: the next response tells the real numbers.
                st.minutely_remaining = st.minutely_limit
                st.minutely_reset = None
            # Count this call now, so pacing holds even if its response carries no headers.
            if st.minutely_remaining is not None:
                st.minutely_remaining -= 1
            if st.daily_remaining is not None:
                st.daily_remaining -= 1

    def update(self, headers: Mapping[str, str]) -> None:
        """Take the numbers a response brought (a minutely 429 brings no daily headers)."""
        with self._lock:
            st = self.state
            minutely_remaining = _int_header(headers, "X-RateLimit-Minutely-Remaining")
            if minutely_remaining is not None:
                st.minutely_remaining = minutely_remaining
                st.minutely_limit = (
                    _int_header(headers, "X-RateLimit-Minutely-Limit") or st.minutely_limit
                )
                st.minutely_reset = _reset_header(headers, "X-RateLimit-Minutely-Reset")
            daily_remaining = _int_header(headers, "X-RateLimit-Remaining")
            if daily_remaining is not None:
                st.daily_remaining = daily_remaining
                st.daily_limit = _int_header(headers, "X-RateLimit-Limit") or st.daily_limit
                st.daily_reset = _reset_header(headers, "X-RateLimit-Reset")

    def wait_after_429(self, headers: Mapping[str, str]) -> float:
        """Sleep until the window that refused the call has reset; returns the seconds slept.

        Raises :class:`ExactBudgetExhausted` when the refusal was the daily limit.
        """
        self.update(headers)
        now = self._clock()
        st = self.state
        daily_remaining = _int_header(headers, "X-RateLimit-Remaining")
        if daily_remaining is not None and daily_remaining <= 0:
            raise ExactBudgetExhausted(
                "Exact Online refused the call: the daily budget for this division is used up",
                status=429,
                remaining=0,
                needed=1,
                resets_at=st.daily_reset,
            )
        candidates: list[float] = []
        reset = _reset_header(headers, "X-RateLimit-Minutely-Reset")
        if reset is not None:
            candidates.append(min(reset + RESET_MARGIN_S - now, MAX_MINUTELY_WAIT_S))
        # [I] Whether Exact sends Retry-After is unverified; honour it when it is there.
        retry_after = _retry_after_seconds(headers.get("Retry-After"), now)
        if retry_after is not None:
            candidates.append(retry_after)
        wait = max(candidates) if candidates else FALLBACK_WAIT_S
        wait = max(wait, 0.0)
        if wait > MAX_429_WAIT_S:
            # Not a minute window: the key is blocked (e.g. after too many errors). Waiting that
            # out inside one call helps nobody; the caller decides.
            raise ExactRateLimited(
                f"Exact Online refused calls for the next {wait:.0f} s",
                status=429,
                retry_at=now + wait,
            )
        with self._lock:
            log.info("Exact Online answered 429; waiting %.1f s for the reset", wait)
            self._pause(wait)
            st.minutely_remaining = st.minutely_limit
            st.minutely_reset = None
        return wait

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
            self.slept_s += seconds

    def _roll_day(self, now: float) -> None:
        st = self.state
        if st.daily_reset is not None and now >= st.daily_reset:
            # Past midnight UTC: a full budget, until a response says otherwise.
            st.daily_remaining = st.daily_limit
            st.daily_reset = None

    def remaining_today(self) -> int | None:
        """Calls left today for this division, or None before any response said."""
        with self._lock:
            self._roll_day(self._clock())
            return self.state.daily_remaining

    def can_afford(self, calls: int) -> bool:
        """Whether ``calls`` more calls fit in today's budget (True while it is still unknown)."""
        remaining = self.remaining_today()
        return remaining is None or remaining >= calls

    def ensure_budget(self, calls: int, what: str) -> None:
        """Raise :class:`ExactBudgetExhausted` unless ``calls`` more calls fit today."""
        remaining = self.remaining_today()
        if remaining is not None and remaining < calls:
            raise ExactBudgetExhausted(
                f"{what} needs {calls} Exact Online calls but only {remaining} are left today",
                remaining=remaining,
                needed=calls,
                resets_at=self.state.daily_reset,
            )


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)
