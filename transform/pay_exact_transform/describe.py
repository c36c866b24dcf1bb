"""Line descriptions (for the ledger, at most 60 characters) and explanations (for people)."""

from __future__ import annotations

from collections.abc import Sequence

from .model import OpenItem, PaymentRecord, RecordKind
from .plan import MAX_CANDIDATES, MAX_DESCRIPTION

# Between the fields of a line's notes; a record's id is followed by a space or this.
NOTES_SEPARATOR = " | "

KIND_WORD = {
    RecordKind.PAYMENT: "payment",
    RecordKind.REFUND: "refund",
    RecordKind.CHARGEBACK: "chargeback",
}


def clean(text: str) -> str:
    """Single spaces, printable characters only."""
    if text.isprintable():
        if "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text  # the common case, already clean: no new string
        return " ".join(text.split())
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def line_description(
    key: str, word: str = "", codes: Sequence[str | None] = (), label: str = ""
) -> str:
    """A ledger line description of at most 60 characters that never cuts a word or a code.

    ``key`` comes first and whole, then ``word`` (what the line is: "payment", "payout"), the
    words of ``label`` and ``codes``. Room goes to ``word`` first, then to the codes in the
    order given, each written whole or not at all, then to the label's words from the front.
    Cutting a code would leave another valid-looking code ("FT-3148-5366-9453F" cut to
    "FT-3148-5366-9453"), so a code that does not fit is left to the line's notes instead.
    """
    room = MAX_DESCRIPTION - len(key)
    out = [key]
    if word and len(word) < room:
        out.append(word)
        room -= len(word) + 1
    kept: list[str] = []
    for code in codes:
        if code:
            text = clean(code)
            size = len(text)
            if size and size < room and text not in kept:
                kept.append(text)
                room -= size + 1
    if label:
        for part in clean(label).split():
            if len(part) >= room:
                break
            out.append(part)
            room -= len(part) + 1
    out.extend(kept)
    return " ".join(out)


def record_codes(record: PaymentRecord) -> tuple[str | None, ...]:
    """What identifies a payment in a line description, most useful first: the merchant's
    reference, the provider's transaction id, the customer's e-mail, the order id and the
    payment's description (often one text for every payment of a webshop)."""
    return (
        record.reference,
        record.record_id,
        record.customer_email,
        record.order_id,
        record.description,
    )


def record_notes(record: PaymentRecord) -> str:
    """Every identifying field of a payment in full, for the ledger line's notes."""
    # Written out rather than looped over (name, value) pairs: this runs once per payment.
    parts = [f"transaction {clean(record.record_id)}"]
    if record.order_id:
        parts.append(f"order {clean(record.order_id)}")
    if record.reference:
        parts.append(f"reference {clean(record.reference)}")
    if record.description:
        parts.append(f"description {clean(record.description)}")
    if record.customer_email:
        parts.append(f"e-mail {clean(record.customer_email)}")
    if record.customer_name:
        parts.append(f"name {clean(record.customer_name)}")
    return NOTES_SEPARATOR.join(parts)


def item_word(item: OpenItem) -> str:
    """An open item as a bookkeeper calls it: a negative one is a credit note."""
    return "credit note" if item.amount < 0 else "invoice"


def customer_label(item: OpenItem) -> str:
    """The customer as the ledger shows it: the name with the account code beside it."""
    if item.customer_name and item.customer_code:
        return f"{item.customer_name}, account {item.customer_code.strip()}"
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
