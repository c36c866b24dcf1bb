"""The Exact client of a run, made when the run first needs Exact (a rerun with nothing to
book, or a refused run, never makes one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class LazyClient:
    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self.made: Any = None  # the client once made

    def __call__(self) -> Any:
        if self.made is None:
            self.made = self._factory()
        return self.made
