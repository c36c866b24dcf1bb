"""A running Pay. sandbox: the app on a localhost port, its data store and its admin state."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pay_exact_sandbox.admin import AdminState, FaultRule, LoggedRequest
from pay_exact_sandbox.generator import GeneratorParams, Merchant, generate
from pay_exact_sandbox.harness import ServedApp, SharedServer

from .app import PayConfig, create_pay_app
from .auth import CLEARING
from .store import PayStore

Source = GeneratorParams | Merchant | str | Path | None


def load_merchant(source: Source) -> Merchant:
    """A merchant from generator params, a ready merchant, or a fixture file path."""
    if source is None:
        return generate(GeneratorParams())
    if isinstance(source, Merchant):
        return source
    if isinstance(source, GeneratorParams):
        return generate(source)
    return Merchant.load(source)


class PaySandbox:
    """The Pay. GMS v2 sandbox for one merchant, served on 127.0.0.1 (port 0 = a free port).

    ``token_code``/``api_token`` are the demo credentials of the first token with the clearing
    permission; ``admin`` is the request log, fault injector and clock.
    """

    def __init__(
        self,
        source: Source = None,
        *,
        port: int = 0,
        rate_limit_per_second: int | None = None,
        settlement_amount_unit: str | None = None,
        transactions_by_order_id: bool | None = None,
        shared_url: str | None = None,
    ) -> None:
        self.merchant = load_merchant(source)
        self.store = PayStore(self.merchant.pay)
        if settlement_amount_unit is not None:
            if settlement_amount_unit not in ("cents", "euros"):
                raise ValueError(
                    f"settlement_amount_unit must be 'cents' or 'euros', "
                    f"got {settlement_amount_unit!r}"
                )
            self.store.settlement_amount_unit = settlement_amount_unit
        if transactions_by_order_id is not None:
            self.store.transactions_by_order_id = transactions_by_order_id
        self.admin = AdminState()
        self.app = create_pay_app(
            self.store, PayConfig(rate_limit_per_second=rate_limit_per_second), self.admin
        )
        # shared_url: served by a multi-customer server that routes to this app by credentials.
        self._served: ServedApp | SharedServer = (
            SharedServer(shared_url) if shared_url else ServedApp(self.app, port=port)
        )
        token = next(
            (t for t in self.store.tokens.values() if CLEARING in t.permissions),
            next(iter(self.store.tokens.values()), None),
        )
        if token is None:
            raise ValueError("the fixture has no tokens; add one under pay.tokens")
        self.token_code = token.code
        self.api_token = token.token

    # ----- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._served.port

    @property
    def url(self) -> str:
        return self._served.url

    @property
    def api_url(self) -> str:
        return self.url + "/v2"

    @property
    def order_api_url(self) -> str:
        """The Order API (connect.pay.nl/v1 at Pay.), on the same port here."""
        return self.url + "/v1"

    @property
    def admin_url(self) -> str:
        return self.url + "/_admin"

    @property
    def served(self) -> ServedApp | SharedServer:
        return self._served

    def start(self) -> Self:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- helpers for tests ---------------------------------------------------------------
    @property
    def auth(self) -> tuple[str, str]:
        """``(token_code, api_token)`` for ``requests``' ``auth=``."""
        return self.token_code, self.api_token

    def requests(self, path_prefix: str | None = None) -> list[LoggedRequest]:
        """Logged API requests, oldest first; ``path_prefix`` like ``/v2/clearings``."""
        return self.admin.log.entries(path=path_prefix)

    def inject(self, **fault_rule: Any) -> FaultRule:
        """Add a fault rule: ``inject(action="status", status=503, path="/records", count=2)``."""
        rule = FaultRule(**fault_rule)
        self.admin.faults.add(rule)
        return rule

    def set_rate_limit(self, per_second: int | None) -> None:
        self.app.extensions["pay_limiter"].set_limit(per_second)

    @property
    def late_settlement_codes(self) -> list[str]:
        """Settlements held back until :meth:`reveal_late_settlements`."""
        return self.store.hidden_codes()

    def reveal_late_settlements(self, code: str | None = None) -> list[str]:
        """Make a held-back settlement (or all) visible, keeping its earlier settlement date."""
        return self.store.reveal(code)

    def add_settlement(
        self,
        settlement: dict[str, Any],
        records: list[dict[str, Any]] | None = None,
        transactions: list[dict[str, Any]] | None = None,
        *,
        hidden: bool = False,
    ) -> str:
        """Add a settlement in the fixture format while running; returns its code."""
        return self.store.add_settlement(
            settlement, records or [], transactions or [], hidden=hidden
        )

    def credentials(self) -> dict[str, Any]:
        """What the CLI writes to the urls file for the Pay. side."""
        return {
            "url": self.url,
            "api_url": self.api_url,
            "admin_url": self.admin_url,
            "token_code": self.token_code,
            "api_token": self.api_token,
        }

    def request_log(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.requests()]
