"""Deterministic synthetic runs for the engine benchmarks.

Every record gets an open item to look for, in a realistic mix: most pay their invoice
exactly, some pay part of it, pay twice, carry no reference or an unknown one, are refunds
against credit notes, chargebacks, or point at several invoices. Reference formats vary the
way webshops vary them (``ORD0001234`` against ``ORD-1234``, ``Order:1234``, ``#1234``).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from pay_exact_transform import (
    Clearing,
    ClearingLine,
    Direction,
    LineKind,
    OpenItem,
    PaymentRecord,
    RecordKind,
    RevenueGroup,
)

# Share of records per case, out of 1000.
MIX = (
    ("exact", 800),
    ("partial", 50),
    ("duplicate", 30),
    ("no_reference", 40),
    ("unknown_reference", 30),
    ("refund", 30),
    ("chargeback", 10),
    ("ambiguous", 10),
)


def _ref_forms(n: int, rnd: random.Random) -> tuple[str | None, str | None]:
    """(reference, description) of a payment for order n, in one of the webshop shapes."""
    shape = rnd.randrange(4)
    if shape == 0:
        return f"ORD{n:07d}", f"Order:ORD{n}"
    if shape == 1:
        return None, f"Bestelling:  ORD-{n}"
    if shape == 2:
        return f"ORD{n}", None
    return f"ORD{n:09d}", f"Betaling ORD{n}"


def generate(
    payments: int, open_items: int, *, per_clearing: int = 1000, seed: int = 42
) -> tuple[list[Clearing], list[OpenItem]]:
    """``payments`` records in clearings of ``per_clearing``, against ``open_items`` items."""
    rnd = random.Random(seed)
    cases = [case for case, share in MIX for _ in range(share)]
    items: list[OpenItem] = []
    records: list[PaymentRecord] = []
    base = date(2025, 1, 1)
    cents = [Decimal(v).scaleb(-2) for v in range(500, 50000, 7)]

    def item(n: int, amount: Decimal, customer: int, **kw: object) -> OpenItem:
        return OpenItem(
            item_id=f"H{len(items)}",
            invoice_number=str(24000000 + len(items)),
            customer_id=f"C{customer}",
            amount=amount,
            currency="EUR",
            your_ref=f"ORD-{n}",
            description=f"Bestelnummer ORD{n}, factuurnummer {24000000 + len(items)}",
            customer_name=f"Customer {customer}",
            customer_email=f"c{customer}@example.nl",
            journal="70",
            invoice_date=base + timedelta(days=n % 365),
            **kw,  # type: ignore[arg-type]
        )

    def record(kind: RecordKind, amount: Decimal, ref: str | None, desc: str | None) -> None:
        records.append(
            PaymentRecord(
                record_id=f"R{len(records):08d}",
                kind=kind,
                amount=amount,
                currency="EUR",
                reference=ref,
                description=desc,
                order_id=f"{len(records):010d}X{len(records) % 9973:04x}",
                transaction_date=base + timedelta(days=len(records) % 365),
            )
        )

    n = 0
    while len(records) < payments:
        n += 1
        case = cases[rnd.randrange(1000)]
        amount = cents[rnd.randrange(len(cents))]
        customer = rnd.randrange(max(1, open_items // 3))
        ref, desc = _ref_forms(n, rnd)
        if case == "exact":
            items.append(item(n, amount, customer))
            record(RecordKind.PAYMENT, amount, ref, desc)
        elif case == "partial":
            items.append(item(n, amount + Decimal("10.00"), customer))
            record(RecordKind.PAYMENT, amount, ref, desc)
        elif case == "duplicate":
            items.append(item(n, amount, customer))
            record(RecordKind.PAYMENT, amount, ref, desc)
            record(RecordKind.PAYMENT, amount, ref, desc)
        elif case == "no_reference":
            record(RecordKind.PAYMENT, amount, None, "Bedankt voor uw aankoop")
        elif case == "unknown_reference":
            record(RecordKind.PAYMENT, amount, f"XYZ{n}", None)
        elif case == "refund":
            items.append(item(n, -amount, customer))
            record(RecordKind.REFUND, amount, ref, desc)
        elif case == "chargeback":
            items.append(item(n, amount, customer))
            record(RecordKind.CHARGEBACK, amount, ref, desc)
        else:  # two open invoices of two customers carry the same order number
            items.append(item(n, amount, customer))
            items.append(item(n, amount, customer + 1))
            record(RecordKind.PAYMENT, amount, ref, desc)
    del records[payments:]
    filler = 0
    while len(items) < open_items:  # invoices nobody pays in this run
        filler += 1
        amount = cents[rnd.randrange(len(cents))]
        items.append(item(10_000_000 + filler, amount, rnd.randrange(max(1, open_items // 3))))
    del items[open_items:]
    rnd.shuffle(items)
    return _clearings(records, per_clearing), items


def _clearings(records: list[PaymentRecord], per_clearing: int) -> list[Clearing]:
    out = []
    for start in range(0, len(records), per_clearing):
        chunk = records[start : start + per_clearing]
        number = start // per_clearing
        lines = []
        for kind, line_kind, direction in (
            (RecordKind.PAYMENT, LineKind.PAYMENTS, Direction.CREDIT),
            (RecordKind.REFUND, LineKind.REFUNDS, Direction.DEBIT),
            (RecordKind.CHARGEBACK, LineKind.CHARGEBACKS, Direction.DEBIT),
        ):
            of_kind = [r for r in chunk if r.kind is kind]
            if of_kind:
                total = sum((r.amount for r in of_kind), Decimal(0))
                lines.append(
                    ClearingLine(
                        code=f"L{number}-{line_kind.value}",
                        type_id=None,
                        type_name=line_kind.value,
                        direction=direction,
                        amount=total,
                        kind=line_kind,
                        transactions=len(of_kind),
                    )
                )
        fee = Decimal(len(chunk)) * Decimal("0.29")
        lines.append(
            ClearingLine(f"L{number}-fee", None, "Transactiekosten", Direction.DEBIT, fee,
                         LineKind.FEES)
        )  # fmt: skip
        payout = sum(
            (x.amount if x.direction is Direction.CREDIT else -x.amount for x in lines), Decimal(0)
        )
        out.append(
            Clearing(
                clearing_id=f"CLEARING-{number:08d}",
                settlement_code=f"S{number:06d}",
                settlement_date=date(2025, 3, 1) + timedelta(days=number % 28),
                currency="EUR",
                revenue_group=RevenueGroup("CT-1234-5678", "Webshop"),
                lines=tuple(lines),
                records=tuple(chunk),
                payout=payout,
            )
        )
    return out
