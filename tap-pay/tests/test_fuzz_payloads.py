"""Hostile Pay. answers for the tap's parsers (hypothesis).

Each endpoint's item is taken from a valid example and broken at a random place: a field
removed or nulled, a wrong type, huge or fractional numbers, NaN, unicode and quotes, the API
token itself, a repeated list element; or replaced by arbitrary JSON altogether. Whatever
arrives, the parser either

- returns records that match the tap's own schemas, hold no float, keep every amount exact in
  its currency's minor unit (no cent lost or invented) and pass text through unchanged, or
- raises ``MalformedResponseError`` naming the endpoint, the field's path and the record,
  never quoting the token, and never anything else (no bare traceback).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tap_pay.errors import MalformedResponseError
from tap_pay.money import AmountUnit, quantum
from tap_pay.payload import Node, Origin
from tap_pay.records import (
    clearing_record_record,
    invoice_line_record,
    settlement_parts,
    transaction_record,
    turnover_group_record,
)

TOKEN = "fuzzTOKEN0123456789abcdefghijklmnopqrstu"  # 40 characters, as Pay.'s are

LINE = {
    "code": "FT-1111-2222-3333",
    "clearingDate": "2025-03-04",
    "settlementDate": "2025-03-04",
    "valueDate": "2025-03-03",
    "state": "PROCESSED",
    "turnoverGroup": {"code": "CT-1234-5678", "name": "Webshop"},
    "clearingLineType": {"id": 10, "name": "iDEAL", "direction": "CREDIT", "collecting": True},
    "amount": {"value": 152340, "currency": "EUR"},
    "merchant": {"code": "M-1234-5678", "name": "Example BV", "contractPackage": "Business"},
    "transactions": 2,
    "uniquePayers": 2,
}
FEE_LINE = {
    **LINE,
    "code": "FT-1111-2222-4444",
    "clearingLineType": {"id": 6, "name": "Settlement", "direction": "DEBIT", "collecting": True},
    "amount": {"value": 1230, "currency": "EUR"},
    "transactions": None,
}
SETTLEMENT = {
    "code": "AB12-CD34",
    "description": "Clearing: CLEARING-20250300123",
    "settlementDate": "2025-03-04",
    "confirmationDate": "2025-03-04",
    "amount": {"value": 151110, "currency": "EUR"},
    "baseAccountIban": "NL00RABO0000000001",
    "clearingAccount": {
        "method": "iban",
        "iban": {"iban": "NL00BANK0000000002", "bic": "BANKNL2A", "owner": "Example BV"},
    },
    "clearings": [{"clearingId": "CLEARING-20250300123", "clearingLines": [LINE, FEE_LINE]}],
}
RECORD = {
    "reportingId": "R-000123",
    "settlementCode": "AB12-CD34",
    "clearingId": "CLEARING-20250300123",
    "orderId": "1234567890X1a2b3",
    "description": "Factuur 2025-0042",
    "reference": "INV20250042",
    "currencyAmount": {"value": 76170, "currency": "EUR"},
    "amount": {"value": 76170, "currency": "EUR"},
    "paymentMethod": {"id": 10, "subId": None, "name": "iDEAL"},
    "turnoverGroup": {"code": "CT-1234-5678", "name": "Webshop"},
    "merchant": {"code": "M-1234-5678", "name": "Example BV"},
    "transactionDate": "2025-03-02T14:03:11+01:00",
}
INVOICE_LINE = {
    "code": "2025-03-02_CT-1234-5678-706",
    "merchant": {"code": "M-1234-5678", "contractPackage": "Business"},
    "turnoverGroup": {"code": "CT-1234-5678", "name": "Webshop"},
    "billingLineType": {"id": 706, "name": "Visa Mastercard"},
    "volume": {"amount": Decimal("380.50"), "currency": "EUR"},
    "totalCosts": {"totalCosts": Decimal("6.23"), "currency": "EUR"},
    "transactions": 12,
    "payers": 12,
    "vatPercentage": 21,
    "date": "2025-03-02",
    "valueDate": "2025-03-02",
    "paymentDate": None,
    "state": "PAYABLE",
    "invoiceID": "INVOICE-20250300077",
    "lines": [
        {
            "code": "FT-1234-1234-1234",
            "unitType": {"id": 12, "name": "percentage"},
            "amount": Decimal("1.75"),
            "costs": {"revenue": Decimal("6.23"), "currency": "EUR"},
            "processedDate": "2025-03-03",
        }
    ],
}
GROUP = {
    "code": "CT-1234-5678",
    "name": "Webshop",
    "default": True,
    "merchant": {"code": "M-1234-5678", "status": "ACTIVE", "name": "Example BV"},
    "bankAccount": {"code": "BA-1", "iban": {"iban": "NL00BANK0000000002", "bic": "BANKNL2A"}},
    "createdAt": "2024-01-10T09:00:00+01:00",
}
TRANSACTION = {
    "id": "EX-1234-5678-9012",
    "orderId": "1234567890X1a2b3",
    "description": "Order 4711",
    "reference": "4711",
    "amount": {"value": 76170, "currency": "EUR"},
    "amountPaid": {"value": 76170, "currency": "EUR"},
    "amountRefunded": {"value": 0, "currency": "EUR"},
    "paymentMethod": {"id": 10, "subId": "1", "name": "iDEAL"},
    "status": {"code": 100, "action": "PAID", "phase": "paid"},
    "integration": {"testMode": False},
    "customer": {"email": "jan@example.nl", "firstName": "Jan", "lastName": "de Vries"},
    "stats": {"extra1": "4711", "extra2": "jan@example.nl", "extra3": None},
    "created": "2025-03-02T14:00:00+01:00",
}


def _parse_settlement(node: Node) -> dict[str, list[dict[str, Any]]]:
    parts = settlement_parts(node, None, AmountUnit.MINOR)
    lines = [line for group in parts.lines_by_clearing.values() for line in group]
    return {"settlements": [parts.record], "clearings": parts.clearings, "clearing_lines": lines}


ENDPOINTS: dict[str, tuple[str, str, dict[str, Any], Callable[[Node], dict[str, list]]]] = {
    # name: (path template, items key, valid item, parser -> records per stream)
    "settlements": (
        "/clearings/settlements",
        "settlements",
        SETTLEMENT,
        _parse_settlement,
    ),
    "records": (
        "/clearings/{clearingId}/records",
        "clearingRecords",
        RECORD,
        lambda n: {"clearing_records": [clearing_record_record(n, "CLEARING-20250300123")]},
    ),
    "invoicelines": (
        "/invoicelines",
        "invoiceLines",
        INVOICE_LINE,
        lambda n: {"invoice_lines": [invoice_line_record(n)]},
    ),
    "turnovergroups": (
        "/turnovergroups",
        "turnoverGroups",
        GROUP,
        lambda n: {"turnover_groups": [turnover_group_record(n)]},
    ),
    "transactions": (
        "/transactions/{transactionId}",
        "",
        TRANSACTION,
        lambda n: {"transactions": [transaction_record(n, "1234567890X1a2b3")]},
    ),
}
SCHEMAS = {
    name: jsonschema.Draft7Validator(
        json.loads(resources.files("tap_pay.schemas").joinpath(f"{name}.json").read_text())
    )
    for name in (
        "settlements",
        "clearings",
        "clearing_lines",
        "clearing_records",
        "invoice_lines",
        "turnover_groups",
        "transactions",
    )
}

HOSTILE_TEXT = [
    "",
    " ",
    "'",
    '"',
    'O\'Brien "B.V."',
    "Bestelling №4711 — ünïcödé 注文",
    "\u202e4711",
    "a\x00b",
    "line\nbreak",
    "🙂",
    "x" * 500,
    TOKEN,
    f"token={TOKEN}",
    "2025-02-30",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2025-03-02T25:00:00",
    "CREDIT",
    "DEBIT",
    "EUR",
    "eur",
    "XXX",
    "JPY",
    "BHD",
    "€",
]
HOSTILE_NUMBERS = [
    0,
    -1,
    1,
    2**63,
    -(2**63),
    10**30,
    10**200,
    Decimal("0.5"),
    Decimal("12.345"),
    Decimal("250.00"),
    Decimal("1E+400"),
    Decimal("-0"),
    Decimal("1e-30"),
    float("nan"),  # what json.loads makes of NaN
    float("inf"),  # ... and of Infinity
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, max_value=10**9, min_value=-(10**9)
    ),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["value", "currency", "code", "id", "x"]), children, max_size=3
        ),
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _parent(document: Any, path: tuple) -> Any:
    for key in path[:-1]:
        document = document[key]
    return document


@st.composite
def broken(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with one to three changes at random places."""
    item = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(item) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(item, path)
        key = path[-1]
        action = draw(st.sampled_from(["delete", "null", "replace", "replace", "repeat"]))
        if action == "delete":
            del parent[key]
        elif action == "null":
            parent[key] = None
        elif action == "repeat" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = draw(json_values)
    return item


def _no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(_no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_floats(v) for v in value)
    return True


def _check_money(record: dict[str, Any]) -> None:
    """Every amount is a Decimal exact to its currency's minor unit."""
    currency = record.get("currency")
    for key in ("amount", "totalCosts", "amountPaid", "amountRefunded"):
        value = record.get(key)
        if value is None:
            continue
        assert type(value) is Decimal, (key, value)
        assert value == value.quantize(quantum(currency)), (key, value, currency)
        assert value.as_tuple().exponent == quantum(currency).as_tuple().exponent


def run_parser(endpoint: str, item: Any) -> dict[str, list[dict[str, Any]]] | str:
    """Records per stream, or the error text; any other exception fails the test."""
    path, items_key, _template, parse = ENDPOINTS[endpoint]
    origin = Origin(path, page=1 if items_key else None, secrets=(TOKEN,))
    if items_key:
        root = Node({items_key: [item]}, origin)
        node = root.items(items_key)[0]
    else:
        node = Node(item, origin)
    try:
        return parse(node)
    except MalformedResponseError as exc:
        return str(exc)


def check_outcome(endpoint: str, item: Any, outcome: dict[str, list] | str) -> None:
    path, items_key, _template, _parse = ENDPOINTS[endpoint]
    if isinstance(outcome, str):
        assert outcome.startswith(f"Pay. GET {path}"), outcome
        assert " returned a malformed response at " in outcome
        where = outcome.split(" returned a malformed response at ", 1)[1]
        if items_key:
            assert where.startswith(f"{items_key}[0]"), outcome
        assert TOKEN not in outcome
        assert len(outcome) < 600
        return
    for stream, records in outcome.items():
        for record in records:
            assert _no_floats(record), record
            SCHEMAS[stream].validate(record)
            _check_money(record)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_broken_item_gives_records_or_an_error_naming_endpoint_and_field(
    endpoint: str, data: st.DataObject
) -> None:
    item = data.draw(broken(ENDPOINTS[endpoint][2]))
    check_outcome(endpoint, item, run_parser(endpoint, item))


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@settings(max_examples=60, deadline=None)
@given(item=json_values)
def test_arbitrary_json_instead_of_an_item(endpoint: str, item: Any) -> None:
    check_outcome(endpoint, item, run_parser(endpoint, item))


@settings(max_examples=150, deadline=None)
@given(
    cents=st.integers(min_value=-(10**17), max_value=10**17),
    currency=st.sampled_from(["EUR", "USD", "JPY", "BHD", "GBP"]),
    reference=st.text(max_size=60),
    description=st.sampled_from(HOSTILE_TEXT),
)
def test_a_record_keeps_every_cent_and_its_text(
    cents: int, currency: str, reference: str, description: str
) -> None:
    item = copy.deepcopy(RECORD)
    item["amount"] = {"value": cents, "currency": currency}
    item["currencyAmount"] = {"value": cents, "currency": currency}
    item["reference"] = reference
    item["description"] = description
    outcome = run_parser("records", item)
    assert not isinstance(outcome, str), outcome
    (record,) = outcome["clearing_records"]
    exponent = -quantum(currency).as_tuple().exponent
    assert record["amount"].scaleb(exponent) == cents  # exactly the minor units Pay. sent
    assert record["reference"] == reference
    assert record["description"] == description


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=12))
def test_a_clearing_is_the_exact_sum_of_its_lines(values: list[int]) -> None:
    item = copy.deepcopy(SETTLEMENT)
    lines = []
    for n, value in enumerate(values):
        line = copy.deepcopy(LINE if value >= 0 else FEE_LINE)
        line["code"] = f"FT-{n:04d}"
        line["amount"] = {"value": abs(value), "currency": "EUR"}
        lines.append(line)
    item["clearings"][0]["clearingLines"] = lines
    total = sum(values)
    item["amount"] = {"value": total, "currency": "EUR"}
    outcome = run_parser("settlements", item)
    assert not isinstance(outcome, str), outcome
    (clearing,) = outcome["clearings"]
    assert clearing["amount"] == Decimal(total).scaleb(-2)
    assert sum(line["amount"] for line in outcome["clearing_lines"]) == clearing["amount"]


def _date_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Where the template holds a date or a timestamp."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _date_paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _date_paths(v, (*prefix, i))]
    if isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-":
        return [prefix]
    return []


OFFSETS = ["", "Z", "+01:00", "-01:00", "+14:00", "-12:00", "+00:00"]
dates_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.dates().map(lambda d: d.isoformat()),
    st.tuples(st.datetimes(), st.sampled_from(OFFSETS)).map(lambda t: t[0].isoformat() + t[1]),
    st.text(alphabet="0123456789-:T+Z .", max_size=30),
)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_date_or_timestamp_text_is_read_or_refused_by_name(
    endpoint: str, data: st.DataObject
) -> None:
    item = copy.deepcopy(ENDPOINTS[endpoint][2])
    path = data.draw(st.sampled_from(_date_paths(item)))
    _parent(item, path)[path[-1]] = data.draw(dates_text)
    check_outcome(endpoint, item, run_parser(endpoint, item))


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_beyond_the_calendar_in_utc_is_refused_by_name(moment: str) -> None:
    item = copy.deepcopy(RECORD)
    item["transactionDate"] = moment
    outcome = run_parser("records", item)
    assert isinstance(outcome, str)
    assert "clearingRecords[0].transactionDate" in outcome


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("code", [TOKEN, "x" * 500], ids=["token", "long"])
def test_a_record_named_by_the_token_or_a_huge_id_is_quoted_safely(
    endpoint: str, code: str
) -> None:
    # The first id field of each item, then a broken field below it, so the error names it.
    item = {"code": code, "id": code, "orderId": code, "reportingId": code, "amount": "x"}
    check_outcome(endpoint, item, run_parser(endpoint, item))
