"""Exact behaviours the references leave open, each switchable so the product is tried both ways:
the sign of receivable amounts, a part-paid receivable's amount, and its LastPaymentDate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
from pay_exact_sandbox import cli
from pay_exact_sandbox.exact.config import ExactConfig
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.generator import generate

SELECT = (
    "InvoiceNumber,TransactionType,AmountDC,AmountFC,LastPaymentDate,YourRef,TransactionAmountDC"
)


def _receivables(sandbox: ExactSandbox, path: str = "cashflow/Receivables") -> dict[Any, Any]:
    with sandbox.session() as http:
        rows = http.get(
            f"{sandbox.api_url}/{path}",
            params={"$select": SELECT, "$filter": "Status eq 20"},
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
    return {(r["YourRef"], r["TransactionType"]): r for r in rows}


def _pay_part(sandbox: ExactSandbox, your_ref: str, amount: str) -> None:
    """Books a bank line paying ``amount`` of the invoice with ``your_ref`` (and its payout)."""
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
        "AmountFC": Decimal(amount),
    }
    payout = {**line, "GLAccount": gl["2050"], "AmountFC": -Decimal(amount)}
    del payout["Account"], payout["OurRef"]
    body = {"JournalCode": "25", "BankEntryLines": [line, payout]}
    with sandbox.session() as http:
        answer = http.post(
            f"{sandbox.api_url}/financialtransaction/BankEntries", data=dumps(body), timeout=10
        )
    assert answer.status_code == 201, answer.text


def test_defaults_follow_the_references_inference(exact_sandbox: ExactSandbox) -> None:
    assert ExactConfig().behaviour() == {
        "receivables_sign": "positive",
        "partial_receivable_amount": "original",
        "partial_sets_last_payment_date": True,
        "strict_opening_balance": True,
    }
    _pay_part(exact_sandbox, "4711", "20.00")
    rows = _receivables(exact_sandbox)
    invoice, credit_note = rows[("4711", 20)], rows[("ORD00012", 21)]
    assert invoice["AmountDC"] == Decimal("60.50")  # the full amount, though 20.00 is paid
    assert invoice["LastPaymentDate"] is not None
    assert credit_note["AmountDC"] == Decimal("-24.20")


@pytest.mark.parametrize("path", ["cashflow/Receivables", "bulk/Cashflow/Receivables"])
def test_negative_convention_serves_the_remaining_amount_negative_for_an_invoice(
    exact_sandbox_factory: Any, path: str
) -> None:
    sandbox = exact_sandbox_factory(receivables_sign="negative")
    _pay_part(sandbox, "4711", "20.00")
    rows = _receivables(sandbox, path)
    assert rows[("4711", 20)]["AmountDC"] == Decimal("-40.50")
    assert rows[("4711", 20)]["AmountFC"] == Decimal("-40.50")
    assert rows[("ORD00012", 21)]["AmountDC"] == Decimal("24.20")
    # The transaction's own total keeps the invoice's sign in either convention.
    assert rows[("4711", 20)]["TransactionAmountDC"] == Decimal("60.50")
    assert rows[("ORD00012", 21)]["TransactionAmountDC"] == Decimal("-24.20")
    # The stored open item is untouched: ReceivablesList still shows what is left, positive.
    with sandbox.session() as http:
        listed = http.get(
            f"{sandbox.api_url}/read/financial/ReceivablesList",
            params={"$select": "YourRef,Amount", "$filter": "YourRef eq '4711'"},
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
    assert [r["Amount"] for r in listed] == [Decimal("40.50")]


def test_remaining_amount_keeps_the_sign(exact_sandbox_factory: Any) -> None:
    sandbox = exact_sandbox_factory(partial_receivable_amount="remaining")
    _pay_part(sandbox, "4711", "20.00")
    rows = _receivables(sandbox)
    assert rows[("4711", 20)]["AmountDC"] == Decimal("40.50")
    assert rows[("ORD00012", 21)]["AmountDC"] == Decimal("-24.20")


def test_a_part_payment_may_leave_last_payment_date_empty(exact_sandbox_factory: Any) -> None:
    sandbox = exact_sandbox_factory(partial_sets_last_payment_date=False)
    _pay_part(sandbox, "4711", "20.00")
    assert _receivables(sandbox)[("4711", 20)]["LastPaymentDate"] is None


def test_admin_config_switches_a_running_sandbox(exact_sandbox: ExactSandbox) -> None:
    admin = f"{exact_sandbox.url}/_admin/exact/config"
    assert requests.get(admin, timeout=10).json()["receivables_sign"] == "positive"
    answer = requests.post(admin, json={"receivables_sign": "negative"}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["receivables_sign"] == "negative"
    assert _receivables(exact_sandbox)[("4711", 20)]["AmountDC"] == Decimal("-60.50")
    bad = requests.post(admin, json={"receivables_sign": "sideways"}, timeout=10)
    assert bad.status_code == 400
    assert "receivables_sign" in bad.json()["error"]
    not_bool = requests.post(admin, json={"strict_opening_balance": "no"}, timeout=10)
    assert not_bool.status_code == 400
    assert "strict_opening_balance" in not_bool.json()["error"]
    unknown = requests.post(admin, json={"daily_limit": 1}, timeout=10)
    assert unknown.status_code == 400
    assert "daily_limit" in unknown.json()["error"]
    assert exact_sandbox.runtime.config.receivables_sign == "negative"


def test_cli_options_reach_the_exact_config() -> None:
    args = cli._parser().parse_args(
        [
            "serve",
            "--days",
            "1",
            "--payments-per-clearing",
            "2",
            "--exact-receivables-sign",
            "negative",
            "--exact-partial-receivable-amount",
            "remaining",
            "--exact-partial-sets-last-payment-date",
            "no",
        ]
    )
    _, service = cli._exact_service(args, generate(cli._params(args)))
    service.start()
    try:
        assert service.config.behaviour() == {  # type: ignore[attr-defined]
            "receivables_sign": "negative",
            "partial_receivable_amount": "remaining",
            "partial_sets_last_payment_date": False,
            "strict_opening_balance": True,
        }
    finally:
        service.stop()
