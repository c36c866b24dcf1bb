"""Open items read the same whichever sign Exact gives receivable amounts: invoice or credit note
from TransactionType, the open amount from the magnitude, a disagreement named."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from target_exactonline import context as ctx
from target_exactonline.open_item_store import OpenItemStore
from target_exactonline.receivable_signs import SignedRow, read_signs
from target_exactonline.sandbox_testing import (
    store_target_tokens,
    target_client_factory,
    target_config,
)


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
    as_positive = ctx.read_receivables(Rows(positive, []))
    as_negative = ctx.read_receivables(Rows(negative, []))
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
    read = ctx.read_receivables(client)
    assert _amounts(read) == {"1": Decimal("100.00"), "2": Decimal("-4.20")}
    assert client.paths == [ctx.RECEIVABLES, ctx.RECEIVABLES_LIST]


def test_a_row_against_the_divisions_convention_is_named_not_flipped() -> None:
    rows = [
        _row(1, 20, "121.00"),
        _row(2, 20, "60.50"),
        _row(3, 21, "-24.20"),
        _row(4, 20, "-80.00"),  # an invoice signed like a credit note: the odd one out
    ]
    read = ctx.read_receivables(Rows(rows, []))
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
    read = ctx.read_receivables(Rows(rows, []))
    assert _amounts(read) == {"2": Decimal("10.00")}


# -- against the sandbox, set each way ------------------------------------------------------


def _sandbox_client(sandbox: Any, tmp_path: Path) -> Any:
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store_target_tokens(sandbox, store_url)
    return target_client_factory(sandbox, target_config(sandbox, store_url))(None)


def _pay_part(sandbox: Any, your_ref: str, amount: str) -> int:
    """Books a bank line paying ``amount`` of the invoice with ``your_ref``; its number."""
    dump = sandbox.dump()
    gl = {g["Code"]: g["ID"] for g in dump["gl_accounts"]}
    item = next(
        r for r in dump["receivables"] if r["YourRef"] == your_ref and r["TransactionType"] == 20
    )
    line = {
        "Date": "2026-03-08T00:00:00",
        "GLAccount": gl["1300"],
        "Account": item["Account"],
        "OurRef": item["InvoiceNumber"],
        "AmountFC": amount,
    }
    payout = {"Date": line["Date"], "GLAccount": gl["2050"], "AmountFC": f"-{amount}"}
    with sandbox.session() as http:
        answer = http.post(
            f"{sandbox.api_url}/financialtransaction/BankEntries",
            json={"JournalCode": "25", "BankEntryLines": [line, payout]},
            timeout=10,
        )
    assert answer.status_code == 201, answer.text
    return int(item["InvoiceNumber"])


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"receivables_sign": "negative"},
        {"partial_receivable_amount": "remaining"},
        {"partial_receivable_amount": "remaining", "partial_sets_last_payment_date": False},
        {"receivables_sign": "negative", "partial_sets_last_payment_date": False},
    ],
    ids=["reference", "negative", "remaining", "remaining-no-date", "negative-no-date"],
)
# Left out: the full amount with no LastPaymentDate, where nothing in the receivable tells a
# part payment; the self-check's probes refuse a live run on such a division.
def test_a_part_paid_invoice_reads_what_is_left_whichever_way_exact_shows_it(
    exact_sandbox_factory: Any, tmp_path: Path, settings: dict[str, Any]
) -> None:
    sandbox = exact_sandbox_factory(**settings)
    number = _pay_part(sandbox, "4711", "20.00")
    read = ctx.read_receivables(_sandbox_client(sandbox, tmp_path))
    invoices = {item.your_ref: item for item in read.items if item.amount > 0}
    credit_notes = {item.your_ref: item for item in read.items if item.amount < 0}
    assert invoices["4711"].invoice_number == str(number)
    assert invoices["4711"].amount == Decimal("40.50")  # 60.50 less the 20.00 paid
    assert invoices["ORD00012"].amount == Decimal("121.00")
    assert {ref: c.amount for ref, c in credit_notes.items()} == {"ORD00012": Decimal("-24.20")}
    assert not read.signs.disagreement
    assert read.signs.convention == settings.get("receivables_sign", "positive")


@pytest.mark.parametrize(
    ("rows", "listed"),
    [
        (  # partly paid (one left, one gone), one against the convention, a cash-flow row
            [
                _row(1, 20, "-121.00", LastPaymentDate="/Date(1760400000000)/"),
                _row(2, 21, "24.20"),
                _row(3, 20, "-60.50", LastPaymentDate="/Date(1760400000000)/"),
                _row(4, 20, "80.00"),
                _row(5, 21, "12.00"),
                {**_row(6, 40, "5.00")},
            ],
            [{"InvoiceNumber": 1, "AccountId": "acc-1", "Amount": Decimal("100.00")}],
        ),
        ([_row(1, 20, "10.00"), _row(2, 20, "-10.00")], []),  # a tie
    ],
)
def test_open_items_written_to_the_store_are_those_read_into_memory(rows, listed) -> None:
    in_memory = ctx.read_receivables(Rows(rows, listed))
    with OpenItemStore() as store:
        signs = ctx.read_receivables_into(Rows(rows, listed), store)
        assert list(store.items) == in_memory.items
        assert len(store) == len(in_memory.items)
    assert signs == in_memory.signs
