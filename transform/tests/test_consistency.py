"""Clearing checks: inconsistent totals, incomplete records, currencies; and plan layout."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from pay_exact_transform import (
    BlockReason,
    ClearingLine,
    Direction,
    LineKind,
    Reason,
    RecordKind,
    Role,
    Status,
    plan_run,
)


def _plan(kit, clearing, items=(), **settings):
    (plan,) = plan_run([clearing], list(items), kit.settings(**settings))
    return plan


def test_consistent_clearing_books_payments_fees_and_payout_in_balance(kit):
    items = [kit.item("1", "100.00", your_ref="ORD1001")]
    records = [
        kit.pay("R1", "100.00", reference="ORD1001"),
        kit.pay("R2", "30.00", RecordKind.REFUND, reference="ORD9"),
    ]
    plan = _plan(kit, kit.clearing(records, fees=("1.25", "0.50")), items)
    assert plan.status is Status.READY
    assert plan.balance == 0
    assert [(line.reason, line.amount) for line in plan.lines] == [
        (Reason.MATCHED, Decimal("100.00")),
        (Reason.UNASSIGNED, Decimal("-30.00")),
        (Reason.FEE, Decimal("-1.25")),
        (Reason.FEE, Decimal("-0.50")),
        (Reason.PAYOUT, Decimal("-68.25")),
    ]
    fee = plan.lines[2]
    assert fee.role is Role.PSP_COSTS
    assert fee.gl == "4500"
    payout = plan.lines[-1]
    assert payout.role is Role.PAYOUTS
    assert payout.gl == "2200"
    assert plan.totals.fees == Decimal("1.75")
    assert plan.totals.difference == 0


def test_payout_that_differs_from_the_lines_blocks_as_totals_inconsistent(kit):
    clearing = kit.clearing([kit.pay("R1", "10.00")], fees=("0.30",), payout="9.00")
    plan = _plan(kit, clearing)
    assert plan.status is Status.BLOCKED
    assert plan.blocked_reason is BlockReason.TOTALS_INCONSISTENT
    assert plan.lines == ()
    assert "9.70" in plan.explanation
    assert "retried" in plan.explanation


def test_fewer_records_than_announced_blocks_as_records_incomplete(kit):
    line = ClearingLine(
        "L1", 706, "iDEAL", Direction.CREDIT, Decimal("30.00"), LineKind.PAYMENTS, 3
    )
    records = [kit.pay("R1", "10.00"), kit.pay("R2", "20.00")]
    plan = _plan(kit, kit.clearing(records, lines=[line]))
    assert plan.blocked_reason is BlockReason.RECORDS_INCOMPLETE
    assert "announce 3" in plan.explanation


def test_record_totals_that_disagree_with_their_lines_block_as_incomplete(kit):
    lines = [
        ClearingLine("L1", 1, "iDEAL", Direction.CREDIT, Decimal("50.00"), LineKind.PAYMENTS, 1),
        ClearingLine("L2", 2, "Refund", Direction.DEBIT, Decimal("10.00"), LineKind.REFUNDS, 1),
    ]
    records = [kit.pay("R1", "45.00"), kit.pay("R2", "5.00", RecordKind.REFUND)]
    plan = _plan(kit, kit.clearing(records, lines=lines, payout="40.00"))
    assert plan.blocked_reason is BlockReason.RECORDS_INCOMPLETE


def test_refunds_netted_into_the_payment_line_are_checked_together(kit):
    lines = [
        ClearingLine("L1", 1, "iDEAL", Direction.CREDIT, Decimal("40.00"), LineKind.PAYMENTS),
    ]
    records = [kit.pay("R1", "50.00"), kit.pay("R2", "10.00", RecordKind.REFUND)]
    plan = _plan(kit, kit.clearing(records, lines=lines))
    assert plan.status is Status.READY
    assert plan.balance == 0


def test_allowed_inconsistent_clearing_books_the_difference_on_unassigned(kit):
    clearing = kit.clearing([kit.pay("R1", "10.00")], fees=("0.30",), payout="9.00")
    plan = _plan(kit, clearing, book_inconsistent_difference=True)
    assert plan.status is Status.READY
    assert plan.balance == 0
    (difference,) = [line for line in plan.lines if line.reason is Reason.INCONSISTENT_DIFFERENCE]
    assert difference.amount == Decimal("-0.70")
    assert difference.role is Role.UNASSIGNED
    assert difference.flagged
    assert "booked_despite_totals_inconsistent" in plan.flags


def test_allowed_incomplete_clearing_books_the_missing_records_as_difference(kit):
    line = ClearingLine(
        "L1", 706, "iDEAL", Direction.CREDIT, Decimal("30.00"), LineKind.PAYMENTS, 2
    )
    plan = _plan(
        kit,
        kit.clearing([kit.pay("R1", "10.00")], lines=[line]),
        book_inconsistent_difference=True,
    )
    assert plan.status is Status.READY
    assert plan.balance == 0
    assert plan.lines[-2].reason is Reason.INCONSISTENT_DIFFERENCE
    assert plan.lines[-2].amount == Decimal("20.00")


def test_clearing_in_an_unsupported_currency_is_blocked_even_when_differences_may_be_booked(
    kit,
):
    clearing = kit.clearing([kit.pay("R1", "10.00", currency="USD")], currency="USD")
    plan = _plan(kit, clearing, book_inconsistent_difference=True)
    assert plan.blocked_reason is BlockReason.CURRENCY_NOT_SUPPORTED
    plan = _plan(kit, clearing, currencies=("EUR", "USD"))
    assert plan.status is Status.READY


def test_record_in_another_currency_than_its_clearing_blocks(kit):
    clearing = kit.clearing([kit.pay("R1", "10.00", currency="GBP")])
    plan = _plan(kit, clearing, currencies=("EUR", "GBP"))
    assert plan.blocked_reason is BlockReason.CURRENCY_NOT_SUPPORTED
    assert "'R1'" in plan.explanation


def test_blocked_clearing_still_claims_its_open_items_in_the_run(kit):
    items = [kit.item("1", "10.00", your_ref="ORD1001")]
    good = kit.clearing([kit.pay("R1", "10.00", reference="ORD1001")], clearing_id="A")
    bad = kit.clearing(
        [kit.pay("R2", "10.00", reference="ORD1001")], clearing_id="B", payout="1.00"
    )
    plans = plan_run([good, bad], items, kit.settings())
    assert plans[1].status is Status.BLOCKED
    assert kit.line(plans[0], "R1").reason is Reason.CLAIMED_TWICE


def test_other_lines_are_booked_on_unassigned_and_flagged(kit):
    lines = [
        ClearingLine("L1", 1, "iDEAL", Direction.CREDIT, Decimal("50.00"), LineKind.PAYMENTS, 1),
        ClearingLine("L9", 99, "Reserve", Direction.DEBIT, Decimal("5.00"), LineKind.OTHER),
    ]
    plan = _plan(kit, kit.clearing([kit.pay("R1", "50.00")], lines=lines))
    assert plan.status is Status.READY
    (other,) = [line for line in plan.lines if line.reason is Reason.OTHER_LINE]
    assert other.role is Role.UNASSIGNED
    assert other.amount == Decimal("-5.00")
    assert other.flagged
    assert plan.lines[-1].amount == Decimal("-45.00")


def test_negative_payout_books_as_money_in_on_the_transit_account(kit):
    records = [kit.pay("R1", "10.00"), kit.pay("R2", "25.00", RecordKind.REFUND)]
    plan = _plan(kit, kit.clearing(records))
    assert plan.status is Status.READY
    assert plan.lines[-1].reason is Reason.PAYOUT
    assert plan.lines[-1].amount == Decimal("15.00")
    assert plan.balance == 0


def test_amounts_are_quantized_to_the_currency(kit):
    clearing = kit.clearing([kit.pay("R1", "10")], payout="10")
    plan = _plan(kit, clearing)
    assert [str(line.amount) for line in plan.lines] == ["10.00", "-10.00"]


def test_a_clearing_line_delivered_twice_counts_once(kit):
    clearing = kit.clearing([kit.pay("R1", "10.00")], fees=("0.30",))
    repeated = replace(clearing, lines=(*clearing.lines, clearing.lines[-1]))
    plan = _plan(kit, repeated)
    assert plan.status is Status.READY
    assert [line.reason for line in plan.lines].count(Reason.FEE) == 1
