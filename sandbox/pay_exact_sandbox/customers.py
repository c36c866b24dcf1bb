"""Many merchants in one process: one Pay. server and one Exact server for N customers.

Each customer is a generated merchant (its own seed) with a Pay. account and an Exact division.
The real services tell accounts apart by credentials, and so does this sandbox:

- Pay.: the Basic-auth token code selects the account (pay-api.md §3, "AT-code : API token").
  Customer ``i`` (from 1) holds the token codes ``AT-{i:04d}-0001``, ``AT-{i:04d}-0002``, ...
- Exact: one app registration (client id and secret) for all customers, each customer's consent
  a user of its own whose division is ``current/Me``'s and is addressed as ``/api/v1/{division}``
  (exact-online-api.md §1-2); limits are per app per division, token calls per user (§ rate
  limits), so every customer keeps its own minutely/daily counters, error budget and token calls.

A customer's merchant, stores and apps are built on its first request (or first use from
Python), so N idle customers cost little. Routing lives in :mod:`pay_exact_sandbox.routing`.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pay_exact_sandbox.exact.config import ExactConfig
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.generator import GeneratorParams, Merchant, generate
from pay_exact_sandbox.harness import ServedApp, SharedServer
from pay_exact_sandbox.pay import PaySandbox

MAX_CUSTOMERS = 9999
KEY_PREFIX = "PX:"  # how the product marks a booked clearing in a bank entry line's Description


@dataclass(frozen=True)
class CustomerSpec:
    """One merchant of a multi-customer sandbox; ``params``' seed is replaced by ``seed``."""

    name: str
    seed: int
    division: int
    params: GeneratorParams = field(default_factory=GeneratorParams)
    exact_config: ExactConfig = field(default_factory=ExactConfig)
    pay_rate_limit_per_second: int | None = None


def token_code(number: int, index: int = 1) -> str:
    """The Pay. token code of customer ``number`` (from 1); ``index`` counts its tokens."""
    return f"AT-{number:04d}-{index:04d}"


def customer_number(code: str) -> int | None:
    """The customer number a token code names, or None when it names none."""
    parts = code.split("-")
    if len(parts) != 3 or parts[0] != "AT" or not parts[1].isdigit():
        return None
    return int(parts[1])


def booked_keys(exact: ExactSandbox) -> Counter[str]:
    """Bank entries per booked key (``PX:<key>`` first in the first line's Description)."""
    found: Counter[str] = Counter()
    store = exact.runtime.store
    with store.lock:
        entries = list(store.bank_entries.values())
    for entry in entries:
        lines = entry.get("BankEntryLines") or [{}]
        key = (lines[0].get("Description") or "").split(" ")[0]
        if key.startswith(KEY_PREFIX):
            found[key[len(KEY_PREFIX) :]] += 1
    return found


class Customer:
    """One customer's merchant and its Pay. and Exact sandboxes, built on first use."""

    def __init__(self, number: int, spec: CustomerSpec, pay_url: str, exact_url: str) -> None:
        self.number = number
        self.spec = spec
        self.name = spec.name
        self.division = spec.division
        self.token_code = token_code(number)
        self.api_token = secrets.token_hex(20)  # 40 characters, as Pay.'s tokens
        self._pay_url = pay_url
        self._exact_url = exact_url
        self._lock = threading.Lock()
        self._merchant: Merchant | None = None
        self._pay: PaySandbox | None = None
        self._exact: ExactSandbox | None = None
        self.on_exact_credential: Any = None  # set by the Exact router before first use

    @property
    def started(self) -> bool:
        return self._exact is not None or self._pay is not None

    @property
    def merchant(self) -> Merchant:
        with self._lock:
            return self._merchant_locked()

    def _merchant_locked(self) -> Merchant:
        if self._merchant is None:
            params = dataclasses.replace(self.spec.params, seed=self.spec.seed)
            merchant = generate(params)
            # The account's tokens get codes the Pay. router recognises; the first one (with the
            # clearing permission) gets a fresh secret, reported by ``credentials()``.
            for index, token in enumerate(merchant.pay["tokens"], start=1):
                token["code"] = token_code(self.number, index)
            merchant.pay["tokens"][0]["token"] = self.api_token
            self._merchant = merchant
        return self._merchant

    @property
    def pay(self) -> PaySandbox:
        with self._lock:
            if self._pay is None:
                self._pay = PaySandbox(
                    self._merchant_locked(),
                    rate_limit_per_second=self.spec.pay_rate_limit_per_second,
                    shared_url=self._pay_url,
                )
            return self._pay

    @property
    def exact(self) -> ExactSandbox:
        with self._lock:
            if self._exact is None:
                # Imported here: the Exact side is only built for a customer that is used.
                from pay_exact_sandbox.exact.app import create_exact_app  # noqa: PLC0415
                from pay_exact_sandbox.generator.exact_side import (  # noqa: PLC0415
                    ExactSideParams,
                    build_exact_data,
                )

                data = build_exact_data(
                    self._merchant_locked(),
                    ExactSideParams(seed=self.spec.seed, division_code=self.division),
                )
                app = create_exact_app(data, config=self.spec.exact_config)
                sandbox = ExactSandbox(
                    app=app, server=SharedServer(self._exact_url), config=self.spec.exact_config
                )
                sandbox.runtime.oauth.on_issue = self.on_exact_credential
                self._exact = sandbox
            return self._exact

    def booked_keys(self) -> Counter[str]:
        """Bank entries per booked key; nothing booked while the division was never used."""
        with self._lock:
            exact = self._exact
        return booked_keys(exact) if exact is not None else Counter()

    def summary(self) -> dict[str, Any]:
        """The admin view's row: booked keys and duplicates (a key booked more than once)."""
        keys = self.booked_keys()
        duplicates = {key: count for key, count in sorted(keys.items()) if count > 1}
        return {
            "name": self.name,
            "division": self.division,
            "tokenCode": self.token_code,
            "started": self.started,
            "bankEntries": sum(keys.values()),
            "bookedKeys": len(keys),
            "duplicateKeys": len(duplicates),
            "duplicates": duplicates,
        }

    def credentials(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.spec.seed,
            "division": self.division,
            "token_code": self.token_code,
            "api_token": self.api_token,
        }


class CustomerSandboxes:
    """N customers behind one Pay. server and one Exact server on localhost (port 0 = free)."""

    def __init__(
        self, specs: Iterable[CustomerSpec], *, pay_port: int = 0, exact_port: int = 0
    ) -> None:
        # Imported here: routing imports this module's types.
        from pay_exact_sandbox.routing import ExactRouter, PayRouter  # noqa: PLC0415

        self.pay_router = PayRouter(self)
        self.exact_router = ExactRouter(self)
        self._pay_server = ServedApp(self.pay_router, port=pay_port)
        self._exact_server = ServedApp(self.exact_router, port=exact_port)
        self._lock = threading.Lock()
        self.customers: list[Customer] = []
        self.by_name: dict[str, Customer] = {}
        self.by_division: dict[int, Customer] = {}
        try:
            for spec in specs:
                self.add(spec)
        except ValueError:
            self._pay_server.close()
            self._exact_server.close()
            raise

    def add(self, spec: CustomerSpec) -> Customer:
        """One more customer, also while serving."""
        with self._lock:
            if spec.name in self.by_name:
                raise ValueError(f"a customer is already named {spec.name!r}")
            if spec.division in self.by_division:
                raise ValueError(f"customer {spec.name!r}: division {spec.division} is taken")
            if len(self.customers) >= MAX_CUSTOMERS:
                raise ValueError(f"at most {MAX_CUSTOMERS} customers (token codes AT-NNNN-...)")
            number = len(self.customers) + 1
            customer = Customer(number, spec, self._pay_server.url, self._exact_server.url)
            customer.on_exact_credential = self.exact_router.credential_issuer(customer)
            self.customers.append(customer)
            self.by_name[customer.name] = customer
            self.by_division[customer.division] = customer
            return customer

    def __iter__(self) -> Iterator[Customer]:
        return iter(self.customers)

    def __len__(self) -> int:
        return len(self.customers)

    def __getitem__(self, name: str) -> Customer:
        return self.by_name[name]

    def by_number(self, number: int) -> Customer | None:
        return self.customers[number - 1] if 1 <= number <= len(self.customers) else None

    @property
    def pay_url(self) -> str:
        return self._pay_server.url

    @property
    def exact_url(self) -> str:
        return self._exact_server.url

    def start(self) -> CustomerSandboxes:
        self._pay_server.start()
        self._exact_server.start()
        return self

    def stop(self) -> None:
        self._pay_server.stop()
        self._exact_server.stop()

    def __enter__(self) -> CustomerSandboxes:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def summary(self) -> dict[str, Any]:
        rows = [c.summary() for c in self.customers]
        return {
            "customers": rows,
            "bookedKeys": sum(r["bookedKeys"] for r in rows),
            "duplicateKeys": sum(r["duplicateKeys"] for r in rows),
        }

    def credentials(self) -> dict[str, Any]:
        """What ``serve --customers N`` writes: the two servers and every customer's logins."""
        client = (self.customers[0].spec.exact_config if self.customers else ExactConfig()).clients[
            0
        ]
        return {
            "pay": {
                "url": self.pay_url,
                "api_url": self.pay_url + "/v2",
                "admin_url": self.pay_url + "/_admin",
            },
            "exact": {
                "url": self.exact_url,
                "admin_url": self.exact_url + "/_admin",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uri": client.redirect_uris[0],
            },
            "customers": [c.credentials() for c in self.customers],
        }
