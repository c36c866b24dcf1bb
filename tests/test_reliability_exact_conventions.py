"""Exact divisions that show receivables the other way: amounts negative for an invoice (as one
public account reports), and a division whose rows disagree among themselves. The run links the
same invoices either way, a disagreeing row is named and not linked, and every clearing is
booked exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from target_exactonline.report import Outcome


def linked(run: Any) -> set[str]:
    """Invoice and credit-note numbers the run linked payments to."""
    assert run.target is not None
    assert run.target.result is not None, run.stderr[-2000:]
    report = run.target.result.report
    return {line.invoice for c in report.clearings for line in c.lines if line.invoice}


def settled(books: Any) -> set[str]:
    """Open items the sandbox settled (Status 50) by a payment."""
    return {
        str(r["InvoiceNumber"])
        for r in books.exact.dump()["receivables"]
        if r["Status"] == 50 and r["InvoiceNumber"] is not None
    }


def credit_notes(books: Any) -> set[str]:
    truth = books.kit.exact_data.truth["exact"]
    return {
        str(r["credit_note_number"])
        for r in truth["reversals"].values()
        if r.get("credit_note_number") is not None
    }


def test_both_receivable_sign_conventions_link_the_same_invoices(
    books_factory: Callable[..., Any], rows: Callable[..., None]
) -> None:
    results = {}
    for ref, convention in (("R1", "positive"), ("R2", "negative")):
        books = books_factory(receivables_sign=convention)
        before = settled(books)  # settled by the division's own history
        run = books.run()
        assert run.error is None, run.stderr[-3000:]
        tally = books.tally()
        assert tally.exactly_once, tally
        assert not run.target.result.report.problems  # nothing looked doubtful
        results[convention] = linked(run)
        assert settled(books) - before == results[convention]  # Exact settled what was linked
        rows(
            ref,
            "bad input",
            fault=f"Exact shows receivable amounts {convention} for an invoice"
            + (" (the remaining amount)" if convention == "negative" else ""),
            where="cashflow/Receivables",
            tally=tally,
            outcome=f"1 run booked all {tally.found}, {len(results[convention])} invoices and "
            "credit notes linked",
        )
    assert results["positive"] == results["negative"]
    assert len(results["positive"]) > 20
    assert results["positive"] & credit_notes(books)  # refunds linked to credit notes too


def test_a_receivable_signed_against_the_rest_is_named_and_not_linked(
    books: Any, rows: Callable[..., None]
) -> None:
    truth = books.kit.exact_data.truth["exact"]
    number = min(
        o["invoice_numbers"][0]
        for o in truth["orders"].values()
        if o["case"] == "matched" and o["platform"] == "woocommerce"
    )
    store = books.exact.runtime.store
    with store.lock:  # the division shows this one invoice with a credit note's sign
        (item,) = [r for r in store.receivables_for_invoice(number) if r["TransactionType"] == 20]
        original = item["AmountFC"], item["AmountDC"]
        item["AmountFC"], item["AmountDC"] = -original[0], -original[1]
        store.touch()
    run = books.run()
    assert run.error is not None  # one clearing was not booked
    report = run.target.result.report
    (problem,) = report.problems
    assert str(number) in problem
    assert "TransactionType" in problem
    waiting = [c for c in report.clearings if c.outcome is not Outcome.BOOKED]
    assert len(waiting) == 1
    assert str(number) in (waiting[0].reason or "")
    assert {c.outcome for c in report.clearings} == {Outcome.BOOKED, Outcome.BLOCKED}
    assert waiting[0].clearing_id not in books.entries()
    assert item["Status"] == 20  # not settled on a doubtful amount
    assert item["AmountFC"] < Decimal(0)

    with store.lock:  # the bookkeeper corrects the item
        item["AmountFC"], item["AmountDC"] = original
        store.touch()
    again = books.run()
    assert again.error is None, again.stderr[-3000:]
    tally = books.tally()
    assert tally.exactly_once, tally
    assert str(number) in linked(again)
    assert item["Status"] == 50
    rows(
        "R3",
        "bad input",
        fault="one invoice signed like a credit note, against the division's other receivables",
        where="cashflow/Receivables",
        tally=tally,
        outcome="the run named the invoice and its clearing waited, the others booked; once "
        "the item was right the next run linked and booked it",
    )
