"""Pytest fixtures for the Exact Online sandbox (registered as a pytest plugin by the package).

- ``exact_sandbox``: a started sandbox seeded from ``fixtures/exact_small.json``.
- ``exact_sandbox_factory``: ``factory(source=None, *, config=None, **config_changes)`` starts
  one from an :class:`ExactData`, a fixture path, or a generated ``Merchant``; all are stopped
  when the test ends.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from pay_exact_sandbox.admin import AdminState, FaultRule, LoggedRequest
from pay_exact_sandbox.harness import ServedApp, SharedServer

from .admin_api import dump as dump_store
from .app import ExactRuntime, create_exact_app
from .config import ExactConfig
from .data import ExactData

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEFAULT_FIXTURE = FIXTURES / "exact_small.json"


@dataclass
class ExactSandbox:
    """A running Exact sandbox and handles to drive and inspect it in-process."""

    app: Flask
    server: ServedApp | SharedServer
    config: ExactConfig

    @property
    def runtime(self) -> ExactRuntime:
        return self.app.extensions["exact_sandbox"]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        """``{url}/api/v1/{division}``."""
        return f"{self.url}/api/v1/{self.division}"

    @property
    def division(self) -> int:
        return self.runtime.store.code

    @property
    def client_id(self) -> str:
        return self.config.clients[0].client_id

    @property
    def client_secret(self) -> str:
        return self.config.clients[0].client_secret

    @property
    def redirect_uri(self) -> str:
        return self.config.clients[0].redirect_uris[0]

    @property
    def admin(self) -> AdminState:
        return self.runtime.admin

    def requests(self, path_prefix: str | None = None) -> list[LoggedRequest]:
        return self.admin.log.entries(path=path_prefix)

    def inject(self, **rule: Any) -> FaultRule:
        fault = FaultRule(**rule)
        self.admin.faults.add(fault)
        return fault

    def dump(self) -> dict[str, Any]:
        with self.runtime.store.lock:
            return dump_store(self.runtime.store)

    def mint_tokens(self, *, age: float = 0) -> dict[str, str]:
        """An access/refresh token pair without the browser step (``age`` back-dates it)."""
        return self.runtime.oauth.mint(self.client_id, age=age)

    def session(self, access_token: str | None = None) -> Any:
        """A ``requests.Session`` with a bearer token (minted if not given) and JSON headers."""
        # requests is a test dependency: imported only when a test asks for a session.
        import requests  # noqa: PLC0415

        http = requests.Session()
        token = access_token or self.mint_tokens()["access_token"]
        http.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            }
        )
        return http

    def advance(self, seconds: float) -> None:
        self.admin.clock.advance(seconds)

    def freeze(self, at: float | None = None) -> None:
        """Stop the sandbox clock (optionally at ``at`` epoch seconds); ``advance`` still works."""
        self.admin.clock.freeze(True)
        if at is not None:
            self.admin.clock.set(at)

    def close_period(self, year: int, period: int, *, closed: bool = True) -> None:
        with self.runtime.store.lock:
            found = self.runtime.store.period(year, period)
            if found is None:
                raise ValueError(f"no financial period {year}/{period}")
            found["_closed"] = closed

    def configure(self, **changes: Any) -> ExactConfig:
        """Change settings of the running sandbox (``receivables_sign="negative"``, ...)."""
        self.config = self.runtime.configure(**changes)
        return self.config

    def stop(self) -> None:
        self.server.stop()


def _as_data(source: Any) -> ExactData:
    if source is None:
        return ExactData.load(DEFAULT_FIXTURE)
    if isinstance(source, ExactData):
        return source
    if isinstance(source, str | Path):
        return ExactData.load(source)
    # A generated merchant: derive its Exact side (imported late: the generator is optional).
    from pay_exact_sandbox.generator.exact_side import build_exact_data  # noqa: PLC0415

    return build_exact_data(source)


def start_exact_sandbox(
    source: Any = None,
    *,
    config: ExactConfig | None = None,
    admin: AdminState | None = None,
    **config_changes: Any,
) -> ExactSandbox:
    """Start a sandbox on a free localhost port (the caller stops it)."""
    config = config or ExactConfig()
    if config_changes:
        config = dataclasses.replace(config, **config_changes)
    app = create_exact_app(_as_data(source), config=config, admin=admin)
    server = ServedApp(app, port=0).start()
    return ExactSandbox(app=app, server=server, config=config)


@pytest.fixture
def exact_sandbox_factory() -> Iterator[Callable[..., ExactSandbox]]:
    started: list[ExactSandbox] = []

    def factory(source: Any = None, **kwargs: Any) -> ExactSandbox:
        sandbox = start_exact_sandbox(source, **kwargs)
        started.append(sandbox)
        return sandbox

    yield factory
    # Stopping waits for the server's poll interval (0.5 s); do it off the test's clock.
    for sandbox in started:
        threading.Thread(target=sandbox.stop, name="exact-sandbox-stop", daemon=True).start()


@pytest.fixture
def exact_sandbox(exact_sandbox_factory: Callable[..., ExactSandbox]) -> ExactSandbox:
    return exact_sandbox_factory()
