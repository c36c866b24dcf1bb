"""Line descriptions (for the ledger, at most 60 characters) and explanations (for people)."""

from __future__ import annotations

from .model import OpenItem, PaymentRecord, RecordKind
from .plan import MAX_CANDIDATES, MAX_DESCRIPTION

KIND_WORD = {
    RecordKind.PAYMENT: "payment",
    RecordKind.REFUND: "refund",
    RecordKind.CHARGEBACK: "chargeback",
}


def clean(text: str) -> str:
    """Single spaces, printable characters only."""
    if text.isprintable():
        return " ".join(text.split())
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def line_description(key: str, body: str) -> str:
    """``key`` + space + body, cut at the ledger's 60 characters (the key is never cut)."""
    return f"{key} {clean(body)}"[:MAX_DESCRIPTION]


def record_label(record: PaymentRecord) -> str:
    """The most recognisable text of a payment: its reference, else description, else ids."""
    return record.reference or record.description or record.order_id or record.record_id


def customer_label(item: OpenItem) -> str:
    return item.customer_name or item.customer_code or item.customer_id


def invoice_list(items: list[OpenItem]) -> tuple[tuple[str, ...], int]:
    """Sorted invoice numbers (at most MAX_CANDIDATES) and how many there were."""
    numbers = sorted({(i.invoice_number, i.item_id) for i in items})
    shown = tuple(number for number, _ in numbers[:MAX_CANDIDATES])
    return shown, len(numbers)


def refs_text(keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    if not keys:
        return "none"
    shown = ", ".join(sorted(keys)[:3])
    more = len(keys) - 3
    return f"{shown} (+{more} more)" if more > 0 else shown
