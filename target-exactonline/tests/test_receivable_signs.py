"""Open items read the same whichever sign Exact gives receivable amounts: invoice or credit note
from TransactionType, the open amount from the magnitude, a disagreement named."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from target_exactonline import context as ctx
from target_exactonline.receivable_signs import SignedRow, read_signs


class Rows:
    """A read client serving fixed rows per entity path."""

    def __init__(self, receivables: list[dict[str, Any]], listed: list[dict[str, Any]]) -> None:
        self.receivables = receivables
        self.listed = listed
        self.paths: list[str] = []

    def get_all(self, entity_path: str, **_: Any) -> Iterable[dict[str, Any]]:
        self.paths.append(entity_path)
        return self.receivables if entity_path == ctx.RECEIVABLES else self.listed


def _row(number: int, kind: int, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "ID": f"id-{number}",
        "Account": "acc-1",
        "AmountFC": Decimal(amount),
        "Currency": "EUR",
        "InvoiceNumber": number,
        "Journal": "70",
        "TransactionType": kind,
        "YourRef": f"ORD{number}",
        **extra,
    }


def _amounts(read: ctx.ReceivablesRead) -> dict[str, Decimal]:
    return {item.invoice_number: item.amount for item in read.items}


def test_both_conventions_give_the_same_open_items() -> None:
    positive = [_row(1, 20, "121.00"), _row(2, 21, "-24.20"), _row(3, 40, "-50.00")]
    negative = [_row(1, 20, "-121.00"), _row(2, 21, "24.20"), _row(3, 40, "50.00")]
    as_positive = ctx.read_receivables(Rows(positive, []), None)
    as_negative = ctx.read_receivables(Rows(negative, []), None)
    expected = {"1": Decimal("121.00"), "2": Decimal("-24.20")}  # cash-flow row 40 left out
    assert _amounts(as_positive) == expected
    assert _amounts(as_negative) == expected
    assert as_positive.signs.convention == "positive"
    assert as_negative.signs.convention == "negative"
    assert not as_positive.signs.disagreement
    assert not as_negative.signs.disagreement


def test_part_paid_amounts_from_receivables_list_keep_the_kind() -> None:
    rows = [
        _row(1, 20, "-121.00", LastPaymentDate="/Date(1760400000000)/"),
        _row(2, 21, "24.20", LastPaymentDate="/Date(1760400000000)/"),
    ]
    listed = [
        {"InvoiceNumber": 1, "AccountId": "acc-1", "Amount": Decimal("100.00")},
        {"InvoiceNumber": 2, "AccountId": "acc-1", "Amount": Decimal("-4.20")},
    ]
    client = Rows(rows, listed)
    read = ctx.read_receivables(client, None)
    assert _amounts(read) == {"1": Decimal("100.00"), "2": Decimal("-4.20")}
    assert client.paths == [ctx.RECEIVABLES, ctx.RECEIVABLES_LIST]


def test_a_row_against_the_divisions_convention_is_named_not_flipped() -> None:
    rows = [
        _row(1, 20, "121.00"),
        _row(2, 20, "60.50"),
        _row(3, 21, "-24.20"),
        _row(4, 20, "-80.00"),  # an invoice signed like a credit note: the odd one out
    ]
    read = ctx.read_receivables(Rows(rows, []), None)
    # Still an invoice of 80.00 for the engine: its kind comes from TransactionType.
    assert _amounts(read)["4"] == Decimal("80.00")
    signs = read.signs
    assert signs.convention == "positive"
    assert signs.counts == {"positive": 3, "negative": 1}
    assert signs.doubtful_invoices == frozenset({"4"})
    text = signs.describe()
    for words in ("4", "TransactionType", "'positive'"):
        assert words in text
    assert signs.blocks(["1", None, "3"]) is None
    reason = signs.blocks(["1", "4"])
    assert reason is not None
    assert "4" in reason
    assert "retried next run" in reason


def test_a_tie_trusts_neither_side() -> None:
    reading = read_signs(
        [SignedRow(1, 20, Decimal("10")), SignedRow(2, 20, Decimal("-10")), SignedRow(3, 20, 0)]
    )
    assert reading.convention is None
    assert reading.doubtful_invoices == frozenset({"1", "2"})  # a zero amount says nothing
    assert "as many open items" in reading.describe()


def test_zero_amounts_and_missing_kinds_are_not_open_items() -> None:
    rows = [
        _row(1, 20, "0.00"),
        _row(2, 20, "10.00"),
        {**_row(3, 20, "5.00"), "TransactionType": None},
    ]
    read = ctx.read_receivables(Rows(rows, []), None)
    assert _amounts(read) == {"2": Decimal("10.00")}
