"""Per-division rate limits and the per-endpoint error budget, both on the sandbox clock.

Rate limits [C]: 60 calls a minute and 5,000 a day per app and division; minute windows are
minute-aligned and the day resets at midnight UTC; resets are epoch milliseconds; a minutely 429
carries only the three minutely headers.

Error budget [C]: 10 errors per app, user, division and endpoint per hour block that endpoint.
How a blocked call is answered is not documented: the sandbox answers 429 with ``Retry-After``
and the full set of rate-limit headers (so it cannot be mistaken for the minutely limit) [I]. The
block lasts one window from the error that filled the budget; escalation is not modelled [I].
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .config import ExactConfig

MINUTE = 60
DAY = 86400


@dataclass
class _Window:
    start: int = -1
    used: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    limit: str | None = None  # "minutely" or "daily" when refused


class RateLimiter:
    def __init__(self, config: ExactConfig, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now
        self._lock = threading.Lock()
        self._minute: dict[object, _Window] = {}
        self._day: dict[object, _Window] = {}

    def _windows(self, key: object, now: float) -> tuple[_Window, _Window, int, int]:
        minute_start = int(now // MINUTE) * MINUTE
        day_start = int(now // DAY) * DAY
        minute = self._minute.setdefault(key, _Window())
        day = self._day.setdefault(key, _Window())
        if minute.start != minute_start:
            minute.start, minute.used = minute_start, 0
        if day.start != day_start:
            day.start, day.used = day_start, 0
        return minute, day, minute_start + MINUTE, day_start + DAY

    def consume(self, key: object) -> Verdict:
        """Count one call for ``key`` (an app and division), or refuse it with a 429 verdict."""
        with self._lock:
            now = self._now()
            minute, day, minute_reset, day_reset = self._windows(key, now)
            if day.used >= self.config.daily_limit:
                return Verdict(False, self._headers(minute, day, minute_reset, day_reset), "daily")
            if minute.used >= self.config.minutely_limit:
                headers = self._minutely(minute, minute_reset)
                return Verdict(False, headers, "minutely")
            minute.used += 1
            day.used += 1
            return Verdict(True, self._headers(minute, day, minute_reset, day_reset))

    def peek(self, key: object) -> dict[str, str]:
        """Headers for ``key`` without counting a call."""
        with self._lock:
            now = self._now()
            minute, day, minute_reset, day_reset = self._windows(key, now)
            return self._headers(minute, day, minute_reset, day_reset)

    def _minutely(self, minute: _Window, reset: int) -> dict[str, str]:
        return {
            "X-RateLimit-Minutely-Limit": str(self.config.minutely_limit),
            "X-RateLimit-Minutely-Remaining": str(max(0, self.config.minutely_limit - minute.used)),
            "X-RateLimit-Minutely-Reset": str(reset * 1000),
        }

    def _headers(
        self, minute: _Window, day: _Window, minute_reset: int, day_reset: int
    ) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.config.daily_limit),
            "X-RateLimit-Remaining": str(max(0, self.config.daily_limit - day.used)),
            "X-RateLimit-Reset": str(day_reset * 1000),
            **self._minutely(minute, minute_reset),
        }


class ErrorBudget:
    def __init__(self, config: ExactConfig, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now
        self._lock = threading.Lock()
        self._errors: dict[object, deque[float]] = {}
        self._blocked_until: dict[object, float] = {}

    def blocked(self, key: object) -> int | None:
        """Seconds until ``key`` may call again, or None when it is not blocked."""
        with self._lock:
            until = self._blocked_until.get(key)
            now = self._now()
            if until is None or now >= until:
                self._blocked_until.pop(key, None)
                return None
            return max(1, math.ceil(until - now))

    def record(self, key: object, status: int) -> None:
        if status not in self.config.error_statuses:
            return
        with self._lock:
            now = self._now()
            window = self.config.error_window_seconds
            errors = self._errors.setdefault(key, deque())
            errors.append(now)
            while errors and errors[0] <= now - window:
                errors.popleft()
            if len(errors) >= self.config.error_budget:
                self._blocked_until[key] = now + window
                errors.clear()

    def blocked_until(self, key: object) -> float | None:
        with self._lock:
            return self._blocked_until.get(key)
