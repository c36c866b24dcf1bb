"""Input model: a payment provider's clearing (payout) and a ledger's open items.

Nothing here names a particular ledger: an open item is "an amount a customer still owes (or
is owed) under an invoice number", whichever bookkeeping system it comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")


class Direction(StrEnum):
    """Direction of a clearing line as the provider reports it: money in or money out."""

    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


class LineKind(StrEnum):
    """What a clearing line stands for (see ``classify_line``)."""

    PAYMENTS = "payments"
    REFUNDS = "refunds"
    CHARGEBACKS = "chargebacks"
    FEES = "fees"
    OTHER = "other"


class RecordKind(StrEnum):
    """What a payment record is; the amount is always a positive magnitude."""

    PAYMENT = "payment"
    REFUND = "refund"
    CHARGEBACK = "chargeback"


# The clearing-line kind whose lines announce the records of each record kind.
LINE_KIND_OF: dict[RecordKind, LineKind] = {
    RecordKind.PAYMENT: LineKind.PAYMENTS,
    RecordKind.REFUND: LineKind.REFUNDS,
    RecordKind.CHARGEBACK: LineKind.CHARGEBACKS,
}
RECORD_LINE_KINDS = frozenset(LINE_KIND_OF.values())


@dataclass(frozen=True, slots=True)
class RevenueGroup:
    """The provider's revenue group (Pay. turnover group, ``CT-xxxx-xxxx``)."""

    code: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ClearingLine:
    """One line of a clearing: an aggregate the provider reports (payments, fees, ...)."""

    code: str
    type_id: int | None
    type_name: str
    direction: Direction
    amount: Decimal
    kind: LineKind
    transactions: int | None = None  # records this line announces; None when not reported


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One transaction in a clearing.

    ``amount`` is a positive magnitude; ``kind`` gives the direction. ``extra1..3``,
    ``customer_email`` and ``customer_name`` are optional enrichment that clearing records
    do not carry by themselves.
    """

    record_id: str
    kind: RecordKind
    amount: Decimal
    currency: str
    reference: str | None = None
    description: str | None = None
    order_id: str | None = None
    transaction_date: date | None = None
    extra1: str | None = None
    extra2: str | None = None
    extra3: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None

    def __reduce__(self) -> tuple[Callable[..., PaymentRecord], tuple[object, ...]]:
        # Pickled as its fields in order (a caller may keep a run's records on disk between
        # passes) and built from them by ``new_payment_record``; the dataclass default looks
        # its fields up again for every record.
        return (new_payment_record, record_values(self))


@dataclass(frozen=True, slots=True)
class Clearing:
    """One payout: the unit of booking. ``payout`` is what the provider transferred."""

    clearing_id: str
    settlement_code: str | None
    settlement_date: date
    currency: str
    revenue_group: RevenueGroup | None
    lines: Sequence[ClearingLine]
    records: Sequence[PaymentRecord]
    payout: Decimal


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An outstanding receivable in the ledger.

    ``amount`` is the open amount: positive for an invoice, negative for a credit note.
    ``item_id`` identifies the item itself (an invoice can have several open terms).
    """

    item_id: str
    invoice_number: str
    customer_id: str
    amount: Decimal
    currency: str
    your_ref: str | None = None
    description: str | None = None
    payment_reference: str | None = None
    customer_code: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    journal: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None


class ItemFacts(NamedTuple):
    """What rule 2 reads of an open item to tell whether it can be a candidate. An ``OpenItem``
    has the same attributes, so either can be asked; a lookup that keeps its items elsewhere
    may offer these alone, cheaper to read than whole items (``OpenItemLookup``)."""

    currency: str
    amount: Decimal
    journal: str | None
    invoice_date: date | None


def builder(cls: type[T], name: str) -> Callable[..., T]:
    """A function that builds ``cls``, a frozen dataclass with slots, from all its fields in
    their order, about twice as fast as its ``__init__`` (which sets each field through
    ``object.__setattr__``): for the objects a run makes by the hundred thousand. It takes
    every field, by position or by name, with no defaults, and has no ``__post_init__`` to
    call. ``name``: the module attribute it is kept under (pickle finds it there)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if getattr(cls, "__post_init__", None) is not None or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a plain dataclass with slots")
    # Each field's slot descriptor sets it directly; the function is written out once, as the
    # dataclass machinery writes ``__init__``.
    setters = {f"_set_{field}": getattr(cls, field).__set__ for field in names}
    body = "".join(f"    _set_{field}(self, {field})\n" for field in names)
    source = f"def build({', '.join(names)}):\n    self = _new(_cls)\n{body}    return self\n"
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls, **setters}
    exec(source, scope)  # noqa: S102 (the text is built from the field names above)
    build = scope["build"]
    build.__qualname__ = build.__name__ = name
    build.__module__ = cls.__module__
    return build


new_payment_record = builder(PaymentRecord, "new_payment_record")
new_open_item = builder(OpenItem, "new_open_item")
_RECORD_FIELDS = tuple(f.name for f in fields(PaymentRecord))
record_values = attrgetter(*_RECORD_FIELDS)  # a record's field values, as one tuple
