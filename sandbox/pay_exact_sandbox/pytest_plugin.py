"""Pytest fixtures that start sandboxes (registered as a pytest plugin by the package).

- ``pay_sandbox_factory``: call it with GeneratorParams, a Merchant or a fixture path (plus
  PaySandbox keyword options) to start a Pay. sandbox on a free port; all are stopped at teardown.
- ``pay_sandbox``: a running Pay. sandbox with a small default merchant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest

from .generator import GeneratorParams, Merchant, generate
from .pay.sandbox import PaySandbox, Source

DEFAULT_PAY_PARAMS = GeneratorParams(seed=20250303, days=5, payments_per_clearing=(4, 12))


@cache
def _generated(params: GeneratorParams) -> Merchant:
    # The store never mutates the merchant's objects, so one generated merchant can be shared.
    return generate(params)


@pytest.fixture
def pay_sandbox_factory() -> Iterator[Callable[..., PaySandbox]]:
    started: list[PaySandbox] = []

    def start(source: Source = None, **options: Any) -> PaySandbox:
        if source is None:
            source = DEFAULT_PAY_PARAMS
        if isinstance(source, GeneratorParams):
            source = _generated(source)
        sandbox = PaySandbox(source, **options).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def pay_sandbox(pay_sandbox_factory: Callable[..., PaySandbox]) -> PaySandbox:
    return pay_sandbox_factory(DEFAULT_PAY_PARAMS)
