"""``pay-exact-sandbox``: run the sandboxes on localhost, or write a generated merchant to a file.

    pay-exact-sandbox serve [--seed N ...] [--fixture FILE] [--pay-port 0] [--exact-port 0]
                            [--state-dir DIR] [--urls-file FILE] [--customers N]
    pay-exact-sandbox generate --out FILE [--seed N ...]

``serve`` prints (and writes to ``--urls-file``) one JSON object with each sandbox's base URLs
and demo credentials once every server listens, then runs until SIGINT or SIGTERM. With
``--customers N`` one Pay. server and one Exact server serve N merchants (seeds ``--seed``,
``--seed``+1, ...; divisions from ``--exact-division``), and the JSON lists each customer's
credentials (see ``customers.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from pay_exact_sandbox.generator import (
    PLATFORMS,
    FeeSettings,
    GeneratorParams,
    Merchant,
    RevenueGroup,
    generate,
)
from pay_exact_sandbox.generator.params import INVOICE_SETTLEMENTS
from pay_exact_sandbox.pay import PaySandbox


class Service(Protocol):
    """A sandbox the ``serve`` command runs: started together, listed in the urls file."""

    def start(self) -> Any: ...

    def stop(self) -> None: ...

    def credentials(self) -> dict[str, Any]: ...


# Each builder adds its sandbox to the services ``serve`` starts, under a name ("pay", ...).
ServiceBuilder = Callable[[argparse.Namespace, Merchant], tuple[str, Service] | None]


def _pay_service(args: argparse.Namespace, merchant: Merchant) -> tuple[str, Service]:
    return "pay", PaySandbox(
        merchant,
        port=args.pay_port,
        rate_limit_per_second=args.rate_limit,
        settlement_amount_unit=args.settlement_amount_unit,
    )


def _exact_service(args: argparse.Namespace, merchant: Merchant) -> tuple[str, Service]:
    # Imported here: the Exact sandbox is only loaded when serve starts it.
    from pay_exact_sandbox.exact.service import ExactService, exact_data_for  # noqa: PLC0415

    data = exact_data_for(
        merchant, fixture=args.fixture, seed=args.seed, division=args.exact_division
    )
    from pay_exact_sandbox.exact.config import ExactConfig  # noqa: PLC0415

    config = ExactConfig(
        receivables_sign=args.exact_receivables_sign,
        partial_receivable_amount=args.exact_partial_receivable_amount,
        partial_sets_last_payment_date=args.exact_partial_sets_last_payment_date == "yes",
    )
    return "exact", ExactService(
        data, port=args.exact_port, config=config, state_dir=args.state_dir
    )


SERVICE_BUILDERS: list[ServiceBuilder] = [_pay_service, _exact_service]


def _payments(raw: str) -> int | tuple[int, int]:
    low, sep, high = raw.partition("-")
    try:
        if not sep:
            return int(low)
        return int(low), int(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or LOW-HIGH, got {raw!r}") from None


def _revenue_group(raw: str) -> RevenueGroup:
    parts = raw.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "own-bank"):
        raise argparse.ArgumentTypeError(
            f"expected NAME:PLATFORM or NAME:PLATFORM:own-bank, got {raw!r}"
        )
    if parts[1] not in PLATFORMS:
        raise argparse.ArgumentTypeError(
            f"platform {parts[1]!r} is not one of {', '.join(PLATFORMS)}"
        )
    return RevenueGroup(parts[0], parts[1], own_bank_account=len(parts) == 3)


def _share(raw: str) -> float:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {raw!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {raw!r}")
    return float(value)  # a probability, not money


def _add_generator_options(parser: argparse.ArgumentParser) -> None:
    defaults = GeneratorParams()
    group = parser.add_argument_group("generated merchant")
    group.add_argument("--seed", type=int, default=defaults.seed)
    group.add_argument(
        "--start-date", type=date.fromisoformat, default=defaults.start_date, help="YYYY-MM-DD"
    )
    group.add_argument("--days", type=int, default=defaults.days)
    group.add_argument("--clearings-per-day", type=int, default=defaults.clearings_per_day)
    group.add_argument(
        "--payments-per-clearing",
        type=_payments,
        default=defaults.payments_per_clearing,
        help="N or LOW-HIGH (default 5-20)",
    )
    group.add_argument(
        "--revenue-group",
        dest="revenue_groups",
        type=_revenue_group,
        action="append",
        help="NAME:PLATFORM[:own-bank], repeatable (default Webshop:woocommerce); "
        f"platforms: {', '.join(PLATFORMS)}",
    )
    group.add_argument(
        "--no-split",
        dest="split",
        action="store_false",
        help="one clearing for all revenue groups instead of one per group",
    )
    group.add_argument("--refund-share", type=_share, default=defaults.refund_share)
    group.add_argument("--chargeback-share", type=_share, default=defaults.chargeback_share)
    group.add_argument(
        "--invoice-settlement",
        choices=INVOICE_SETTLEMENTS,
        default=defaults.fees.invoice_settlement,
        help="how Pay.'s fee invoices are paid",
    )
    group.add_argument("--late-settlements", type=int, default=defaults.late_settlements)
    group.add_argument("--currency", default=defaults.currency)
    group.add_argument("--merchant-name", default=defaults.merchant_name)


def _params(args: argparse.Namespace) -> GeneratorParams:
    defaults = GeneratorParams()
    return GeneratorParams(
        seed=args.seed,
        start_date=args.start_date,
        days=args.days,
        clearings_per_day=args.clearings_per_day,
        payments_per_clearing=args.payments_per_clearing,
        revenue_groups=tuple(args.revenue_groups or defaults.revenue_groups),
        split_by_revenue_group=args.split,
        refund_share=args.refund_share,
        chargeback_share=args.chargeback_share,
        fees=FeeSettings(invoice_settlement=args.invoice_settlement),
        currency=args.currency,
        late_settlements=args.late_settlements,
        merchant_name=args.merchant_name,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pay-exact-sandbox",
        description="Local stand-ins for the Pay. GMS v2 and Exact Online APIs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the sandboxes until SIGINT/SIGTERM")
    _add_generator_options(serve)
    serve.add_argument("--fixture", type=Path, help="serve this fixture file, not a generated one")
    serve.add_argument("--pay-port", type=int, default=0, help="0 picks a free port (default)")
    serve.add_argument(
        "--rate-limit", type=int, default=None, help="Pay. requests per second before 429s"
    )
    serve.add_argument(
        "--settlement-amount-unit",
        choices=("cents", "euros"),
        default=None,
        help="unit of settlement amounts (default: the fixture's, normally cents)",
    )
    serve.add_argument("--exact-port", type=int, default=0, help="0 picks a free port (default)")
    serve.add_argument(
        "--exact-division",
        type=int,
        default=None,
        help="division number of the generated Exact side (default 123456)",
    )
    exact = serve.add_argument_group("Exact behaviours the references leave open")
    exact.add_argument(
        "--exact-receivables-sign",
        choices=("positive", "negative"),
        default="positive",
        help="cashflow/Receivables amounts: positive for an invoice (default, the reference's "
        "inference) or the remaining amount, negative for an invoice",
    )
    exact.add_argument(
        "--exact-partial-receivable-amount",
        choices=("original", "remaining"),
        default="original",
        help="a part-paid receivable's amount: the invoice's full amount (default) or what is left",
    )
    exact.add_argument(
        "--exact-partial-sets-last-payment-date",
        choices=("yes", "no"),
        default="yes",
        help="whether a part payment sets the receivable's LastPaymentDate (default yes)",
    )
    serve.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="keep the Exact division here between runs (saved at stop, loaded at start)",
    )
    serve.add_argument(
        "--urls-file", type=Path, help="write the URLs and demo credentials here once listening"
    )
    serve.add_argument(
        "--customers",
        type=int,
        default=None,
        help="serve N generated merchants from one Pay. and one Exact server (not with "
        "--fixture or --state-dir)",
    )
    serve.add_argument(
        "--customer-prefix", default="shop", help="customers are named PREFIX1, PREFIX2, ..."
    )
    gen = commands.add_parser("generate", help="write a generated merchant as a fixture file")
    _add_generator_options(gen)
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--indent", type=int, default=None, help="pretty-print with this indent")
    return parser


def _write_atomically(path: Path, text: str) -> None:
    """Readers polling for the file never see it half-written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _merchant(args: argparse.Namespace) -> Merchant:
    if getattr(args, "fixture", None):
        return Merchant.load(args.fixture)
    return generate(_params(args))


def _customer_sandboxes(args: argparse.Namespace) -> Any:
    # Imported here: only the multi-customer mode needs it.
    from pay_exact_sandbox.customers import CustomerSandboxes, CustomerSpec  # noqa: PLC0415
    from pay_exact_sandbox.exact.config import ExactConfig  # noqa: PLC0415

    if args.customers < 1:
        raise ValueError("--customers must be at least 1")
    if args.fixture or args.state_dir:
        raise ValueError("--customers serves generated merchants: no --fixture or --state-dir")
    params = _params(args)
    config = ExactConfig(
        receivables_sign=args.exact_receivables_sign,
        partial_receivable_amount=args.exact_partial_receivable_amount,
        partial_sets_last_payment_date=args.exact_partial_sets_last_payment_date == "yes",
    )
    first_division = args.exact_division or 123456
    specs = [
        CustomerSpec(
            name=f"{args.customer_prefix}{i + 1}",
            seed=args.seed + i,
            division=first_division + i,
            params=params,
            exact_config=config,
            pay_rate_limit_per_second=args.rate_limit,
        )
        for i in range(args.customers)
    ]
    return CustomerSandboxes(specs, pay_port=args.pay_port, exact_port=args.exact_port)


def serve(args: argparse.Namespace) -> int:
    services: list[tuple[str, Service]] = []
    if args.customers is not None:
        services.append(("customers", _customer_sandboxes(args)))
    else:
        merchant = _merchant(args)
        for build in SERVICE_BUILDERS:
            built = build(args, merchant)
            if built is not None:
                services.append(built)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started: list[Service] = []
    try:
        for _name, service in services:
            service.start()
            started.append(service)
        urls = {name: service.credentials() for name, service in services}
        if args.customers is not None:
            urls = urls["customers"]
        text = json.dumps(urls, indent=2)
        if args.urls_file:
            _write_atomically(args.urls_file, text + "\n")
        print(text, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for service in reversed(started):
            service.stop()
    return 0


def generate_command(args: argparse.Namespace) -> int:
    merchant = generate(_params(args))
    merchant.write(args.out, indent=args.indent)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        return generate_command(args)
    except (ValueError, OSError) as exc:
        print(f"pay-exact-sandbox: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
