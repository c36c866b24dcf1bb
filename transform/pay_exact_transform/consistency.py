"""Is a clearing complete and does it add up? Checked before anything is planned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .model import (
    LINE_KIND_OF,
    RECORD_LINE_KINDS,
    Clearing,
    ClearingLine,
    Direction,
    LineKind,
    PaymentRecord,
    RecordKind,
)
from .money import ZERO, fmt
from .plan import BlockReason, Totals


@dataclass(frozen=True, slots=True)
class Check:
    """Outcome of the checks: the totals and the first problem found (None when fine)."""

    totals: Totals
    problem: BlockReason | None
    explanation: str


def signed_line(direction: Direction, amount: Decimal) -> Decimal:
    return amount if direction is Direction.CREDIT else -amount


def check_clearing(
    clearing: Clearing,
    lines: Sequence[ClearingLine],
    records: Sequence[PaymentRecord],
    currencies: tuple[str, ...],
) -> Check:
    """Check currency, completeness and totals of a validated clearing.

    Consistent: payments - refunds - chargebacks - fees == payout, and the signed sum of the
    clearing lines (CREDIT +, DEBIT -) == payout. Fees are the fee and other lines, the
    deductions that have no payment record. Incomplete: fewer records of a kind than its
    lines announce, or record totals that differ from the lines of that kind (per kind when
    every record kind has lines of its own, else over all record lines together).
    ``lines`` and ``records`` are the clearing's own, without repeats.
    """
    currency = clearing.currency
    by_kind: dict[RecordKind, Decimal] = dict.fromkeys(RecordKind, ZERO)
    count: dict[RecordKind, int] = dict.fromkeys(RecordKind, 0)
    foreign: str | None = None
    for record in records:
        by_kind[record.kind] += record.amount
        count[record.kind] += 1
        if foreign is None and record.currency != currency:
            foreign = f"record {record.record_id!r} is in {record.currency}"

    line_total: dict[LineKind, Decimal] = dict.fromkeys(LineKind, ZERO)
    announced: dict[LineKind, int | None] = dict.fromkeys(LineKind, 0)
    kinds_with_lines: set[LineKind] = set()
    lines_net = ZERO
    for line in lines:
        signed = signed_line(line.direction, line.amount)
        lines_net += signed
        line_total[line.kind] += signed
        kinds_with_lines.add(line.kind)
        so_far = announced[line.kind]
        announced[line.kind] = (
            None if so_far is None or line.transactions is None else so_far + line.transactions
        )

    payments = by_kind[RecordKind.PAYMENT]
    refunds = by_kind[RecordKind.REFUND]
    chargebacks = by_kind[RecordKind.CHARGEBACK]
    fees = -(line_total[LineKind.FEES] + line_total[LineKind.OTHER])
    payout = clearing.payout
    difference = payout - (payments - refunds - chargebacks - fees)
    totals = Totals(
        payments=payments,
        refunds=refunds,
        chargebacks=chargebacks,
        fees=fees,
        payout=payout,
        lines_net=lines_net,
        difference=difference,
    )

    def blocked(problem: BlockReason, text: str) -> Check:
        return Check(totals, problem, text)

    if currency not in currencies:
        accepted = ", ".join(currencies)
        return blocked(
            BlockReason.CURRENCY_NOT_SUPPORTED,
            f"The clearing is in {currency}; the ledger accepts {accepted}.",
        )
    if foreign is not None:
        return blocked(
            BlockReason.CURRENCY_NOT_SUPPORTED,
            f"The clearing is in {currency} but {foreign}; mixed currencies are not booked.",
        )
    if lines and lines_net != payout:
        return blocked(
            BlockReason.TOTALS_INCONSISTENT,
            f"The clearing lines add up to {fmt(lines_net, currency)} but the payout is "
            f"{fmt(payout, currency)}.",
        )
    for record_kind, line_kind in LINE_KIND_OF.items():
        expected = announced[line_kind]
        if line_kind in kinds_with_lines and expected is not None and count[record_kind] < expected:
            return blocked(
                BlockReason.RECORDS_INCOMPLETE,
                f"The {line_kind.value} lines announce {expected} transactions; "
                f"{count[record_kind]} records arrived.",
            )
    record_kinds = {LINE_KIND_OF[k] for k in RecordKind if count[k]}
    record_lines = kinds_with_lines & RECORD_LINE_KINDS
    if record_lines:
        sign = {RecordKind.PAYMENT: 1, RecordKind.REFUND: -1, RecordKind.CHARGEBACK: -1}
        if record_kinds <= record_lines:
            for record_kind, line_kind in LINE_KIND_OF.items():
                got = by_kind[record_kind] * sign[record_kind]
                want = line_total[line_kind]
                if line_kind in record_lines and got != want:
                    return blocked(
                        BlockReason.RECORDS_INCOMPLETE,
                        f"The {line_kind.value} records add up to {fmt(got, currency)}; their "
                        f"lines say {fmt(want, currency)}.",
                    )
        else:
            got = payments - refunds - chargebacks
            want = sum((line_total[k] for k in RECORD_LINE_KINDS), ZERO)
            if got != want:
                return blocked(
                    BlockReason.RECORDS_INCOMPLETE,
                    f"The records add up to {fmt(got, currency)}; the payment, refund and "
                    f"chargeback lines say {fmt(want, currency)}.",
                )
    if difference != ZERO:
        return blocked(
            BlockReason.TOTALS_INCONSISTENT,
            f"Payments {fmt(payments, currency)} - refunds {fmt(refunds, currency)} - "
            f"chargebacks {fmt(chargebacks, currency)} - fees {fmt(fees, currency)} differ "
            f"from the payout {fmt(payout, currency)} by {fmt(difference, currency)}.",
        )
    return Check(totals, None, "The clearing is complete and adds up.")
