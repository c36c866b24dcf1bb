"""Transaction:Info, turnover groups, clearing-line types, settlement amount units and the error
body for unknown paths, methods and Accept headers."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from pay_exact_sandbox.generator import GeneratorParams, RevenueGroup
from pay_exact_sandbox.generator.jsonio import loads
from pay_exact_sandbox.pay import PaySandbox

PARAMS = GeneratorParams(
    seed=31,
    days=6,
    refund_share=0.3,
    chargeback_share=0.1,
    revenue_groups=(
        RevenueGroup("Webshop", "magento2"),
        RevenueGroup("Outlet", "shopify"),
    ),
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PaySandbox]:
    with PaySandbox(PARAMS) as running:
        yield running


def get(sandbox: PaySandbox, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{sandbox.api_url}{path}", auth=sandbox.auth, timeout=5, **kwargs)


def test_transaction_info_by_ex_id_and_by_order_id(sandbox: PaySandbox) -> None:
    order = next(o for o in sandbox.merchant.orders if o.platform == "magento2")
    by_id = get(sandbox, f"/transactions/{order.transaction_id}").json()
    by_order = get(sandbox, f"/transactions/{order.pay_order_id}").json()
    assert by_id == by_order
    assert by_id["id"] == order.transaction_id
    assert by_id["orderId"] == order.pay_order_id
    assert by_id["stats"]["extra1"] == order.number  # Magento: increment id in extra1
    customer = next(c for c in sandbox.merchant.customers if c.id == order.customer_id)
    assert by_id["customer"]["email"] == customer.email


def test_transaction_info_uses_the_spec_example_field_names(sandbox: PaySandbox) -> None:
    """labd/paynl-js-sdk packages/transaction/openapi.json "Transaction Full" example."""
    order = sandbox.merchant.orders[0]
    info = get(sandbox, f"/transactions/{order.pay_order_id}").json()
    assert {"serviceCode", "createdAt", "modifiedAt", "expiresAt"} <= set(info)
    assert not {"serviceId", "created", "modified", "expire"} & set(info)
    assert info["serviceCode"].startswith("SL-")
    assert info["createdAt"].endswith(("+01:00", "+02:00"))


def test_order_status_by_order_id_and_by_uuid(sandbox: PaySandbox) -> None:
    """The Order API that replaces V2 Transaction:Info (paynl/sdk-net PayV3Client.GetOrder)."""
    order = next(
        o for o in sandbox.merchant.orders if o.platform == "magento2" and o.status == "paid"
    )
    root = sandbox.api_url.removesuffix("/v2") + "/v1"
    by_order = requests.get(
        f"{root}/orders/{order.pay_order_id}/status", auth=sandbox.auth, timeout=5
    ).json()
    by_uuid = requests.get(f"{root}/orders/{by_order['id']}/status", auth=sandbox.auth, timeout=5)
    assert by_uuid.json() == by_order
    assert by_order["orderId"] == order.pay_order_id
    assert by_order["status"] == {"code": 100, "action": "PAID"}
    customer = next(c for c in sandbox.merchant.customers if c.id == order.customer_id)
    assert by_order["checkoutData"]["customer"]["email"] == customer.email
    assert by_order["stats"]["extra1"] == order.number
    assert {"createdAt", "modifiedAt", "expiresAt", "completedAt"} <= set(by_order)
    assert requests.get(f"{root}/orders/{order.pay_order_id}/status", timeout=5).status_code == 401
    missing = requests.get(f"{root}/orders/nope/status", auth=sandbox.auth, timeout=5)
    assert missing.status_code == 404


def test_the_v2_transaction_api_can_be_retired(pay_sandbox_factory) -> None:
    sandbox = pay_sandbox_factory(GeneratorParams(seed=3, days=1))
    order = sandbox.merchant.orders[0]
    assert get(sandbox, f"/transactions/{order.pay_order_id}").ok
    sandbox.store.transactions_v2_served = False
    assert get(sandbox, f"/transactions/{order.pay_order_id}").status_code == 404


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [("paid", 100, "PAID"), ("refunded", -81, "REFUND"), ("charged_back", -71, "CHARGEBACK")],
)
def test_transaction_status_follows_the_order(
    sandbox: PaySandbox, status: str, code: int, action: str
) -> None:
    order = next(o for o in sandbox.merchant.orders if o.status == status)
    info = get(sandbox, f"/transactions/{order.pay_order_id}").json()
    assert info["status"]["code"] == code
    assert info["status"]["action"] == action


def test_unknown_transaction_is_404_error_body(sandbox: PaySandbox) -> None:
    response = get(sandbox, "/transactions/EX-0000-0000-0000")
    assert response.status_code == 404
    assert response.json()["type"] == "https://developer.pay.nl/docs/error-codes"


def test_turnover_groups_list_and_one(sandbox: PaySandbox) -> None:
    merchant = sandbox.merchant.pay["merchants"][0]["code"]
    listed = get(sandbox, "/turnovergroups", params={"merchant": merchant}).json()
    assert listed["total"] == 2
    names = [g["name"] for g in listed["turnoverGroups"]]
    assert names == ["Webshop", "Outlet"]
    assert [g["default"] for g in listed["turnoverGroups"]] == [True, False]
    code = listed["turnoverGroups"][1]["code"]
    one = get(sandbox, f"/turnovergroups/{code}").json()
    assert one["code"] == code
    assert one["bankAccount"]["iban"]["iban"].startswith("NL")
    assert get(sandbox, "/turnovergroups", params={"merchant": "M-0000-0000"}).json()["total"] == 0
    assert get(sandbox, "/turnovergroups/CT-0000-0000").status_code == 404


def test_clearing_line_types_list_credit_and_debit_types(sandbox: PaySandbox) -> None:
    groups = get(sandbox, "/clearinglinetypes").json()["clearingDataGroups"]
    types = {t["id"]: t["name"] for g in groups for t in g["clearingLineTypes"]}
    assert types[10] == "iDEAL"
    assert types[706] == "Visa Mastercard"
    assert {9001, 9002, 9101} <= set(types)


def test_settlement_amount_in_euros_when_configured(pay_sandbox_factory) -> None:
    sandbox = pay_sandbox_factory(PARAMS, settlement_amount_unit="euros")
    raw = requests.get(
        f"{sandbox.api_url}/clearings/settlements", auth=sandbox.auth, timeout=5
    ).content
    served = loads(raw)["settlements"][0]
    stored = next(s for s in sandbox.merchant.pay["settlements"] if s["code"] == served["code"])
    assert served["amount"]["value"] == Decimal(stored["amount"]["value"]) / 100
    assert isinstance(served["amount"]["value"], Decimal)
    # Lines stay in cents.
    line = served["clearings"][0]["clearingLines"][0]
    assert isinstance(line["amount"]["value"], int)


def test_settlement_lines_carry_only_documented_fields(sandbox: PaySandbox) -> None:
    served = get(sandbox, "/clearings/settlements").json()["settlements"][0]
    line = served["clearings"][0]["clearingLines"][0]
    assert set(line) == {
        "code",
        "clearingDate",
        "settlementDate",
        "valueDate",
        "state",
        "turnoverGroup",
        "clearingLineType",
        "amount",
        "merchant",
        "transactions",
        "uniquePayers",
    }
    assert set(line["clearingLineType"]) == {"id", "name", "direction", "collecting"}
    flat = get(sandbox, "/clearinglines", params={"limit": 1}).json()["clearingLines"][0]
    assert flat["clearingID"].startswith("CLEARING-")
    assert set(flat["clearingLineType"]) == {"id", "name"}


def test_invoice_line_amounts_are_decimal_euros(sandbox: PaySandbox) -> None:
    raw = get(sandbox, "/invoicelines", params={"limit": 5}).content
    for line in loads(raw)["invoiceLines"]:
        assert isinstance(line["volume"]["amount"], Decimal)
        assert line["totalCosts"]["totalCosts"] == sum(
            (sub["costs"]["revenue"] for sub in line["lines"]), Decimal(0)
        )
    assert b'"amount":"' not in raw  # numbers, never strings


def test_unknown_path_method_and_accept(sandbox: PaySandbox) -> None:
    missing = get(sandbox, "/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["title"] == "An error occurred"
    wrong_method = requests.post(
        f"{sandbox.api_url}/clearings/settlements", auth=sandbox.auth, timeout=5
    )
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    xml = get(sandbox, "/clearings/settlements", headers={"Accept": "application/xml"})
    assert xml.status_code == 406
