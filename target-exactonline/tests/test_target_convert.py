"""tap-pay records → the engine's Clearing, and the errors that name record and field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pay_exact_transform import Direction, LineKind, RecordKind
from target_exactonline.collector import ClearingBundle, RecordProblem
from target_exactonline.convert import ConversionError, convert_bundle, transactions_by_order

D = Decimal


def bundle(**changes: Any) -> ClearingBundle:
    head = {
        "clearingId": "CLR-1",
        "settlementCode": "ST-1",
        "settlementDate": date(2026, 3, 4),
        "turnoverGroupCode": "CT-1",
        "turnoverGroupCodes": ["CT-1"],
        "amount": D("117.65"),
        "currency": "EUR",
        "lineCount": 3,
    }
    lines = [
        {"code": "L1", "clearingId": "CLR-1", "amount": D("121.00"), "currency": "EUR",
         "direction": "CREDIT", "clearingLineTypeId": 10, "clearingLineTypeName": "iDEAL",
         "transactions": 1},
        {"code": "L2", "clearingId": "CLR-1", "amount": D("-1.00"), "currency": "EUR",
         "direction": "DEBIT", "clearingLineTypeName": "Refund", "transactions": 1},
        {"code": "L3", "clearingId": "CLR-1", "amount": D("-2.35"), "currency": "EUR",
         "direction": None, "clearingLineTypeName": "Invoice settlement"},
    ]  # fmt: skip
    records = [
        {"clearingId": "CLR-1", "reportingId": "R1", "orderId": "O1", "reference": "ORD-1",
         "amount": D("121.00"), "currency": "EUR",
         "transactionDate": datetime(2026, 3, 2, 23, 30, tzinfo=UTC)},
        {"clearingId": "CLR-1", "reportingId": None, "orderId": "O1", "reference": "ORD-1",
         "amount": D("-1.00"), "currency": "EUR"},
    ]  # fmt: skip
    made = ClearingBundle("CLR-1", clearing=head, lines=lines, records=records)
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def convert(b: ClearingBundle, transactions: dict | None = None):  # type: ignore[no-untyped-def]
    return convert_bundle(b, transactions=transactions or {}, group_names={"CT-1": "Webshop"})


def test_a_complete_clearing_converts_with_signs_turned_into_kinds() -> None:
    result = convert(bundle())
    c = result.clearing
    assert (c.clearing_id, c.settlement_code, c.settlement_date) == (
        "CLR-1",
        "ST-1",
        date(2026, 3, 4),
    )
    assert c.payout == D("117.65")
    assert c.revenue_group is not None
    assert (c.revenue_group.code, c.revenue_group.name) == ("CT-1", "Webshop")
    kinds = {line.code: (line.direction, line.kind, line.amount) for line in c.lines}
    assert kinds == {
        "L1": (Direction.CREDIT, LineKind.PAYMENTS, D("121.00")),
        "L2": (Direction.DEBIT, LineKind.REFUNDS, D("1.00")),
        "L3": (Direction.DEBIT, LineKind.FEES, D("2.35")),  # no direction: the sign decides
    }
    by_id = {r.record_id: r for r in c.records}
    assert by_id["R1"].kind is RecordKind.PAYMENT
    assert by_id["R1"].transaction_date == date(2026, 3, 3)  # 00:30 in Amsterdam
    refund = by_id["O1"]  # no reporting id: the order id names it
    assert (refund.kind, refund.amount) == (RecordKind.REFUND, D("1.00"))


def test_enrichment_adds_extras_customer_and_chargebacks() -> None:
    tx = transactions_by_order(
        [
            {"orderId": "O1", "extra1": "1042", "customerEmail": "jan@example.nl",
             "customerFirstName": "Jan", "customerLastName": "Jansen", "statusCode": -71},
        ]
    )  # fmt: skip
    by_id = {r.record_id: r for r in convert(bundle(), tx).clearing.records}
    assert by_id["R1"].extra1 == "1042"
    assert by_id["R1"].customer_email == "jan@example.nl"
    assert by_id["R1"].customer_name == "Jan Jansen"
    assert by_id["O1"].kind is RecordKind.CHARGEBACK


def test_a_payment_and_its_refund_under_one_id_stay_two_records() -> None:
    b = bundle()
    for r in b.records:
        r["reportingId"] = None
    ids = sorted(r.record_id for r in convert(b).clearing.records)
    assert ids == ["O1", "O1#2"]


R1 = "clearing_records record R1: field"
L1 = "clearing_lines record L1: field"
HEAD = "clearings record CLR-1: field"
CASES = [
    (lambda b: b.records[0].update(amount=1.5), f"{R1} 'amount' must be an exact number, got 1.5"),
    (
        lambda b: b.records[0].update(amount=D("1.001")),
        f"{R1} 'amount' has more decimals than EUR allows: 1.001",
    ),
    (
        lambda b: b.records[0].update(currency="euro"),
        f"{R1} 'currency' must be a three-letter code, got 'euro'",
    ),
    (
        lambda b: b.lines[0].update(currency="USD"),
        f"{L1} 'currency' is USD; the clearing is in EUR",
    ),
    (
        lambda b: b.lines[0].update(direction="SIDEWAYS"),
        f"{L1} 'direction' must be CREDIT or DEBIT, got 'SIDEWAYS'",
    ),
    (
        lambda b: b.clearing.update(settlementDate="4 March"),
        f"{HEAD} 'settlementDate' is not a date: '4 March'",
    ),
    (lambda b: b.clearing.pop("amount"), f"{HEAD} 'amount' is missing"),
    (lambda b: b.lines.pop(), "the clearing announces 3 clearing lines; 2 arrived (incomplete)"),
    # Fields the SDK's JSON-schema validation used to catch (it is off by default now)
    (lambda b: b.records[0].update(amount="twelve"), f"{R1} 'amount' is not a number: 'twelve'"),
    (lambda b: b.records[0].update(amount="12.50"), f"{R1} 'amount' is not a number: '12.50'"),
    (
        lambda b: b.records[0].update(transactionDate="yesterday"),
        f"{R1} 'transactionDate' is not a date-time: 'yesterday'",
    ),
    (
        lambda b: b.clearing.update(lineCount="3"),
        f"{HEAD} 'lineCount' must be a whole number, got '3'",
    ),
    (
        lambda b: b.lines[0].update(transactions=1.5),
        f"{L1} 'transactions' must be a whole number, got 1.5",
    ),
]


@pytest.mark.parametrize(("change", "expected"), CASES)
def test_problems_name_the_record_and_the_field(change: Any, expected: str) -> None:
    b = bundle()
    change(b)
    with pytest.raises(ConversionError) as caught:
        convert(b)
    assert expected in caught.value.problems
    assert caught.value.clearing_id == "CLR-1"


def test_timestamps_arriving_as_text_are_read_in_amsterdam_time() -> None:
    b = bundle()
    b.records[0]["transactionDate"] = "2026-03-02T23:30:00+00:00"  # not parsed by the SDK
    by_id = {r.record_id: r for r in convert(b).clearing.records}
    assert by_id["R1"].transaction_date == date(2026, 3, 3)


def test_a_missing_clearing_record_makes_the_clearing_incomplete() -> None:
    with pytest.raises(ConversionError, match="did not arrive"):
        convert(bundle(clearing=None))


def test_bad_records_from_the_sinks_are_part_of_the_error() -> None:
    problem = RecordProblem("clearing_records", "reportingId=R9", "CLR-1", "field 'amount': bad")
    with pytest.raises(ConversionError) as caught:
        convert(bundle(problems=[problem]))
    assert caught.value.problems == ["clearing_records record reportingId=R9: field 'amount': bad"]


def test_mixed_revenue_groups_are_noted() -> None:
    b = bundle()
    b.clearing.update(turnoverGroupCode=None, turnoverGroupCodes=["CT-1", "CT-2"])
    result = convert(b)
    assert result.clearing.revenue_group is None
    assert result.notes == ["the clearing mixes revenue groups CT-1, CT-2"]


def chargeback_bundle() -> ClearingBundle:
    b = bundle()
    b.lines[1].update(clearingLineTypeName="Chargeback")  # L2: -1.00, one transaction
    return b


def test_chargebacks_without_transaction_details_count_as_refunds() -> None:
    result = convert(chargeback_bundle())
    kinds = {line.code: line.kind for line in result.clearing.lines}
    assert kinds["L2"] is LineKind.REFUNDS
    assert result.notes == [
        "the clearing holds 1 chargeback(s) that cannot be told apart from refunds without the "
        "tap's transaction details (enrich_transactions); booked as refunds"
    ]


def test_chargebacks_with_transaction_details_stay_chargebacks() -> None:
    tx = transactions_by_order([{"orderId": "O1", "statusCode": -71}])
    result = convert(chargeback_bundle(), tx)
    kinds = {line.code: line.kind for line in result.clearing.lines}
    assert kinds["L2"] is LineKind.CHARGEBACKS
    assert result.notes == []
    assert {r.kind for r in result.clearing.records} == {RecordKind.PAYMENT, RecordKind.CHARGEBACK}
