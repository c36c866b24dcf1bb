"""The generator's Exact side: one seed, one merchant, consistent on both sandboxes."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from pay_exact_sandbox.exact import ExactData
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.generator import PLATFORMS, GeneratorParams, Merchant, RevenueGroup, generate
from pay_exact_sandbox.generator.exact_side import (
    ExactSideParams,
    build_exact_data,
    combined_fixture,
)

ALL_PLATFORMS = tuple(RevenueGroup(p, p) for p in PLATFORMS)
MANY_CASES = ExactSideParams(
    partial_share=0.1,
    currency_mismatch_share=0.1,
    ambiguous_share=0.1,
    unknown_customer_share=0.1,
    paid_elsewhere_share=0.2,
)


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate(
        GeneratorParams(seed=7, days=6, payments_per_clearing=(8, 14), revenue_groups=ALL_PLATFORMS)
    )


@pytest.fixture(scope="module")
def data(merchant: Merchant) -> ExactData:
    return build_exact_data(merchant, MANY_CASES)


def _sandbox(factory: Any, data: ExactData) -> ExactSandbox:
    return factory(data, minutely_limit=100_000, daily_limit=1_000_000)


def test_same_merchant_and_params_give_the_same_division(merchant: Merchant) -> None:
    first = build_exact_data(merchant, MANY_CASES)
    again = build_exact_data(merchant, MANY_CASES)
    other = build_exact_data(merchant, ExactSideParams(seed=2))
    assert first.to_json() == again.to_json()
    assert other.to_json() != first.to_json()


def test_every_case_occurs_and_is_counted(data: ExactData) -> None:
    counts = data.truth["exact"]["counts"]
    for case in (
        "matched",
        "partial",
        "currency_mismatch",
        "ambiguous",
        "unknown_customer",
        "paid_elsewhere",
    ):
        assert counts.get(case, 0) > 0, case
    orders = data.truth["exact"]["orders"]
    assert Counter(fact["case"] for fact in orders.values()) == {
        case: n for case, n in counts.items() if case in {f["case"] for f in orders.values()}
    }


def test_open_items_in_the_sandbox_agree_with_the_truth(exact_sandbox_factory, data) -> None:
    sandbox = _sandbox(exact_sandbox_factory, data)
    dump = sandbox.dump()
    invoices = {
        r["InvoiceNumber"]: r for r in dump["receivables"] if r["TransactionType"] in (20, 21)
    }
    codes = {a["ID"]: a["Code"].strip() for a in dump["accounts"]}
    truth = data.truth["exact"]
    for key, fact in truth["orders"].items():
        if fact["case"] == "unknown_customer":
            assert fact["account_code"] is None
            assert fact["invoice_numbers"] == []
            continue
        first = invoices[fact["invoice_numbers"][0]]
        assert first["YourRef"] == fact["your_ref"], key
        assert codes[first["Account"]] == fact["account_code"]
        assert first["AmountFC"] == fact["invoice_amount"]
        assert first["Currency"] == fact["invoice_currency"]
        if fact["case"] == "matched":
            assert (first["AmountFC"], first["Currency"]) == (fact["paid_amount"], "EUR")
        elif fact["case"] == "partial":
            assert first["AmountFC"] > fact["paid_amount"]
        elif fact["case"] == "currency_mismatch":
            assert first["Currency"] != fact["currency"]
            assert first["AmountFC"] == fact["paid_amount"]
        elif fact["case"] == "ambiguous":
            second = invoices[fact["invoice_numbers"][1]]
            assert second["YourRef"] == first["YourRef"]
            assert second["Status"] == first["Status"] == 20
    for item in truth["paid_elsewhere"]:
        invoice = invoices[item["invoice_number"]]
        assert invoice["Status"] == (50 if item["settled"] else 20)
    listed = {r["InvoiceNumber"] for r in dump["receivables_list"]}
    settled = {i["invoice_number"] for i in truth["paid_elsewhere"] if i["settled"]}
    assert listed & settled == set()


def test_unknown_customers_have_no_account(data: ExactData, merchant: Merchant) -> None:
    unknown = {
        fact["customer_id"]
        for fact in data.truth["exact"]["orders"].values()
        if fact["case"] == "unknown_customer"
    }
    emails = {a["Email"] for a in data.accounts}
    by_id = {c.id: c for c in merchant.customers}
    assert unknown
    assert all(by_id[c].email not in emails for c in unknown)
    assert set(data.truth["exact"]["accounts"]).isdisjoint(unknown)


def test_refunds_get_credit_notes_of_the_refunded_amount(
    exact_sandbox_factory, merchant: Merchant
) -> None:
    base = GeneratorParams(seed=3, days=8, payments_per_clearing=(15, 20), refund_share=0.2)
    refunding = generate(base)
    data = build_exact_data(refunding, ExactSideParams(credit_note_share=0.5))
    reversals = data.truth["exact"]["reversals"]
    cases = Counter(r["case"] for r in reversals.values())
    assert cases["credit_note"] > 0
    assert cases["refund_without_credit_note"] > 0
    sandbox = _sandbox(exact_sandbox_factory, data)
    items = {r["InvoiceNumber"]: r for r in sandbox.dump()["receivables"]}
    for fact in reversals.values():
        if fact["case"] == "credit_note":
            note = items[fact["credit_note_number"]]
            assert note["TransactionType"] == 21
            assert note["AmountFC"] == fact["amount"] < 0


@pytest.mark.parametrize(
    ("platform", "check"),
    [
        ("woocommerce", lambda o, e: e["YourRef"] == o["number"] == e["Description"]),
        (
            "magento2",
            lambda o, e: (
                e["YourRef"] == o["number"]
                and e["Description"].startswith(f"Bestelnummer {o['number']}, factuurnummer ")
                and e["PaymentReference"] == e["Description"].rsplit(" ", 1)[1]
            ),
        ),
        ("shopware6", lambda o, e: e["Description"] == f"Bestelnummer {o['number']}"),
        (
            "prestashop",
            lambda o, e: (
                e["YourRef"] == o["number"]
                and len(o["number"]) == 9
                and e["Description"] == f"Bestelling {o['shopIds']['orderId']}"
            ),
        ),
        ("lightspeed", lambda o, e: e["YourRef"] == o["number"] and o["number"].startswith("ORD")),
        ("shopify", lambda o, e: e["YourRef"] == o["number"] and o["number"].startswith("#")),
        ("mijnwebwinkel", lambda o, e: e["Description"] == f"Bestelling {o['number']}"),
        ("ccvshop", lambda o, e: e["Description"] == f"Order {o['number']}"),
        ("plugandpay", lambda o, e: e["Description"] == f"Factuur {o['number']}"),
    ],
)
def test_each_platform_puts_the_order_number_where_its_connector_does(
    merchant: Merchant, data: ExactData, platform: str, check: Any
) -> None:
    entries = {e["EntryNumber"]: e for e in data.sales_entries}
    orders = {f"{o.revenue_group}/{o.number}": o.to_json() for o in merchant.orders}
    checked = 0
    for key, fact in data.truth["exact"]["orders"].items():
        if fact["platform"] != platform or not fact["invoice_numbers"]:
            continue
        entry = entries[fact["invoice_numbers"][0]]
        assert check(orders[key], entry), (key, entry)
        checked += 1
    assert checked > 0


def test_lightspeed_can_book_invoice_numbers(merchant: Merchant) -> None:
    data = build_exact_data(merchant, ExactSideParams(lightspeed_invoice_numbers=True))
    refs = [
        e["YourRef"]
        for e in data.sales_entries
        if e["SalesEntryLines"][0]["GLAccountCode"]
        == data.truth["exact"]["gl_accounts"]["revenue"][_group_of(merchant, "lightspeed")]
    ]
    assert refs
    assert all(ref.startswith("INV") for ref in refs)


def _group_of(merchant: Merchant, platform: str) -> str:
    return next(o.revenue_group for o in merchant.orders if o.platform == platform)


def test_chart_journals_and_periods(data: ExactData, merchant: Merchant) -> None:
    gl_types = {g["Code"]: g["Type"] for g in data.gl_accounts}
    assert gl_types["1300"] == 20
    assert gl_types["1100"] == 12
    assert gl_types["4390"] == 120
    assert gl_types["8000"] == 110
    journals = {j["Code"]: j for j in data.journals}
    assert (journals["25"]["Type"], journals["25"]["GLAccountCode"]) == (12, "1100")
    assert journals["70"]["Type"] == 20
    assert journals["90"]["Type"] == 90
    first = min(o.order_date for o in merchant.orders)
    years = {y["year"]: y["closed_periods"] for y in data.financial_years}
    # The period just before the data window is closed; the window itself is open.
    before = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    assert years[before[0]] == [before[1]]
    assert max(years) == max(o.order_date for o in merchant.orders).year + 1


def test_a_clearing_booked_as_the_design_says_settles_exactly_the_matched_orders(
    exact_sandbox_factory, merchant: Merchant, data: ExactData
) -> None:
    """Pay the Pay.-side amounts into the Exact side: matched items leave the open items,
    partial ones stay with the rest, currency mismatches stay whole."""
    sandbox = _sandbox(exact_sandbox_factory, data)
    dump = sandbox.dump()
    gl = {g["Code"]: g["ID"] for g in dump["gl_accounts"]}
    accounts = {a["Code"].strip(): a["ID"] for a in dump["accounts"]}
    facts = [
        f
        for f in data.truth["exact"]["orders"].values()
        if f["case"] in ("matched", "partial", "currency_mismatch")
    ][:40]
    lines = [
        {
            "Date": "2025-03-10",
            "GLAccount": gl["1300"],
            "Account": accounts[f["account_code"]],
            "OurRef": f["invoice_numbers"][0],
            "AmountFC": f["paid_amount"],
            "Description": f"PX:CLEARING-TEST {f['your_ref']}",
        }
        for f in facts
    ]
    total = sum((line["AmountFC"] for line in lines), Decimal(0))
    lines.append({"Date": "2025-03-10", "GLAccount": gl["2050"], "AmountFC": -total})
    with sandbox.session() as http:
        response = http.post(
            f"{sandbox.api_url}/financialtransaction/BankEntries",
            data=dumps({"JournalCode": "25", "BankEntryLines": lines}),
            timeout=30,
        )
    assert response.status_code == 201, response.text
    open_amounts = {r["InvoiceNumber"]: r["Amount"] for r in sandbox.dump()["receivables_list"]}
    for fact in facts:
        number = fact["invoice_numbers"][0]
        if fact["case"] == "matched":
            assert number not in open_amounts
        elif fact["case"] == "partial":
            assert open_amounts[number] == fact["invoice_amount"] - fact["paid_amount"]
        else:
            assert open_amounts[number] == fact["invoice_amount"]


def test_factory_accepts_a_merchant_and_the_combined_fixture_loads_on_both_sides(
    exact_sandbox_factory, merchant: Merchant, tmp_path
) -> None:
    sandbox = exact_sandbox_factory(merchant)
    assert sandbox.dump()["truth"]["exact"]["counts"]["matched"] > 0
    data = build_exact_data(merchant)
    path = tmp_path / "merchant.json"
    path.write_text(dumps(combined_fixture(merchant, data)), encoding="utf-8")
    again = ExactData.load(path)
    assert again.to_dict() == ExactData.from_json(data.to_json()).to_dict()
    assert again.truth["exact"] == ExactData.from_json(data.to_json()).truth["exact"]
    assert Merchant.load(path).orders == merchant.orders


def test_bad_params_are_named() -> None:
    with pytest.raises(ValueError, match="partial_share"):
        ExactSideParams(partial_share=1.5).validate()
    with pytest.raises(ValueError, match="division_code"):
        ExactSideParams(division_code=0).validate()
