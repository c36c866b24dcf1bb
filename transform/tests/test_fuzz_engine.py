"""Hostile input for the engine (hypothesis): every run plans or refuses, nothing else.

Clearings and open items are drawn with hostile strings (quotes, unicode, control characters,
text that looks like a booking key), odd and huge amounts, duplicated and conflicting records,
clearings that do not add up or miss records, and mixed currencies. Whatever comes in:

- the engine raises nothing but ``InputError``, and its text names the object and the field;
- a ready plan balances to the cent, carries every record once and only amounts the currency
  can hold, and each line description starts with the clearing's key within 60 characters;
- a blocked plan says why (a block reason and an explanation);
- no open item is linked twice in a run.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pay_exact_transform import (
    LINK_REASONS,
    BookingPlan,
    Clearing,
    ClearingLine,
    Direction,
    GLAccounts,
    InputError,
    LineKind,
    OpenItem,
    PaymentRecord,
    RecordKind,
    RevenueGroup,
    Settings,
    Status,
    plan_run,
)
from pay_exact_transform.money import quantum

GL = GLAccounts(debtors="1300", psp_costs="4390", payouts="2050", unassigned="2090")
HOSTILE = [
    "",
    " ",
    "'",
    '"',
    'O\'Brien "B.V."',
    "ORD'0012",
    "Order:  4711",
    "<b>4711</b>",
    "Bestelling №4711 — ünïcödé",
    "注文 4711",
    "\u202e4711",
    "a\x00b",
    "line\nbreak",
    "\t4711\t",
    "🙂 4711",
    "ß" * 120,
    "4711" * 30,
    "PX:CLR-1 looks like a key",
    "'; DROP TABLE pay_exact_bookings; --",
    "%s %d {0}",
    "\\",
    "null",
]
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
maybe_text = st.one_of(st.none(), text)
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "JPY", "KWD", "XXX", "eur", ""]

plain_amount = st.decimals(min_value=0, max_value=10**6, places=2)
hostile_amount = st.sampled_from(
    [
        Decimal("0"),
        Decimal("0.00"),
        Decimal("-0.01"),
        Decimal("0.001"),
        Decimal("1E+30"),
        Decimal("123456789012345678901234567.89"),
        Decimal("99999999999999.99"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("1.5E-7"),
    ]
)
amount = st.one_of(plain_amount, plain_amount, plain_amount, hostile_amount)

KIND_LINES = {
    RecordKind.PAYMENT: (LineKind.PAYMENTS, Direction.CREDIT),
    RecordKind.REFUND: (LineKind.REFUNDS, Direction.DEBIT),
    RecordKind.CHARGEBACK: (LineKind.CHARGEBACKS, Direction.DEBIT),
}


@st.composite
def records(draw: st.DrawFn, currency: str) -> list[PaymentRecord]:
    found = []
    for n in range(draw(st.integers(0, 6))):
        record = PaymentRecord(
            record_id=draw(st.one_of(st.just(f"R{n}"), st.sampled_from(["R0", "", "R 1"]), text)),
            kind=draw(st.sampled_from([RecordKind.PAYMENT] * 3 + list(RecordKind))),
            amount=draw(amount),
            currency=draw(st.one_of(st.just(currency), st.sampled_from(CURRENCIES))),
            reference=draw(maybe_text),
            description=draw(maybe_text),
            order_id=draw(maybe_text),
            transaction_date=draw(st.one_of(st.none(), st.just(date(2026, 3, 1)))),
            extra1=draw(maybe_text),
            customer_email=draw(st.one_of(st.none(), st.sampled_from(["a@x.nl", "A@X.NL", "'"]))),
            customer_name=draw(maybe_text),
        )
        found.append(record)
        if draw(st.integers(0, 9)) == 0:
            found.append(record)  # delivered twice
    return found


@st.composite
def clearings(draw: st.DrawFn, n: int) -> Clearing:
    currency = draw(st.sampled_from(CURRENCIES))
    recs = draw(records(currency))
    lines: list[ClearingLine] = []
    # Mostly lines that agree with the records; sometimes lines of their own.
    if draw(st.booleans()):
        for kind, (line_kind, direction) in KIND_LINES.items():
            mine = [r for r in recs if r.kind is kind]
            if mine:
                try:
                    total = sum((r.amount for r in mine), Decimal(0))
                except ArithmeticError:
                    total = Decimal(0)
                lines.append(
                    ClearingLine(
                        f"L-{n}-{line_kind.value}",
                        None,
                        line_kind.value,
                        direction,
                        total,
                        line_kind,
                        len(mine) - draw(st.sampled_from([0, 0, 0, 1])),
                    )
                )
    for m in range(draw(st.integers(0, 3))):
        lines.append(
            ClearingLine(
                code=draw(st.one_of(st.just(f"F-{n}-{m}"), text)),
                type_id=draw(st.one_of(st.none(), st.integers(-5, 10**6))),
                type_name=draw(text),
                direction=draw(st.sampled_from(list(Direction))),
                amount=draw(amount),
                kind=draw(st.sampled_from(list(LineKind))),
                transactions=draw(st.one_of(st.none(), st.integers(-1, 5))),
            )
        )
    net = Decimal(0)
    for line in lines:
        try:
            net += line.amount if line.direction is Direction.CREDIT else -line.amount
        except ArithmeticError:
            net = Decimal(0)
    payout = draw(st.one_of(st.just(net), st.just(net), amount, st.just(-net)))
    group = draw(st.one_of(st.none(), st.just(RevenueGroup("CT-1", draw(maybe_text)))))
    clearing_id = draw(
        st.one_of(
            st.just(f"CLR-{n}"),
            st.sampled_from(["CLR-0", "CLR 1", "", "C" * 41, "CLR-ü", "CLR-'x'"]),
        )
    )
    return Clearing(
        clearing_id=clearing_id,
        settlement_code=draw(maybe_text),
        settlement_date=date(2026, 3, 2),
        currency=currency,
        revenue_group=group,
        lines=tuple(lines),
        records=tuple(recs),
        payout=payout,
    )


@st.composite
def open_items(draw: st.DrawFn) -> list[OpenItem]:
    items = []
    for n in range(draw(st.integers(0, 6))):
        items.append(
            OpenItem(
                item_id=draw(st.one_of(st.just(f"H{n}"), st.sampled_from(["H0", ""]))),
                invoice_number=draw(st.one_of(st.just(str(26700000 + n)), text)),
                customer_id=draw(st.sampled_from(["C1", "C2", "", "C'3"])),
                amount=draw(st.one_of(amount, amount.map(lambda a: -a))),
                currency=draw(st.sampled_from(CURRENCIES)),
                your_ref=draw(maybe_text),
                description=draw(maybe_text),
                payment_reference=draw(maybe_text),
                customer_name=draw(maybe_text),
                customer_email=draw(st.one_of(st.none(), st.sampled_from(["a@x.nl", "'"]))),
                journal=draw(st.sampled_from([None, "70", "71", "'"])),
            )
        )
    return items


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[Clearing], list[OpenItem], Settings]:
    found = [draw(clearings(n)) for n in range(draw(st.integers(1, 3)))]
    profile = draw(st.sampled_from(["generic", "woocommerce", "shopify", "lightspeed", "magento2"]))
    return (
        found,
        draw(open_items()),
        Settings(
            gl=GL,
            currencies=tuple(draw(st.sets(st.sampled_from(CURRENCIES[:6]), min_size=1))),
            standard_debtor=draw(st.sampled_from([None, "STD'1", "  9 "])),
            create_relations=draw(st.booleans()),
            book_inconsistent_difference=draw(st.booleans()),
            profile=profile,
        ),
    )


def check_plan(plan: BookingPlan, clearing: Clearing) -> None:
    q = quantum(plan.currency)
    if plan.status is Status.BLOCKED:
        assert plan.blocked_reason is not None
        assert plan.explanation.strip()
        return
    assert plan.status is Status.READY
    assert plan.balance == 0, plan.lines
    for line in plan.lines:
        assert type(line.amount) is Decimal
        assert line.amount.quantize(q) == line.amount
        assert line.description.startswith(plan.key)
        assert len(line.description) <= 60
        assert line.explanation.strip()
        if line.link is not None:
            assert line.reason in LINK_REASONS
    # every record is booked exactly once, at its own amount and sign
    booked = Counter(line.record_id for line in plan.lines if line.record_id is not None)
    distinct = {r.record_id: r for r in clearing.records}
    assert booked == Counter(list(distinct))
    for line in plan.lines:
        if line.record_id is not None:
            record = distinct[line.record_id]
            sign = 1 if record.kind is RecordKind.PAYMENT else -1
            assert line.amount == sign * record.amount


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(runs())
def test_hostile_runs_plan_or_are_refused_naming_the_field(
    run: tuple[list[Clearing], list[OpenItem], Settings],
) -> None:
    clearings_in, items, engine_settings = run
    refused: InputError | None = None
    try:
        plans = plan_run(clearings_in, items, engine_settings)
    except InputError as exc:
        refused = exc
    if refused is not None:
        assert refused.field
        assert f"field '{refused.field}'" in str(refused)
        assert refused.where
        return
    by_id = {c.clearing_id: c for c in clearings_in}
    assert [p.clearing_id for p in plans] == sorted(by_id)
    for plan in plans:
        check_plan(plan, by_id[plan.clearing_id])
    links = [line.open_item for p in plans for line in p.lines if line.open_item is not None]
    assert len(links) == len(set(links)), "an open item was linked twice"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.decimals(min_value=0, max_value=10**13, places=2), min_size=1, max_size=40),
    st.lists(st.decimals(min_value=0, max_value=10**6, places=2), max_size=3),
)
def test_large_clearings_balance_to_the_cent(payments: list[Decimal], fees: list[Decimal]) -> None:
    """Sums of many large amounts stay exact: no rounding by the decimal context."""
    recs = [
        PaymentRecord(f"R{n}", RecordKind.PAYMENT, a, "EUR", reference=f"ORD{n:05d}")
        for n, a in enumerate(payments)
    ]
    total = sum(payments, Decimal(0))
    fee_total = sum(fees, Decimal(0))
    lines = [
        ClearingLine("L-p", None, "payments", Direction.CREDIT, total, LineKind.PAYMENTS, len(recs))
    ] + [
        ClearingLine(f"F{n}", None, "fees", Direction.DEBIT, f, LineKind.FEES)
        for n, f in enumerate(fees)
    ]
    clearing = Clearing(
        "CLR-BIG", None, date(2026, 3, 2), "EUR", None, tuple(lines), tuple(recs), total - fee_total
    )
    (plan,) = plan_run([clearing], [], Settings(gl=GL))
    assert plan.status is Status.READY, plan.explanation
    check_plan(plan, clearing)
    payout_lines = [line for line in plan.lines if line.gl == GL.payouts]
    assert sum((line.amount for line in payout_lines), Decimal(0)) == -(total - fee_total)


def test_an_amount_too_large_to_book_is_refused_by_name() -> None:
    record = PaymentRecord("R1", RecordKind.PAYMENT, Decimal("1E+20"), "EUR")
    line = ClearingLine("L", None, "payments", Direction.CREDIT, record.amount, LineKind.PAYMENTS)
    clearing = Clearing(
        "CLR-HUGE", None, date(2026, 3, 2), "EUR", None, (line,), (record,), record.amount
    )
    with pytest.raises(InputError, match=r"field '(payout|amount)' is too large"):
        plan_run([clearing], [], Settings(gl=GL))
