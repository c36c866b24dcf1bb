"""The self-check's Exact probes against sandboxes that behave each way: every probe is seen to
hold, to not hold, and to say it cannot tell; results land in the store and drive the refusal."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from target_exactonline.check import run
from target_exactonline.ledger import BookingLedger, LinkedInvoice, make_store_engine
from target_exactonline.probe_store import ProbeStore
from target_exactonline.probes import Outcome
from target_exactonline.sandbox_testing import store_target_tokens, target_config


def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


def check(exact: ExactSandbox, tmp_path: Path) -> tuple[int, str]:
    store_target_tokens(exact, store_url(tmp_path), issued_at=time.time())
    path = tmp_path / "config.json"
    path.write_text(json.dumps(target_config(exact, store_url(tmp_path))))
    out = io.StringIO()
    code = run(["--config", str(path)], stdout=out, environ={})
    return code, out.getvalue()


def probe_line(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name}: " in line)


def recorded(exact: ExactSandbox, tmp_path: Path) -> ProbeStore:
    return ProbeStore(
        make_store_engine(store_url(tmp_path)), division=exact.division, store_key="acme"
    )


def open_invoice(exact: ExactSandbox, your_ref: str) -> dict[str, Any]:
    return next(
        r
        for r in exact.runtime.store.receivables.values()
        if r["YourRef"] == your_ref and r["TransactionType"] == 20
    )


def pay(exact: ExactSandbox, invoice: dict[str, Any], amount: str) -> str:
    """A bank transfer on the invoice's customer with its number in OurRef; its EntryID."""
    store = exact.runtime.store
    debtors = next(g["ID"] for g in store.gl_accounts.values() if g["Code"] == "1300")
    answer = exact.session().post(
        f"{exact.api_url}/financialtransaction/BankEntries",
        json={
            "JournalCode": "20",
            "BankEntryLines": [
                {
                    "Date": "2025-10-10T00:00:00",
                    "GLAccount": debtors,
                    "Account": invoice["Account"],
                    "OurRef": invoice["InvoiceNumber"],
                    "AmountFC": float(amount),
                    "Description": "Bank transfer",
                }
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["d"]["EntryID"]


def link(
    exact: ExactSandbox, tmp_path: Path, invoice: dict[str, Any], entry_id: str | None = None
) -> None:
    """The booking ledger remembers a live run linking this invoice (posted as ``entry_id``)."""
    with BookingLedger.from_url(
        store_url(tmp_path), division=exact.division, store_key="acme"
    ) as ledger:
        if entry_id is not None:
            ledger.plan("CLR-1", booking_key="PX:CLR-1", plan_digest=None, settlement_date=None)
            ledger.start_posting("CLR-1")
            ledger.mark_posted("CLR-1", entry_id=entry_id, entry_number=None)
        ledger.record_links(
            "CLR-1",
            [
                LinkedInvoice(
                    clearing_id="CLR-1",
                    invoice_number=str(invoice["InvoiceNumber"]),
                    receivable_id=invoice["ID"],
                    amount=invoice["AmountFC"],
                    currency="EUR",
                )
            ],
        )


def test_a_fresh_division_holds_the_sign_and_cannot_tell_the_rest(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    code, text = check(exact_sandbox, tmp_path)
    assert code == 0, text
    assert probe_line(text, "receivable_sign").startswith("HELD    receivable_sign: ")
    assert "6 open items follow it (invoice positive), 0 the opposite" in text
    for name in ("partial_open_amount", "partial_last_payment_date"):
        line = probe_line(text, name)
        assert line.startswith(f"COULD NOT TELL {name}: "), line
        assert "looked for a LastPaymentDate" in line
    settlement = probe_line(text, "settlement_model")
    assert settlement.startswith("COULD NOT TELL settlement_model")
    assert "Run the check again after the first live run." in settlement
    assert text.rstrip().endswith("Everything this target needs is in place.")
    latest = recorded(exact_sandbox, tmp_path).latest()
    assert {name: r.outcome for name, r in latest.items()} == {
        "receivable_sign": Outcome.HELD,
        "partial_open_amount": Outcome.COULD_NOT_TELL,
        "partial_last_payment_date": Outcome.COULD_NOT_TELL,
        "settlement_model": Outcome.COULD_NOT_TELL,
    }
    assert recorded(exact_sandbox, tmp_path).refusal("check") is None
    writes = [e for e in exact_sandbox.requests("/api/v1/") if e.method != "GET"]
    assert writes == []


def test_a_partly_paid_invoice_shows_both_amounts_and_its_payment_date(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    invoice = open_invoice(exact_sandbox, "4711")  # 60.50
    pay(exact_sandbox, invoice, "50.00")
    code, text = check(exact_sandbox, tmp_path)
    assert code == 0, text
    number = invoice["InvoiceNumber"]
    assert probe_line(text, "partial_open_amount").startswith("HELD ")
    assert f"invoice {number}: Receivables 60.50, ReceivablesList 10.50" in text
    assert probe_line(text, "partial_last_payment_date").startswith("HELD ")


def test_receivables_signed_the_other_way_fail_the_sign_probe_without_blocking(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    exact = exact_sandbox_factory(receivables_sign="negative")
    code, text = check(exact, tmp_path)
    line = probe_line(text, "receivable_sign")
    assert line.startswith("DID NOT HOLD receivable_sign: ")
    assert "(live runs do not depend on it)" in line
    assert "0 open items follow it (invoice positive), 6 the opposite" in line
    assert "AmountFC -" in line
    assert "Runs read either sign" in line
    assert code == 0, text  # the run reads either sign, so it does not refuse
    assert recorded(exact, tmp_path).refusal("check") is None


def test_a_division_mixing_both_signs_fails_the_sign_probe_and_names_the_item(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    store = exact_sandbox.runtime.store
    item = open_invoice(exact_sandbox, "4711")
    with store.lock:  # this one invoice shows a credit note's sign
        item["AmountFC"], item["AmountDC"] = -item["AmountFC"], -item["AmountDC"]
        store.touch()
    code, text = check(exact_sandbox, tmp_path)
    line = probe_line(text, "receivable_sign")
    assert line.startswith("DID NOT HOLD receivable_sign: ")
    assert "5 open items follow it (invoice positive), 1 the opposite" in line
    assert f"invoice {item['InvoiceNumber']} AmountFC -60.50" in line
    assert "The division mixes both signs" in line
    assert code == 0, text  # runs set such items aside themselves


def test_a_partly_paid_receivable_showing_what_is_left_fails_the_amount_probe(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    exact = exact_sandbox_factory(partial_receivable_amount="remaining")
    invoice = open_invoice(exact, "4711")
    pay(exact, invoice, "50.00")
    code, text = check(exact, tmp_path)
    line = probe_line(text, "partial_open_amount")
    assert line.startswith("DID NOT HOLD partial_open_amount: ")
    assert f"invoice {invoice['InvoiceNumber']}: both 10.50" in line
    # Found by its LastPaymentDate, so the run reads it right and does not refuse.
    assert probe_line(text, "partial_last_payment_date").startswith("HELD ")
    assert code == 0, text


def test_a_partly_paid_invoice_without_payment_date_blocks_live_runs(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    exact = exact_sandbox_factory(partial_sets_last_payment_date=False)
    invoice = open_invoice(exact, "4711")
    pay(exact, invoice, "50.00")
    code, text = check(exact, tmp_path)
    assert code == 1
    line = probe_line(text, "partial_last_payment_date")
    assert line.startswith("DID NOT HOLD partial_last_payment_date: ")
    assert f"invoice {invoice['InvoiceNumber']}: Receivables 60.50, ReceivablesList 10.50" in line
    assert probe_line(text, "partial_open_amount").startswith("HELD ")
    refusal = recorded(exact, tmp_path).refusal("check")
    assert refusal is not None
    assert "partial_last_payment_date did not hold" in refusal


def test_a_partly_paid_invoice_that_shows_nothing_cannot_be_told(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    # Receivables shows what is left and no payment date: nothing tells it is partly paid, and
    # the run reads the right amount from Receivables anyway.
    exact = exact_sandbox_factory(
        partial_receivable_amount="remaining", partial_sets_last_payment_date=False
    )
    pay(exact, open_invoice(exact, "4711"), "50.00")
    code, text = check(exact, tmp_path)
    assert code == 0, text
    for name in ("partial_open_amount", "partial_last_payment_date"):
        assert probe_line(text, name).startswith("COULD NOT TELL "), text


def test_settlement_model_holds_when_linked_invoices_are_settled(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    invoice = open_invoice(exact_sandbox, "4711")
    link(exact_sandbox, tmp_path, invoice)
    # The ledger says it was linked, but Exact still has it open: the fact did not hold.
    code, text = check(exact_sandbox, tmp_path)
    assert code == 1
    line = probe_line(text, "settlement_model")
    assert line.startswith("DID NOT HOLD settlement_model: ")
    assert f"invoice {invoice['InvoiceNumber']} (clearing CLR-1, 60.50) is Status 20" in line
    assert "settlement_model" in text.splitlines()[-1]
    refusal = recorded(exact_sandbox, tmp_path).refusal("target-exactonline check --config x")
    assert refusal is not None
    assert "settlement_model did not hold" in refusal
    assert "run `target-exactonline check --config x` again" in refusal
    # Paid in full with its number: settled, and checking again lifts the refusal.
    pay(exact_sandbox, invoice, "60.50")
    code, text = check(exact_sandbox, tmp_path)
    assert code == 0, text
    assert probe_line(text, "settlement_model").startswith("HELD ")
    assert "1 of 1 invoices linked by live runs are settled" in text
    assert recorded(exact_sandbox, tmp_path).refusal("check") is None


def test_settlement_model_fails_where_exact_does_not_settle_by_our_ref(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    exact = exact_sandbox_factory(links_settle=False)
    invoice = open_invoice(exact, "4711")
    pay(exact, invoice, "60.50")  # as a live run would link it
    link(exact, tmp_path, invoice)
    code, text = check(exact, tmp_path)
    assert code == 1
    assert probe_line(text, "settlement_model").startswith("DID NOT HOLD ")
    latest = recorded(exact, tmp_path).latest()["settlement_model"]
    assert latest.outcome is Outcome.DID_NOT_HOLD
    assert "still open" in latest.seen
    assert latest.advice is not None


def test_an_invoice_open_again_because_its_entry_was_deleted_is_not_held_against_exact(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    invoice = open_invoice(exact_sandbox, "4711")
    entry_id = pay(exact_sandbox, invoice, "60.50")
    link(exact_sandbox, tmp_path, invoice, entry_id)
    code, text = check(exact_sandbox, tmp_path)
    assert probe_line(text, "settlement_model").startswith("HELD ")
    # The bookkeeper deletes the entry: the invoice is open again, through no fault of Exact's.
    deleted = exact_sandbox.session().delete(
        f"{exact_sandbox.api_url}/financialtransaction/BankEntries(guid'{entry_id}')"
    )
    assert deleted.status_code == 204, deleted.text
    assert open_invoice(exact_sandbox, "4711")["Status"] == 20
    code, text = check(exact_sandbox, tmp_path)
    assert code == 0, text
    line = probe_line(text, "settlement_model")
    assert line.startswith("COULD NOT TELL settlement_model: ")
    assert "1 open again because their entry was deleted in Exact" in line


def test_a_probe_whose_read_is_refused_cannot_tell_and_says_why(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    exact_sandbox.inject(
        action="status",
        status=403,
        path="/read/financial/ReceivablesList",
        count=5,
        body={"error": {"code": "", "message": {"lang": "", "value": "Forbidden"}}},
    )
    code, text = check(exact_sandbox, tmp_path)
    line = probe_line(text, "partial_open_amount")
    assert line.startswith("COULD NOT TELL ")
    assert "reading Exact failed" in line
    assert code == 0  # could not tell never blocks


def test_linked_invoices_are_remembered_once_per_division(tmp_path: Path) -> None:
    url = store_url(tmp_path)
    with BookingLedger.from_url(url, division=7, store_key="acme") as ledger:
        one = LinkedInvoice("CLR-1", "25700002", "guid-1", Decimal("60.50"), "EUR", "cust")
        ledger.record_links("CLR-1", [one])
        ledger.record_links("CLR-1", [one])
        assert ledger.recent_links(10) == [one]
    with BookingLedger.from_url(url, division=8, store_key="acme") as other:
        assert other.recent_links(10) == []


def test_a_store_the_results_cannot_reach_is_missing(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    # The tokens live in a store of their own; the store for the results is unreachable.
    store_target_tokens(exact_sandbox, store_url(tmp_path), issued_at=time.time())
    config = target_config(
        exact_sandbox,
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        token_store_url=store_url(tmp_path),
        token_store_key="acme",
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    out = io.StringIO()
    code = run(["--config", str(path)], stdout=out, environ={})
    text = out.getvalue()
    assert code == 1
    assert "MISSING The self-check cannot use the store in store_url (OperationalError)" in text
    assert "nobody" not in text
