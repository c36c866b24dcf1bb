"""Pay.'s answers shaped into records, and malformed answers stopped with the endpoint and field.

These use requests-mock: the point is the exact bytes Pay. might send, which no honest sandbox
would produce.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests_mock
import simplejson
from tap_pay.errors import MalformedResponseError
from tap_pay.streams import ClearingRecordsStream

API = "https://pay.test/v2"
CONFIG = {
    "api_url": API,
    "token_code": "AT-1234-5678",
    "api_token": "t" * 40,
    "start_date": "2025-03-01",
}

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
REFUND_LINE = {
    **LINE,
    "code": "FT-1111-2222-4444",
    "clearingLineType": {"id": 9001, "name": "Refund", "direction": "DEBIT", "collecting": True},
    "amount": {"value": 12100, "currency": "EUR"},
    "transactions": 1,
}
SETTLEMENT = {
    "code": "AB12-CD34",
    "description": "Clearing: CLEARING-20250300123/ Funds: 1402.40",
    "settlementDate": "2025-03-04",
    "confirmationDate": "2025-03-04",
    "amount": {"value": 140240, "currency": "EUR"},
    "baseAccountIban": "NL00RABO0000000001",
    "clearingAccount": {
        "method": "iban",
        "iban": {"iban": "NL00BANK0000000002", "bic": "BANKNL2A", "owner": "Example BV"},
    },
    "clearings": [{"clearingId": "CLEARING-20250300123", "clearingLines": [LINE, REFUND_LINE]}],
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
    "merchant": {"code": "M-1234-5678", "name": "Example BV", "contractPackage": "Business"},
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
    "createdAt": "2024-01-10T09:00:00+01:00",
}


def as_json(value: Any) -> str:
    """JSON text with Decimals written as exact numbers, as Pay. sends them."""
    return simplejson.dumps(value, use_decimal=True)


def mock_pay(
    mocker: requests_mock.Mocker,
    *,
    settlements: list[Any] | None = None,
    records: list[Any] | None = None,
    invoice_lines: list[Any] | None = None,
    groups: Any = None,
) -> None:
    settlements = [SETTLEMENT] if settlements is None else settlements
    records = [RECORD] if records is None else records
    invoice_lines = [INVOICE_LINE] if invoice_lines is None else invoice_lines
    groups = [GROUP] if groups is None else groups

    def page(key: str, items: list[Any]) -> str:
        return as_json({"total": len(items), "count": len(items), "pages": 1, key: items})

    mocker.get(f"{API}/clearings/settlements", text=page("settlements", settlements))
    mocker.get(
        f"{API}/clearings/CLEARING-20250300123/records", text=page("clearingRecords", records)
    )
    mocker.get(f"{API}/invoicelines", text=page("invoiceLines", invoice_lines))
    count = len(groups) if isinstance(groups, list) else 1
    mocker.get(
        f"{API}/turnovergroups",
        text=as_json({"total": count, "count": count, "turnoverGroups": groups}),
    )


def test_records_carry_exact_major_units_and_utc(run_tap: Callable):
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        run = run_tap(CONFIG)
    (settlement,) = run.records["settlements"]
    assert settlement["amount"] == Decimal("1402.40")
    assert settlement["currency"] == "EUR"
    assert settlement["clearingIds"] == ["CLEARING-20250300123"]
    (clearing,) = run.records["clearings"]
    # CREDIT 1523.40 minus a DEBIT line of 121.00 = the payout.
    assert clearing["amount"] == Decimal("1402.40")
    assert clearing["announcedTransactions"] == 3
    assert clearing["turnoverGroupCode"] == "CT-1234-5678"
    lines = {line["code"]: line for line in run.records["clearing_lines"]}
    assert lines["FT-1111-2222-4444"]["amount"] == Decimal("-121.00")
    assert lines["FT-1111-2222-4444"]["direction"] == "DEBIT"
    (record,) = run.records["clearing_records"]
    assert record["amount"] == Decimal("761.70")
    assert record["transactionDate"] == "2025-03-02T13:03:11Z"
    (fee,) = run.records["invoice_lines"]
    assert fee["totalCosts"] == Decimal("6.23")
    assert fee["volume"] == Decimal("380.50")
    assert fee["lines"][0]["rate"] == Decimal("1.75")
    (group,) = run.records["turnover_groups"]
    assert group["createdAt"] == "2024-01-10T08:00:00Z"
    # Amounts travel as JSON numbers with their cents, never as floats that lost them.
    assert '"amount":1402.40' in run.stdout


def test_a_single_turnover_group_object_is_read_as_a_list(run_tap: Callable):
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, groups=GROUP)
        run = run_tap(CONFIG, streams={"turnover_groups"})
    assert [g["code"] for g in run.records["turnover_groups"]] == ["CT-1234-5678"]


def _changed(example: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of ``example`` with ``change`` applied; the example itself stays as it is."""
    item = copy.deepcopy(example)
    change(item)
    return item


MALFORMED = [
    pytest.param(
        {"settlements": [_changed(SETTLEMENT, lambda s: s["amount"].update(value="1402.40"))]},
        "GET /clearings/settlements (page 1)",
        "settlements[0].amount.value (settlement AB12-CD34)",
        id="settlement-amount-string",
    ),
    pytest.param(
        {"settlements": [_changed(SETTLEMENT, lambda s: s["amount"].pop("currency"))]},
        "GET /clearings/settlements",
        "settlements[0].amount.currency (settlement AB12-CD34): required field is missing",
        id="settlement-currency-missing",
    ),
    pytest.param(
        {"settlements": [_changed(SETTLEMENT, lambda s: s.update(settlementDate="04-03-2025"))]},
        "GET /clearings/settlements",
        "settlements[0].settlementDate (settlement AB12-CD34): expected a date",
        id="settlement-date",
    ),
    pytest.param(
        {
            "settlements": [
                _changed(
                    SETTLEMENT,
                    lambda s: s["clearings"][0]["clearingLines"][1]["amount"].update(
                        value=Decimal("121.5")
                    ),
                )
            ]
        },
        "GET /clearings/settlements",
        "settlements[0].clearings[0].clearingLines[1].amount.value "
        "(settlement AB12-CD34, clearing line FT-1111-2222-4444)",
        id="line-fraction-of-a-cent",
    ),
    pytest.param(
        {"settlements": [_changed(SETTLEMENT, lambda s: s["clearings"][0].pop("clearingId"))]},
        "GET /clearings/settlements",
        "settlements[0].clearings[0].clearingId (settlement AB12-CD34): required field is missing",
        id="clearing-id-missing",
    ),
    pytest.param(
        {"settlements": [_changed(SETTLEMENT, lambda s: s.update(clearings={"clearingId": 1}))]},
        "GET /clearings/settlements",
        "settlements[0].clearings (settlement AB12-CD34): expected an array",
        id="clearings-not-a-list",
    ),
    pytest.param(
        {"records": [_changed(RECORD, lambda r: r.pop("orderId"))]},
        "GET /clearings/CLEARING-20250300123/records (page 1)",
        "clearingRecords[0].orderId: required field is missing",
        id="record-order-id-missing",
    ),
    pytest.param(
        {"records": [_changed(RECORD, lambda r: r.update(reportingId=None))]},
        "GET /clearings/CLEARING-20250300123/records",
        "clearingRecords[0].reportingId (clearing CLEARING-20250300123, order 1234567890X1a2b3)",
        id="record-key-null",
    ),
    pytest.param(
        {"records": [_changed(RECORD, lambda r: r.update(clearingId="CLEARING-1"))]},
        "GET /clearings/CLEARING-20250300123/records",
        "clearingRecords[0].clearingId (clearing CLEARING-20250300123, order 1234567890X1a2b3): "
        "expected 'CLEARING-20250300123'",
        id="record-from-another-clearing",
    ),
    pytest.param(
        {"records": [_changed(RECORD, lambda r: r.update(transactionDate="gisteren"))]},
        "GET /clearings/CLEARING-20250300123/records",
        "clearingRecords[0].transactionDate (clearing CLEARING-20250300123, order "
        "1234567890X1a2b3): expected an ISO-8601 timestamp, got 'gisteren'",
        id="record-timestamp",
    ),
    pytest.param(
        {"records": [_changed(RECORD, lambda r: r["amount"].update(currency="euro"))]},
        "GET /clearings/CLEARING-20250300123/records",
        "clearingRecords[0].amount.currency (clearing CLEARING-20250300123, order "
        "1234567890X1a2b3): expected an ISO-4217 currency code, got 'euro'",
        id="record-currency",
    ),
    pytest.param(
        {
            "invoice_lines": [
                _changed(INVOICE_LINE, lambda f: f["totalCosts"].update(totalCosts="6.23"))
            ]
        },
        "GET /invoicelines (page 1)",
        "invoiceLines[0].totalCosts.totalCosts (invoice line 2025-03-02_CT-1234-5678-706): "
        "expected a number",
        id="fee-as-text",
    ),
    pytest.param(
        {"invoice_lines": [_changed(INVOICE_LINE, lambda f: f.update(transactions="12"))]},
        "GET /invoicelines",
        "invoiceLines[0].transactions (invoice line 2025-03-02_CT-1234-5678-706): "
        "expected an integer",
        id="fee-count-string",
    ),
    pytest.param(
        {"groups": [{**GROUP, "default": "yes"}]},
        "GET /turnovergroups",
        "turnoverGroups[0].default (turnover group CT-1234-5678): expected true or false",
        id="group-flag",
    ),
]


@pytest.mark.parametrize(("data", "endpoint", "where"), MALFORMED)
def test_malformed_payloads_name_the_endpoint_record_and_field(
    run_tap: Callable, data: dict[str, Any], endpoint: str, where: str
):
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, **data)
        with pytest.raises(MalformedResponseError) as caught:
            run_tap(CONFIG)
    message = str(caught.value)
    assert message.startswith(f"Pay. {endpoint}")
    assert where in message
    assert CONFIG["api_token"] not in message


def test_a_body_that_is_not_json_is_named(run_tap: Callable):
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(f"{API}/turnovergroups", text="<html>Bad gateway</html>", headers={"X": "y"})
        with pytest.raises(MalformedResponseError) as caught:
            run_tap(CONFIG, streams={"turnover_groups"})
    assert "GET /turnovergroups returned a body that is not JSON" in str(caught.value)


def test_a_broken_paging_envelope_is_named(run_tap: Callable):
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(
            f"{API}/invoicelines",
            text=as_json({"total": "many", "count": 1, "invoiceLines": [INVOICE_LINE]}),
        )
        with pytest.raises(MalformedResponseError) as caught:
            run_tap(CONFIG, streams={"invoice_lines"})
    assert "GET /invoicelines (page 1) returned a malformed response at total" in str(caught.value)


def test_a_smaller_page_than_asked_stops_the_run_instead_of_skipping(run_tap: Callable):
    # Only `total`, and 1 item where 100 were asked for: page 2 would start at item 101.
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(
            f"{API}/invoicelines",
            text=as_json({"total": 150, "count": 1, "invoiceLines": [INVOICE_LINE]}),
        )
        with pytest.raises(MalformedResponseError, match="page size is not the one asked for"):
            run_tap(CONFIG, streams={"invoice_lines"})


def _settlement_of(run: Any) -> dict[str, Any]:
    (settlement,) = run.records["settlements"]
    return settlement


def test_settlement_amounts_in_euros_are_read_as_euros_and_the_setting_named(run_tap: Callable):
    # A decimal cannot be cents: its lines and its "Funds:" text agree with euros. The run goes
    # on; the settlement carries the problem, naming the setting, so that it is not booked.
    in_euros = _changed(SETTLEMENT, lambda s: s["amount"].update(value=Decimal("1402.40")))
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, settlements=[in_euros])
        wrong = _settlement_of(run_tap(CONFIG))
        right = _settlement_of(run_tap({**CONFIG, "settlement_amount_unit": "euros"}))
    assert wrong["amount"] == right["amount"] == Decimal("1402.40")
    assert wrong["amountUnit"] == right["amountUnit"] == "euros"
    assert "set settlement_amount_unit to 'euros'" in wrong["amountProblem"]
    assert right["amountProblem"] is None


def test_whole_euros_read_as_cents_are_caught_by_the_lines_and_the_funds_text(run_tap: Callable):
    # 1402 euros sent as the integer 1402 looks like cents; the lines (cents) say otherwise.
    settlement = _changed(SETTLEMENT, lambda s: s["amount"].update(value=1402))
    settlement["description"] = "Clearing: CLEARING-20250300123/ Funds: 1402.00"
    settlement["clearings"][0]["clearingLines"][0]["amount"]["value"] = 152300
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, settlements=[settlement])
        found = _settlement_of(run_tap(CONFIG))
    assert found["amount"] == Decimal("1402.00")
    assert found["amountUnit"] == "euros"
    assert found["fundsAmount"] == Decimal("1402.00")
    assert "its clearing lines and its 'Funds:' text agree" in found["amountProblem"]
    assert "set settlement_amount_unit to 'euros'" in found["amountProblem"]


def test_an_amount_that_contradicts_its_funds_text_by_a_cent_names_the_setting(
    run_tap: Callable,
):
    # Not off by a factor 100: the amount and its own description still disagree.
    settlement = _changed(SETTLEMENT, lambda s: s.update(description="Funds: 1402.41"))
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, settlements=[settlement])
        found = _settlement_of(run_tap(CONFIG))
    assert found["amount"] == Decimal("1402.40")
    assert "its 'Funds:' text says 1402.41 EUR" in found["amountProblem"]
    assert "settlement_amount_unit" in found["amountProblem"]


def test_a_stated_amount_a_euro_off_its_lines_is_carried_as_pay_stated_it(run_tap: Callable):
    # The amount and its "Funds:" text agree on cents; only the lines differ. The tap carries
    # Pay.'s amount, not the lines' sum, and every line, so a target can judge the totals.
    tampered = _changed(SETTLEMENT, lambda s: s["amount"].update(value=140340))
    tampered["description"] = "Clearing: CLEARING-20250300123/ Funds: 1403.40"
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, settlements=[tampered])
        run = run_tap(CONFIG)
    found = _settlement_of(run)
    assert found["amount"] == Decimal("1403.40")
    assert found["amountProblem"] is None
    assert sum(line["amount"] for line in found["lines"]) == Decimal("1402.40")
    assert run.records["clearings"][0]["amount"] == Decimal("1402.40")  # its own lines


def test_the_settlement_carries_the_lines_of_clearings_the_group_filter_leaves_out(
    run_tap: Callable,
):
    other_line = {
        **LINE,
        "code": "FT-9999-9999-9999",
        "turnoverGroup": {"code": "CT-9999-9999", "name": "Shop"},
        "amount": {"value": 5000, "currency": "EUR"},
    }
    settlement = _changed(
        SETTLEMENT,
        lambda s: s["clearings"].append(
            {"clearingId": "CLEARING-20250300999", "clearingLines": [other_line]}
        ),
    )
    settlement["amount"]["value"] = 145240
    settlement["description"] = "Funds: 1452.40"
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, settlements=[settlement])
        run = run_tap({**CONFIG, "revenue_groups": ["CT-1234-5678"]})
    found = _settlement_of(run)
    assert found["clearingIds"] == ["CLEARING-20250300123"]
    assert {line["clearingId"] for line in found["lines"]} == {
        "CLEARING-20250300123",
        "CLEARING-20250300999",
    }
    assert sum(line["amount"] for line in found["lines"]) == found["amount"]
    assert found["amountProblem"] is None


def test_a_clearing_mixing_currencies_is_refused(run_tap: Callable):
    settlement = _changed(
        SETTLEMENT, lambda s: s["clearings"][0]["clearingLines"][1]["amount"].update(currency="USD")
    )
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, settlements=[settlement])
        with pytest.raises(MalformedResponseError, match="expected one currency per clearing"):
            run_tap(CONFIG)


def test_a_malformed_value_that_is_the_token_is_not_quoted(run_tap: Callable):
    echoed = _changed(RECORD, lambda r: r.update(transactionDate=CONFIG["api_token"]))
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, records=[echoed])
        with pytest.raises(MalformedResponseError) as caught:
            run_tap(CONFIG)
    assert "expected an ISO-8601 timestamp, got '***'" in str(caught.value)
    assert CONFIG["api_token"] not in str(caught.value)


def test_without_any_envelope_only_a_full_page_asks_for_the_next(run_tap: Callable):
    full = [{**INVOICE_LINE, "code": f"line-{n}"} for n in range(100)]
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(
            f"{API}/invoicelines",
            [
                {"text": as_json({"invoiceLines": full})},
                {"text": as_json({"invoiceLines": [INVOICE_LINE]})},
            ],
        )
        run = run_tap(CONFIG, streams={"invoice_lines"})
        pages = [r.qs["page"] for r in mocker.request_history if "invoicelines" in r.path]
    assert pages == [["1"], ["2"]]
    assert len(run.records["invoice_lines"]) == 101


def test_sub_cent_unit_costs_keep_their_precision_and_only_the_booked_fee_is_rounded(
    run_tap: Callable,
):
    # The spec's own example: a part costing 0.0195 EUR. It used to stop the run with no
    # records for any stream; now every stream is read and the rate keeps its decimals.
    spec_example = _changed(
        INVOICE_LINE,
        lambda f: f.update(
            totalCosts={"totalCosts": Decimal("0.0395"), "currency": "EUR"},
            lines=[
                {
                    "code": "FT-1234-1234-1234",
                    "type": "SELL",
                    "unitType": {"id": 12, "name": "percentage"},
                    "amount": Decimal("0.02"),
                    "costs": {"revenue": Decimal("0.0195"), "currency": "EUR"},
                    "processedDate": "2021-10-09",
                },
                {
                    "code": "FT-1234-1234-1235",
                    "type": "SELL",
                    "unitType": {"id": 11, "name": "transaction"},
                    "amount": Decimal("0.0100"),
                    "costs": {"revenue": Decimal("0.0100"), "currency": "EUR"},
                    "processedDate": "2021-10-09",
                },
                {
                    "code": "FT-1234-1234-1236",
                    "type": "BUY",
                    "unitType": {"id": 11, "name": "transaction"},
                    "amount": Decimal("0.0100"),
                    "costs": {"revenue": Decimal("0.0100"), "currency": "EUR"},
                    "processedDate": "2021-10-09",
                },
            ],
        ),
    )
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, invoice_lines=[spec_example])
        run = run_tap(CONFIG)
    assert all(run.records[s] for s in ("settlements", "clearing_records", "turnover_groups"))
    (line,) = run.records["invoice_lines"]
    assert [part["costs"] for part in line["lines"]] == [
        Decimal("0.0195"),
        Decimal("0.0100"),
        Decimal("0.0100"),
    ]
    assert [part["type"] for part in line["lines"]] == ["SELL", "SELL", "BUY"]
    assert line["totalCosts"] == Decimal("0.0395")
    # 0.0195 + 0.0100 (the BUY part is not charged to the merchant) = 0.0295 -> 0.03, half up
    assert line["merchantCosts"] == Decimal("0.03")


def test_an_invoice_line_part_of_an_unknown_type_is_named(run_tap: Callable):
    odd = _changed(INVOICE_LINE, lambda f: f["lines"][0].update(type="LEASE"))
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker, invoice_lines=[odd])
        with pytest.raises(MalformedResponseError, match=r"lines\[0\]\.type .*SELL or BUY"):
            run_tap(CONFIG, streams={"invoice_lines"})


def test_turnover_groups_in_the_spec_envelope_take_one_call_without_paging(run_tap: Callable):
    # labd/paynl-js-sdk packages/rest/openapi.json: no page/limit, no count, _links a list, and
    # the example renders turnoverGroups as a single object.
    spec = {
        "total": 1,
        "turnoverGroups": {**GROUP, "_links": [{"href": "/turnovergroups/CT-1234-5678"}]},
        "_links": [{"href": "/turnovergroups", "rel": "self", "type": "GET"}],
    }
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(f"{API}/turnovergroups", text=as_json(spec))
        run = run_tap(CONFIG, streams={"turnover_groups"})
        asked = [r.qs for r in mocker.request_history if "turnovergroups" in r.path]
    assert [g["code"] for g in run.records["turnover_groups"]] == ["CT-1234-5678"]
    assert asked == [{}]


def test_turnover_groups_paged_after_all_are_followed_by_their_next_link(run_tap: Callable):
    groups = [{**GROUP, "code": f"CT-1234-{n:04d}"} for n in range(3)]

    def page(items: list[Any], number: int) -> dict[str, Any]:
        links: dict[str, Any] = {"self": {"href": f"/turnovergroups?page={number}"}}
        if number == 1:
            links["next"] = {"href": "/turnovergroups?page=2&limit=2"}
        return {"total": 3, "count": len(items), "turnoverGroups": items, "_links": links}

    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(
            f"{API}/turnovergroups",
            [{"text": as_json(page(groups[:2], 1))}, {"text": as_json(page(groups[2:], 2))}],
        )
        run = run_tap(CONFIG, streams={"turnover_groups"})
        asked = [r.qs.get("page") for r in mocker.request_history if "turnovergroups" in r.path]
    assert [g["code"] for g in run.records["turnover_groups"]] == [g["code"] for g in groups]
    assert asked == [None, ["2"]]


def test_a_list_that_ignores_paging_is_read_once(run_tap: Callable):
    # More items than the limit asked for: the endpoint does not page, so page 2 would repeat.
    lines = [{**INVOICE_LINE, "code": f"line-{n}"} for n in range(150)]
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(f"{API}/invoicelines", text=as_json({"total": 150, "invoiceLines": lines}))
        run = run_tap(CONFIG, streams={"invoice_lines"})
        pages = [r.qs["page"] for r in mocker.request_history if "invoicelines" in r.path]
    assert pages == [["1"]]
    assert len(run.records["invoice_lines"]) == 150


@pytest.mark.parametrize(
    "envelope",
    [
        {"total": 2, "count": 1, "pages": 2},  # the settlements' shape, with pages
        {"total": 2, "count": 1},  # the records example: no pages
        {"total": 2},  # the clearinglines example: not even count
    ],
    ids=["pages", "no-pages", "total-only"],
)
def test_records_page_on_whatever_envelope_pay_sends(
    run_tap: Callable, envelope: dict, monkeypatch: pytest.MonkeyPatch
):
    second = {**RECORD, "reportingId": "R-000124", "amount": {"value": 0, "currency": "EUR"}}
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        url = f"{API}/clearings/CLEARING-20250300123/records"
        mocker.get(
            url,
            [
                {"text": as_json({**envelope, "clearingRecords": [RECORD], "_links": {}})},
                {"text": as_json({**envelope, "clearingRecords": [second], "_links": {}})},
            ],
        )
        monkeypatch.setattr(ClearingRecordsStream, "page_limit", 1)  # two pages of one
        run = run_tap(CONFIG, streams={"settlements", "clearings", "clearing_records"})
    ids = [r["reportingId"] for r in run.records["clearing_records"]]
    assert ids == ["R-000123", "R-000124"]


TRANSACTION_V2 = {
    "id": "EX-0171-7899-4460",
    "orderId": "1234567890X1a2b3",
    "description": "Example description",
    "reference": "INV20250042",
    "amount": {"value": 76170, "currency": "EUR"},
    "status": {"code": 100, "action": "PAID", "phase": "SUCCESS"},
    "customer": {"email": "sandbox@pay.nl"},
    "stats": {"extra1": "76908"},
}


@pytest.mark.parametrize(
    "names",
    [
        {
            "serviceCode": "SL-4878-2340",
            "createdAt": "2021-09-04T12:14:01+02:00",
            "modifiedAt": None,
            "expiresAt": "2021-09-04T12:29:01+02:00",
        },
        {
            "serviceId": "SL-4878-2340",
            "created": "2021-09-04T12:14:01+02:00",
            "modified": None,
            "expire": "2021-09-04T12:29:01+02:00",
        },
    ],
    ids=["spec-example-names", "older-names"],
)
def test_transaction_info_is_read_under_either_set_of_names(run_tap: Callable, names: dict):
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(
            f"{API}/transactions/1234567890X1a2b3", text=as_json({**TRANSACTION_V2, **names})
        )
        run = run_tap({**CONFIG, "enrich_transactions": True})
    (found,) = run.records["transactions"]
    assert found["serviceCode"] == "SL-4878-2340"
    assert found["createdAt"] == "2021-09-04T10:14:01Z"
    assert found["modifiedAt"] is None
    assert found["expiresAt"] == "2021-09-04T10:29:01Z"
    assert found["source"] == "transactions"


@pytest.mark.parametrize("status", [404, 410])
def test_an_order_v2_does_not_serve_is_read_from_the_order_api(run_tap: Callable, status: int):
    order = {
        "id": "9f5cc332-8cd7-4242-b9c8-51941aa12837",
        "serviceId": "SL-4878-2340",
        "orderId": "1234567890X1a2b3",
        "reference": "INV20250042",
        "status": {"code": 100, "action": "PAID"},
        "integration": {"test": False},
        "amount": {"value": 76170, "currency": "EUR"},
        "capturedAmount": {"value": 76170, "currency": "EUR"},
        "checkoutData": {"customer": {"email": "sandbox@pay.nl", "company": {"name": "Acme"}}},
        "createdAt": "2025-03-02T14:03:11+01:00",
        "modifiedAt": None,
        "expiresAt": "2025-03-02T14:18:11+01:00",
    }
    with requests_mock.Mocker() as mocker:
        mock_pay(mocker)
        mocker.get(f"{API}/transactions/1234567890X1a2b3", status_code=status, text="{}")
        mocker.get("https://connect.pay.nl/v1/orders/1234567890X1a2b3/status", text=as_json(order))
        run = run_tap({**CONFIG, "enrich_transactions": True})
    (found,) = run.records["transactions"]
    assert found["source"] == "orders"
    assert found["id"] == order["id"]
    assert found["amountPaid"] == Decimal("761.70")
    assert (found["customerEmail"], found["companyName"]) == ("sandbox@pay.nl", "Acme")
    assert found["serviceCode"] == "SL-4878-2340"
    assert found["testMode"] is False
