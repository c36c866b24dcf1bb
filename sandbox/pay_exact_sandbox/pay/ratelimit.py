"""Requests per second across the whole sandbox, measured on the drivable sandbox clock."""

from __future__ import annotations

import threading
from collections import deque

from pay_exact_sandbox.admin import Clock


class RateLimiter:
    """At most ``per_second`` accepted requests in any one-second window; ``None`` is no limit."""

    def __init__(self, clock: Clock, per_second: int | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._accepted: deque[float] = deque()
        self.per_second = per_second

    def set_limit(self, per_second: int | None) -> None:
        with self._lock:
            self.per_second = per_second
            self._accepted.clear()

    def admit(self) -> float | None:
        """None when the request may pass, else the seconds until it would."""
        with self._lock:
            if self.per_second is None:
                return None
            now = self._clock.now()
            while self._accepted and self._accepted[0] <= now - 1.0:
                self._accepted.popleft()
            if len(self._accepted) >= self.per_second:
                return max(0.0, self._accepted[0] + 1.0 - now)
            self._accepted.append(now)
            return None
