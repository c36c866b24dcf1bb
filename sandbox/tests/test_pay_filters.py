"""field[op] filters with eq, neq, gt, gte, lt, lte on each endpoint's documented fields."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from pay_exact_sandbox.generator import GeneratorParams, RevenueGroup
from pay_exact_sandbox.pay import PaySandbox

PARAMS = GeneratorParams(
    seed=21,
    days=9,
    payments_per_clearing=(2, 6),
    refund_share=0.2,
    chargeback_share=0.05,
    revenue_groups=(
        RevenueGroup("Webshop", "woocommerce"),
        RevenueGroup("Beurs", "shopware6", own_bank_account=True),
    ),
)
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PaySandbox]:
    with PaySandbox(PARAMS) as running:
        yield running


def fetch_all(sandbox: PaySandbox, path: str, key: str, limit: int, **filters: Any) -> list[dict]:
    items: list[dict] = []
    page = 1
    while True:
        response = requests.get(
            f"{sandbox.api_url}{path}",
            params={**filters, "page": page, "limit": limit},
            auth=sandbox.auth,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body[key])
        if page >= body.get("pages", -(-body["total"] // limit)):
            return items
        page += 1


def settlement_codes(sandbox: PaySandbox, **filters: Any) -> list[str]:
    return [
        s["code"]
        for s in fetch_all(sandbox, "/clearings/settlements", "settlements", 10, **filters)
    ]


@pytest.mark.parametrize("op", list(OPS))
def test_settlement_date_operators(sandbox: PaySandbox, op: str) -> None:
    settlements = sandbox.merchant.pay["settlements"]
    pivot = sorted({s["settlementDate"] for s in settlements})[4]
    expected = sorted(
        (s["settlementDate"], s["code"]) for s in settlements if OPS[op](s["settlementDate"], pivot)
    )
    got = settlement_codes(sandbox, **{f"settlementDate[{op}]": pivot})
    assert got == [code for _, code in expected]
    assert 0 < len(got) < len(settlements) or op in ("eq",)


def test_settlement_date_range_combines_conditions(sandbox: PaySandbox) -> None:
    dates = sorted({s["settlementDate"] for s in sandbox.merchant.pay["settlements"]})
    got = fetch_all(
        sandbox,
        "/clearings/settlements",
        "settlements",
        10,
        **{"settlementDate[gte]": dates[2], "settlementDate[lt]": dates[5]},
    )
    assert {s["settlementDate"] for s in got} == set(dates[2:5])


def test_settlement_filters_by_clearing_id_code_group_and_merchant(sandbox: PaySandbox) -> None:
    pay = sandbox.merchant.pay
    target = pay["settlements"][3]
    clearing_id = target["clearings"][0]["clearingId"]
    assert settlement_codes(sandbox, **{"clearingId[eq]": clearing_id}) == [target["code"]]
    assert settlement_codes(sandbox, **{"settlementCode[eq]": target["code"]}) == [target["code"]]
    group = pay["turnoverGroups"][1]["code"]
    in_group = settlement_codes(sandbox, **{"turnoverGroup[eq]": group})
    not_in_group = settlement_codes(sandbox, **{"turnoverGroup[neq]": group})
    assert in_group
    assert not_in_group
    # Separate bank accounts: no settlement mixes the groups; neq excludes every line of it.
    assert set(in_group).isdisjoint(not_in_group)
    assert len(in_group) + len(not_in_group) == len(pay["settlements"])
    merchant = pay["merchants"][0]["code"]
    assert len(settlement_codes(sandbox, **{"merchant[eq]": merchant})) == len(pay["settlements"])
    assert settlement_codes(sandbox, **{"merchant[eq]": "M-0000-0000"}) == []


def all_lines(sandbox: PaySandbox) -> list[tuple[str, dict[str, Any]]]:
    """Every clearing line in the served order: settlements by date, then code."""
    settlements = sorted(
        sandbox.merchant.pay["settlements"], key=lambda s: (s["settlementDate"], s["code"])
    )
    return [
        (clearing["clearingId"], line)
        for settlement in settlements
        for clearing in settlement["clearings"]
        for line in clearing["clearingLines"]
    ]


def test_clearing_lines_by_clearing_id_with_capital_id(sandbox: PaySandbox) -> None:
    clearing_id, _ = all_lines(sandbox)[7]
    got = fetch_all(
        sandbox, "/clearinglines", "clearingLines", 100, **{"clearingID[eq]": clearing_id}
    )
    expected = [line["code"] for cid, line in all_lines(sandbox) if cid == clearing_id]
    assert [line["code"] for line in got] == expected
    assert {line["clearingID"] for line in got} == {clearing_id}
    # The settlements endpoint spells it clearingId; here that spelling is unknown.
    wrong_case = requests.get(
        f"{sandbox.api_url}/clearinglines",
        params={"clearingId[eq]": clearing_id},
        auth=sandbox.auth,
        timeout=5,
    )
    assert wrong_case.status_code == 400
    assert "clearingId" in wrong_case.json()["detail"]


@pytest.mark.parametrize("op", ["eq", "neq"])
def test_clearing_lines_by_type(sandbox: PaySandbox, op: str) -> None:
    got = fetch_all(
        sandbox, "/clearinglines", "clearingLines", 100, **{f"clearingLineType[{op}]": 9001}
    )
    expected = [
        line["code"]
        for _, line in all_lines(sandbox)
        if OPS[op](line["clearingLineType"]["id"], 9001)
    ]
    assert [line["code"] for line in got] == expected
    assert expected


@pytest.mark.parametrize("op", ["gt", "lte"])
def test_clearing_lines_by_processed_date_and_date(sandbox: PaySandbox, op: str) -> None:
    lines = [line for _, line in all_lines(sandbox)]
    pivot = sorted({line["processedDate"] for line in lines})[3]
    got = fetch_all(
        sandbox, "/clearinglines", "clearingLines", 100, **{f"processedDate[{op}]": pivot}
    )
    assert [x["code"] for x in got] == [
        x["code"] for x in lines if OPS[op](x["processedDate"], pivot)
    ]
    value_pivot = sorted({line["valueDate"] for line in lines})[3]
    got = fetch_all(sandbox, "/clearinglines", "clearingLines", 100, **{f"date[{op}]": value_pivot})
    assert [x["code"] for x in got] == [
        x["code"] for x in lines if OPS[op](x["valueDate"], value_pivot)
    ]


def test_clearing_lines_by_state_and_group(sandbox: PaySandbox) -> None:
    group = sandbox.merchant.pay["turnoverGroups"][0]["code"]
    got = fetch_all(
        sandbox,
        "/clearinglines",
        "clearingLines",
        100,
        **{"state[eq]": "SETTLED", "turnoverGroup[eq]": group},
    )
    expected = [
        line["code"] for _, line in all_lines(sandbox) if line["turnoverGroup"]["code"] == group
    ]
    assert [line["code"] for line in got] == expected
    none = fetch_all(sandbox, "/clearinglines", "clearingLines", 100, **{"state[eq]": "PROCESSED"})
    assert none == []


def test_invoice_lines_by_state_invoice_and_billing_type(sandbox: PaySandbox) -> None:
    lines = sandbox.merchant.pay["invoiceLines"]
    paid = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100, **{"state[eq]": "PAID"})
    assert [x["code"] for x in paid] == [x["code"] for x in lines if x["state"] == "PAID"]
    invoice = paid[0]["invoiceID"]
    one = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100, **{"invoiceID[eq]": invoice})
    assert {x["invoiceID"] for x in one} == {invoice}
    ideal = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100, **{"billingLineType[eq]": 10})
    assert ideal
    assert {x["billingLineType"]["name"] for x in ideal} == {"iDEAL"}
    day = lines[0]["date"]
    dated = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100, **{"date[lte]": day})
    assert {x["date"] for x in dated} == {day}


@pytest.mark.parametrize(
    ("path", "param", "fragment"),
    [
        ("/clearings/settlements", "colour[eq]", "unknown filter field 'colour'"),
        ("/clearings/settlements", "settlementDate[like]", "unknown filter operator 'like'"),
        ("/clearings/settlements", "settlementDate[gte", "not a valid filter"),
        ("/clearinglines", "billingLineType[eq]", "unknown filter field"),
        ("/invoicelines", "clearingLineType[eq]", "unknown filter field"),
    ],
)
def test_unknown_filter_fields_and_operators_are_400(
    sandbox: PaySandbox, path: str, param: str, fragment: str
) -> None:
    response = requests.get(
        f"{sandbox.api_url}{path}", params={param: "1"}, auth=sandbox.auth, timeout=5
    )
    assert response.status_code == 400
    body = response.json()
    assert fragment in body["detail"]
    assert body["violations"][0]["propertyPath"] == param


@pytest.mark.parametrize(
    ("param", "value"),
    [("settlementDate[gte]", "03-03-2025"), ("settlementDate[eq]", "2025-02-30")],
)
def test_bad_filter_values_are_400(sandbox: PaySandbox, param: str, value: str) -> None:
    response = requests.get(
        f"{sandbox.api_url}/clearings/settlements",
        params={param: value},
        auth=sandbox.auth,
        timeout=5,
    )
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["detail"]


def test_integer_filter_rejects_text(sandbox: PaySandbox) -> None:
    response = requests.get(
        f"{sandbox.api_url}/clearinglines",
        params={"clearingLineType[eq]": "iDEAL"},
        auth=sandbox.auth,
        timeout=5,
    )
    assert response.status_code == 400


def test_invoice_lines_filter_on_the_type_of_their_parts(sandbox: PaySandbox) -> None:
    """type[eq]=SELL|BUY as paynl/sdk-net sends it; every part carries its type."""
    every = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100)
    sold = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100, **{"type[eq]": "SELL"})
    bought = fetch_all(sandbox, "/invoicelines", "invoiceLines", 100, **{"type[eq]": "BUY"})
    assert every
    assert [line["code"] for line in sold] == [line["code"] for line in every]
    assert bought == []
    assert {part["type"] for line in every for part in line["lines"]} == {"SELL"}
