"""Demo and test customers on the local sandboxes: environment files, secret files, tokens.

Each customer gets a generated merchant as a Pay. account and that merchant's Exact
administration as a division, all customers on one multi-customer sandbox pair (one Pay. and one
Exact server, ``pay_exact_sandbox.customers``), an environment file as an operator would write it
(no store, no report folder: the orchestrator sets those), an owner-only secrets file, and an
Exact token pair in the shared store under its name, as ``target-exactonline authorize`` leaves
it.

Used by ``bin/dev orchestrate``, ``bench/orchestrate_night.py`` and the tests; the product's
runs never import it (the sandbox package is imported only when this module is used).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pay_exact_orchestrate.customers import SUFFIX

# The codes of the generated Exact administration's chart (the sandbox generator's defaults).
BOOKS = {
    "bank_journal": "25",
    "sales_journal": "70",
    "gl_debtors": "1300",
    "gl_psp_costs": "4390",
    "gl_payouts": "2050",
    "gl_unassigned": "2090",
    "psp_costs_vat_code": "0",
}


@dataclass
class SandboxCustomer:
    name: str
    customer: Any  # pay_exact_sandbox.customers.Customer
    clearing_ids: frozenset[str]

    @property
    def pay(self) -> Any:  # pay_exact_sandbox.pay.sandbox.PaySandbox on the shared server
        return self.customer.pay

    @property
    def exact(self) -> Any:  # pay_exact_sandbox.exact.pytest_fixtures.ExactSandbox, shared server
        return self.customer.exact

    def entries(self) -> Counter[str]:
        """Bank entries in Exact per clearing id, read from the key in each entry's lines."""
        return self.customer.booked_keys()

    def stop(self) -> None:
        """Nothing to stop: the customers' sandbox pair is stopped by whoever started it."""


def start_customer_sandboxes() -> Any:
    """A started, empty multi-customer sandbox pair (``pay_exact_sandbox.customers``)."""
    from pay_exact_sandbox.customers import CustomerSandboxes  # noqa: PLC0415

    return CustomerSandboxes([]).start()


def environment_document(
    name: str, *, pay: Any, exact: Any, token_code: str, start: date
) -> dict[str, Any]:
    prefix = name.upper().replace("-", "_")
    return {
        "environments": [
            {
                "name": name,
                "config": {
                    "plugins": {
                        "extractors": [
                            {
                                "name": "tap-pay",
                                "config": {
                                    "api_url": pay.api_url,
                                    "token_code": token_code,
                                    "api_token": f"${{{prefix}_PAY_API_TOKEN}}",
                                    "start_date": start.isoformat(),
                                    "lookback_days": 1,
                                },
                            }
                        ],
                        "loaders": [
                            {
                                "name": "target-exactonline",
                                "config": {
                                    "exact_base_url": exact.url,
                                    "client_id": exact.client_id,
                                    "client_secret": f"${{{prefix}_EXACT_CLIENT_SECRET}}",
                                    "redirect_uri": exact.redirect_uri,
                                    "division": exact.division,
                                    **BOOKS,
                                    "matching_profile": "woocommerce",
                                },
                            }
                        ],
                    }
                },
            }
        ]
    }


def start_sandbox_customer(
    name: str,
    *,
    seed: int,
    division: int,
    environments_dir: Path,
    secrets_dir: Path,
    store_url: str,
    sandboxes: Any,
    days: int = 2,
    payments_per_clearing: tuple[int, int] = (3, 6),
) -> SandboxCustomer:
    """Add customer ``name`` to ``sandboxes`` (from :func:`start_customer_sandboxes`)."""
    # Imported here: the sandbox and the target's test support are not run-time needs.
    from pay_exact_sandbox.customers import CustomerSpec  # noqa: PLC0415
    from pay_exact_sandbox.generator import GeneratorParams  # noqa: PLC0415
    from target_exactonline.sandbox_testing import store_target_tokens  # noqa: PLC0415

    params = GeneratorParams(seed=seed, days=days, payments_per_clearing=payments_per_clearing)
    customer = sandboxes.add(CustomerSpec(name=name, seed=seed, division=division, params=params))
    pay, exact = customer.pay, customer.exact
    settlements = customer.merchant.pay["settlements"]
    start = min(date.fromisoformat(str(s["settlementDate"])[:10]) for s in settlements)
    token = {"code": customer.token_code, "token": customer.api_token}
    document = environment_document(
        name, pay=pay, exact=exact, token_code=token["code"], start=start
    )
    environments_dir.mkdir(parents=True, exist_ok=True)
    (environments_dir / f"{name}{SUFFIX}").write_text(yaml.safe_dump(document, sort_keys=False))
    prefix = name.upper().replace("-", "_")
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret_file = secrets_dir / f"{name}.env"
    descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"{prefix}_PAY_API_TOKEN={token['token']}\n")
        handle.write(f"{prefix}_EXACT_CLIENT_SECRET={exact.client_secret}\n")
    store_target_tokens(exact, store_url, key=name)
    clearing_ids = frozenset(c["clearingId"] for s in settlements for c in s.get("clearings") or [])
    return SandboxCustomer(name=name, customer=customer, clearing_ids=clearing_ids)
