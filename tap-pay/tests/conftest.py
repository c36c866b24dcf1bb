"""Fixtures for tap-pay's tests: run the tap in-process and read what it wrote."""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from pay_exact_sandbox.pay.sandbox import PaySandbox
from tap_pay.client import PayStream
from tap_pay.tap import TapPay


@dataclass
class TapRun:
    """What one tap run printed: Singer messages on stdout, logs on stderr."""

    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def bookmark(self, stream: str) -> Any:
        return self.state.get("bookmarks", {}).get(stream, {}).get("replication_key_value")


def select(catalog: dict[str, Any], streams: set[str] | None) -> dict[str, Any]:
    """Select the named streams (all when None), deselect the others."""
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = streams is None or entry["tap_stream_id"] in streams
    return catalog


def run_tap_in_process(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: set[str] | None = None,
) -> TapRun:
    catalog = select(TapPay(config=config, validate_config=False).catalog_dict, streams)
    tap = TapPay(config=config, state=state, catalog=catalog)
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            tap.sync_all()
    finally:
        root.removeHandler(handler)
    run = TapRun(out.getvalue(), err.getvalue())
    for line in run.stdout.splitlines():
        message = json.loads(line, parse_float=Decimal)
        run.messages.append(message)
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            run.states.append(message["value"])
    return run


@pytest.fixture
def run_tap() -> Callable[..., TapRun]:
    """``run_tap(config, state=None, streams=None)``: a full sync, all streams by default."""
    return run_tap_in_process


@pytest.fixture
def sandbox_config() -> Callable[..., dict[str, Any]]:
    """The tap's config for a running Pay. sandbox, with overrides."""

    def make(sandbox: PaySandbox, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "api_url": sandbox.api_url,
            "order_api_url": sandbox.order_api_url,
            "token_code": sandbox.token_code,
            "api_token": sandbox.api_token,
            "start_date": "2025-01-01",
            "lookback_days": 7,
        }
        config.update(overrides)
        return config

    return make


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off without real waiting where Pay. sends no Retry-After (tests never time things)."""
    monkeypatch.setattr(PayStream, "retry_base_seconds", 0.001)


@pytest.fixture
def log_capture() -> Iterator[io.StringIO]:
    """Everything logged anywhere during the test, at every level."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(previous)
