"""Progress lines on stderr during long runs: clearings done of total, API calls of the budget.

stdout carries only state (Meltano stores every stdout line as state), so progress goes to the
logger, which the SDK sends to stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable


class Progress:
    """Logs about ten lines per run, plus the first and the last clearing."""

    def __init__(
        self,
        logger: logging.Logger,
        total: int,
        *,
        calls_made: Callable[[], int | None],
        remaining_today: Callable[[], int | None],
        verb: str = "done",
    ) -> None:
        self.logger = logger
        self.total = total
        self.done = 0
        self.problems = 0
        self._calls_made = calls_made
        self._remaining = remaining_today
        self._every = max(1, -(-total // 10))
        self._verb = verb
        self.lines: list[str] = []  # what was logged, for tests and the report

    def step(self, *, ok: bool) -> None:
        self.done += 1
        if not ok:
            self.problems += 1
        if self.done in (1, self.total) or self.done % self._every == 0:
            self._log()

    def _log(self) -> None:
        calls = self._calls_made()
        remaining = self._remaining()
        budget = ""
        if calls is not None:
            budget = f"; {calls} Exact API calls used"
            if remaining is not None:
                budget += f", {remaining} left today"
        problems = f" ({self.problems} not booked)" if self.problems else ""
        line = f"Progress: {self.done}/{self.total} clearings {self._verb}{problems}{budget}"
        self.lines.append(line)
        self.logger.info(line)
