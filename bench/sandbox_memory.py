"""Sandbox memory at scale: many small customers in one process, and one large merchant.

    .venv/bin/python bench/sandbox_memory.py [--customers 1000] [--payments 300000]
                                             [--only customers|merchant]

Each scenario runs in a fresh Python process that prints its resident memory (``VmRSS`` from
``/proc``, and the peak ``VmHWM``) at each step:

- ``customers``: a multi-customer sandbox with ``--customers`` merchants of the size
  ``bench/orchestrate_night.py`` starts (2 days, 3-6 payments a clearing); first idle (built on
  first use), then every customer's Pay. account and Exact division built and a consent minted,
  as after a night that booked them all;
- ``merchant``: a merchant of ``--payments`` payments seeded as ``bench/pipeline_backfill.py``
  seeds it (a year, three revenue groups; transactions, orders and customers dropped once
  seeded), served by a Pay. and an Exact sandbox.

Bytes per row divide the memory the sandboxes hold (resident memory after, minus before) by the
rows they serve (Pay.'s settlements, clearing lines, clearing records and invoice lines; Exact's
rows of every collection).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def rss() -> tuple[int, int]:
    """Resident and peak resident memory of this process, in bytes."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found["VmRSS"], found["VmHWM"]


def pay_rows(pay: dict[str, Any]) -> int:
    clearings = [c for s in pay["settlements"] for c in s["clearings"]]
    return (
        len(pay["settlements"])
        + sum(len(c["clearingLines"]) for c in clearings)
        + len(pay["clearingRecords"])
        + len(pay["invoiceLines"])
    )


def exact_rows(exact: Any) -> int:
    store = exact.runtime.store
    with store.lock:
        return sum(
            len(value)
            for value in vars(store).values()
            if isinstance(value, dict | list) and value and isinstance(_first(value), dict)
        )


def _first(collection: dict[Any, Any] | list[Any]) -> Any:
    return next(iter(collection.values())) if isinstance(collection, dict) else collection[0]


def customers_scenario(count: int) -> dict[str, Any]:
    from pay_exact_sandbox.customers import CustomerSandboxes, CustomerSpec
    from pay_exact_sandbox.generator import GeneratorParams

    gc.collect()
    base, _ = rss()
    params = GeneratorParams(days=2, payments_per_clearing=(3, 6))
    specs = [CustomerSpec(f"shop{i + 1}", 900 + i, 500001 + i, params) for i in range(count)]
    with CustomerSandboxes(specs) as sandboxes:
        gc.collect()
        idle, _ = rss()
        rows = 0
        for customer in sandboxes:
            customer.exact.mint_tokens()
            rows += pay_rows(customer.merchant.pay) + exact_rows(customer.exact)
            assert customer.pay.app is not None
        gc.collect()
        built, peak = rss()
    return {
        "customers": count,
        "rows": rows,
        "idle_mib": (idle - base) / MIB,
        "built_mib": (built - base) / MIB,
        "peak_mib": peak / MIB,
        "bytes_per_row": (built - base) / rows,
        "kib_per_customer": (built - base) / count / 1024,
    }


def merchant_scenario(payments: int) -> dict[str, Any]:
    from pay_exact_sandbox.exact.pytest_fixtures import start_exact_sandbox
    from pay_exact_sandbox.generator import GeneratorParams, generate
    from pay_exact_sandbox.generator.exact_side import (
        ExactSideParams,
        build_exact_data,
    )
    from pay_exact_sandbox.generator.params import RevenueGroup
    from pay_exact_sandbox.pay.sandbox import PaySandbox

    gc.collect()
    base, _ = rss()
    days = 365
    groups = (
        RevenueGroup("Webshop", "woocommerce"),
        RevenueGroup("Winkel", "lightspeed"),
        RevenueGroup("Magento", "magento2"),
    )
    params = GeneratorParams(
        seed=14,
        start_date=date(2025, 1, 1),
        days=days,
        payments_per_clearing=max(1, round(payments / (days * len(groups)))),
        revenue_groups=groups,
    )
    merchant = generate(params)
    data: Any = build_exact_data(merchant, ExactSideParams(seed=14))
    merchant.pay["transactions"] = []  # as pipeline_backfill.py: the tap does not read them
    served_payments = len(merchant.pay["clearingRecords"])
    with PaySandbox(merchant) as pay:
        exact = start_exact_sandbox(data, minutely_limit=1_000_000)
        data = None
        merchant.orders.clear()
        merchant.customers.clear()
        gc.collect()
        seeded, peak = rss()
        rows = pay_rows(merchant.pay) + exact_rows(exact)
        assert pay.store is not None
        exact.stop()
    return {
        "payments": served_payments,
        "rows": rows,
        "seeded_mib": (seeded - base) / MIB,
        "peak_mib": peak / MIB,
        "bytes_per_row": (seeded - base) / rows,
    }


SCENARIOS = {"customers": customers_scenario, "merchant": merchant_scenario}


def in_child(scenario: str, size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", scenario, "--size", str(size)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--payments", type=int, default=300_000)
    parser.add_argument("--only", choices=sorted(SCENARIOS))
    parser.add_argument("--child", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(SCENARIOS[args.child](args.size)), flush=True)
        return 0
    if args.only in (None, "customers"):
        got = in_child("customers", args.customers)
        print(
            f"{got['customers']:,} customers in one sandbox process: "
            f"{got['idle_mib']:,.1f} MiB idle, {got['built_mib']:,.1f} MiB with every customer "
            f"built ({got['kib_per_customer']:,.0f} KiB a customer, {got['rows']:,} rows, "
            f"{got['bytes_per_row']:,.0f} B a row); peak RSS {got['peak_mib']:,.0f} MiB"
        )
    if args.only in (None, "merchant"):
        got = in_child("merchant", args.payments)
        print(
            f"a {got['payments']:,}-payment merchant: {got['seeded_mib']:,.0f} MiB seeded "
            f"({got['rows']:,} rows, {got['bytes_per_row']:,.0f} B a row); "
            f"peak RSS {got['peak_mib']:,.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
