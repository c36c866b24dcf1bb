"""Pytest fixtures that start sandboxes (registered as a pytest plugin by the package).

- ``pay_sandbox_factory``: call it with GeneratorParams, a Merchant or a fixture path (plus
  PaySandbox keyword options) to start a Pay. sandbox on a free port; all are stopped at teardown.
- ``pay_sandbox``: a running Pay. sandbox with a small default merchant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .generator import GeneratorParams
from .pay.sandbox import PaySandbox, Source

DEFAULT_PAY_PARAMS = GeneratorParams(seed=20250303, days=5, payments_per_clearing=(4, 12))


@pytest.fixture
def pay_sandbox_factory() -> Iterator[Callable[..., PaySandbox]]:
    started: list[PaySandbox] = []

    def start(source: Source = None, **options: Any) -> PaySandbox:
        # Each sandbox gets a freshly generated merchant, so a test may change its data freely.
        sandbox = PaySandbox(DEFAULT_PAY_PARAMS if source is None else source, **options).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def pay_sandbox(pay_sandbox_factory: Callable[..., PaySandbox]) -> PaySandbox:
    return pay_sandbox_factory(DEFAULT_PAY_PARAMS)
