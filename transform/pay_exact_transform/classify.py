"""Helpers that turn a provider's raw values into the engine's model.

Both are inferences: Pay. does not document how refunds and chargebacks appear in a
clearing, nor a fixed list of clearing line types. They are kept here, in one place, so the
guesses are easy to find and to correct against real data.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .errors import InputError
from .model import Direction, LineKind, PaymentRecord, RecordKind, new_payment_record

# Words in a DEBIT line type's name, checked in this order (English, Dutch, German).
_DEBIT_WORDS: tuple[tuple[LineKind, tuple[str, ...]], ...] = (
    (LineKind.CHARGEBACKS, ("chargeback", "charge back", "storno", "terugboeking")),
    (LineKind.REFUNDS, ("refund", "terugbetaling", "retour", "rückerstattung", "erstattung")),
    (
        LineKind.FEES,
        ("invoice", "fee", "cost", "kosten", "factuur", "commission", "provisie", "gebühr"),
    ),
)

# Pay. transaction status codes (documented): -70/-71 CHARGEBACK, -81 REFUND, -82 PARTIAL_REFUND.
CHARGEBACK_STATUSES = frozenset({-70, -71})
REFUND_STATUSES = frozenset({-81, -82})


def classify_line(type_id: int | None, type_name: str | None, direction: Direction) -> LineKind:
    """The kind of a clearing line, inferred from its direction and type name.

    CREDIT lines are payments. A DEBIT line whose name mentions a chargeback (storno), a
    refund, or an invoice/fee/costs is that; any other DEBIT line is ``other`` and is booked
    on the unassigned account for a person to look at. ``type_id`` is accepted for callers
    that know their provider's ids; no id is documented well enough to rely on.
    """
    del type_id  # no documented id -> kind table; the name decides
    direction = Direction(direction)
    if direction is Direction.CREDIT:
        return LineKind.PAYMENTS
    name = (type_name or "").casefold()
    for kind, words in _DEBIT_WORDS:
        if any(word in name for word in words):
            return kind
    return LineKind.OTHER


def record_from_signed(
    record_id: str,
    signed_amount: Decimal,
    currency: str,
    *,
    status_code: int | None = None,
    reference: str | None = None,
    description: str | None = None,
    order_id: str | None = None,
    transaction_date: date | None = None,
    extra1: str | None = None,
    extra2: str | None = None,
    extra3: str | None = None,
    customer_email: str | None = None,
    customer_name: str | None = None,
) -> PaymentRecord:
    """A PaymentRecord from a clearing record's signed amount.

    Pay. clearing records are expected to carry refunds and chargebacks as negative amounts
    (inferred; not documented). A negative amount is a refund unless the transaction's status
    code (from the optional enrichment) says chargeback (-70, -71).
    """
    if signed_amount.__class__ is not Decimal:
        got = type(signed_amount).__name__
        raise InputError(f"record {record_id!r}", "amount", f"must be a Decimal, got {got}")
    if signed_amount >= 0:
        kind = RecordKind.PAYMENT
    elif status_code in CHARGEBACK_STATUSES:
        kind = RecordKind.CHARGEBACK
    else:
        kind = RecordKind.REFUND
    # Built without the frozen __init__: a record per payment of a run.
    return new_payment_record(
        record_id=record_id,
        kind=kind,
        amount=abs(signed_amount),
        currency=currency,
        reference=reference,
        description=description,
        order_id=order_id,
        transaction_date=transaction_date,
        extra1=extra1,
        extra2=extra2,
        extra3=extra3,
        customer_email=customer_email,
        customer_name=customer_name,
    )
