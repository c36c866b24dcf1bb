"""What a bookkeeper sees in Exact and in the log: identifying notes, other journals' invoices,
and a warning when matching ran without the transaction details its profile reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pay_exact_transform import (
    PROFILES,
    Clearing,
    ClearingLine,
    Direction,
    GLAccounts,
    LineKind,
    MatchProfile,
    PaymentRecord,
    RecordKind,
    Settings,
    plan_clearing,
)
from target_exactonline.context import read_open_items
from target_exactonline.details import detail_needs, missing_details
from target_exactonline.exact_payload import bank_entry_body

D = Decimal


def shopify_clearing() -> Clearing:
    records = tuple(
        PaymentRecord(
            f"EX-1234-5678-90{n}",
            RecordKind.PAYMENT,
            D("19.95"),
            "EUR",
            description="Shopify order",
            order_id=f"1661180545X1ca9{n}",
            customer_email=f"buyer{n}@example.com",
        )
        for n in range(3)
    )
    payments = ClearingLine(
        "L1", 10, "iDEAL", Direction.CREDIT, D("59.85"), LineKind.PAYMENTS, transactions=3
    )
    fee = ClearingLine(
        "FT-3148-5366-9453F", None, "Transactiekosten iDEAL", Direction.DEBIT, D("0.87"),
        LineKind.FEES,
    )  # fmt: skip
    return Clearing(
        "CLEARING-20261130-000017", "AB12-CD34", date(2026, 11, 30), "EUR", None,
        (payments, fee), records, D("58.98"),
    )  # fmt: skip


def test_each_line_in_exact_carries_its_own_identification_in_description_and_notes() -> None:
    settings = Settings(
        gl=GLAccounts(debtors="1300", psp_costs="4390", payouts="2050", unassigned="2090"),
        profile="shopify",
    )
    plan = plan_clearing(shopify_clearing(), [], settings)
    body = bank_entry_body(
        plan, journal_code="25", gl_ids={c: f"gl-{c}" for c in ("1300", "4390", "2050", "2090")},
        customer_ids={},
    )  # fmt: skip
    lines = body["BankEntryLines"]
    descriptions = [line["Description"] for line in lines]
    assert len(set(descriptions)) == len(descriptions)  # no two lines read the same
    assert all(len(text) <= 60 for text in descriptions)
    fee = next(line for line in lines if "FT-3148-5366-9453F" in line["Description"].split())
    assert "Transactiekosten" in fee["Notes"]
    for n in range(3):
        line = lines[n]
        assert f"EX-1234-5678-90{n}" in line["Description"].split()
        assert line["Notes"].startswith("Pay. clearing CLEARING-20261130-000017 | transaction ")
        assert f"order 1661180545X1ca9{n}" in line["Notes"]
        assert f"e-mail buyer{n}@example.com" in line["Notes"]
        assert len(line["Notes"]) <= 250


class Rows:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def get_all(self, entity_path: str, **_: Any) -> list[dict[str, Any]]:
        return self.rows


def test_open_items_of_every_journal_reach_the_engine() -> None:
    rows = [
        {"ID": f"H{n}", "Account": "A1", "AmountFC": 25.0, "Currency": "EUR",
         "InvoiceNumber": 24700030 + n, "Journal": journal, "TransactionType": 20,
         "YourRef": f"ORD700{n}"}
        for n, journal in enumerate(("70", "71"))
    ]  # fmt: skip
    items = read_open_items(Rows(rows))
    assert sorted(item.journal for item in items) == ["70", "71"]


def test_profiles_that_depend_on_transaction_details() -> None:
    assert detail_needs(PROFILES["shopify"]) == "the customer's e-mail"
    assert detail_needs(PROFILES["magento2"]) == "extra1"
    assert detail_needs(PROFILES["prestashop"]) == "extra2"
    # extra1 only after the reference: these match without the details
    for name in ("generic", "woocommerce", "plugandpay", "lightspeed"):
        assert detail_needs(PROFILES[name]) is None
    custom = MatchProfile(name="custom", payment_fields=("description", "extra3"))
    assert detail_needs(custom) == "extra3"


def test_missing_details_say_why_per_clearing() -> None:
    records = [{"orderId": "1X"}, {"orderId": "2X"}]
    text = missing_details(PROFILES["shopify"], records, {})
    assert text is not None
    assert "profile shopify" in text
    assert "all 2 payments" in text
    assert "enrich_transactions" in text
    assert "transactions stream selected" in text
    other = missing_details(PROFILES["shopify"], records, {"9X": {}})
    assert other is not None
    assert "arrived for other clearings" in other
    assert missing_details(PROFILES["shopify"], records, {"2X": {}}) is None
    assert missing_details(PROFILES["woocommerce"], records, {}) is None
