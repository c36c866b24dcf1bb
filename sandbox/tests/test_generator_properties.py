"""Property-based: whatever the generator params, the money adds up everywhere."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pay_exact_sandbox.generator import (
    PLATFORMS,
    FeeSettings,
    GeneratorParams,
    Merchant,
    RevenueGroup,
    generate,
)
from pay_exact_sandbox.generator.params import INVOICE_SETTLEMENTS

INVOICE_SETTLEMENT_TYPE = 9101
REFUND_TYPE = 9001
CHARGEBACK_TYPE = 9002


@st.composite
def generator_params(draw: st.DrawFn) -> GeneratorParams:
    platforms = draw(st.lists(st.sampled_from(PLATFORMS), min_size=1, max_size=3, unique=True))
    groups = tuple(
        RevenueGroup(f"Group {i}", platform, own_bank_account=draw(st.booleans()))
        for i, platform in enumerate(platforms)
    )
    low = draw(st.integers(0, 8))
    high = draw(st.integers(low, 15))
    refund = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5]))
    return GeneratorParams(
        seed=draw(st.integers(0, 2**32)),
        start_date=draw(st.dates(date(2025, 1, 1), date(2026, 12, 31))),
        days=draw(st.integers(1, 9)),
        clearings_per_day=draw(st.integers(1, 3)),
        payments_per_clearing=(low, high),
        revenue_groups=groups,
        split_by_revenue_group=draw(st.booleans()),
        refund_share=refund,
        chargeback_share=draw(st.sampled_from([0.0, 0.02, 0.3])),
        fees=FeeSettings(invoice_settlement=draw(st.sampled_from(INVOICE_SETTLEMENTS))),
        late_settlements=draw(st.integers(0, 2)),
    )


def _all_settlements(merchant: Merchant) -> list[dict]:
    return merchant.pay["settlements"] + merchant.pay["lateSettlements"]


def check_sums(merchant: Merchant, params: GeneratorParams) -> None:
    pay = merchant.pay
    records_by_clearing: dict[str, list[dict]] = defaultdict(list)
    for record in pay["clearingRecords"]:
        records_by_clearing[record["clearingId"]].append(record)
    refund_ids = {r for o in merchant.orders for r in o.refund_records}
    chargeback_ids = {r for o in merchant.orders for r in o.chargeback_records}
    settled_fees = 0
    for settlement in _all_settlements(merchant):
        total = 0
        for clearing in settlement["clearings"]:
            lines = clearing["clearingLines"]
            records = records_by_clearing.pop(clearing["clearingId"])
            credit = sum(
                x["amount"]["value"]
                for x in lines
                if x["clearingLineType"]["direction"] == "CREDIT"
            )
            debit = sum(
                x["amount"]["value"] for x in lines if x["clearingLineType"]["direction"] == "DEBIT"
            )
            fees = sum(
                x["amount"]["value"]
                for x in lines
                if x["clearingLineType"]["id"] == INVOICE_SETTLEMENT_TYPE
            )
            payout = credit - debit
            assert payout > 0
            assert sum(r["amount"]["value"] for r in records) - fees == payout
            assert {r["settlementCode"] for r in records} == {settlement["code"]}
            settled_fees += fees
            total += payout
            # Each line covers as many records as it says.
            counts: Counter = Counter()
            for r in records:
                group = r["turnoverGroup"]["code"]
                if r["reportingId"] in refund_ids:
                    counts[(group, REFUND_TYPE)] += 1
                elif r["reportingId"] in chargeback_ids:
                    counts[(group, CHARGEBACK_TYPE)] += 1
                else:
                    assert r["amount"]["value"] > 0
                    counts[(group, r["paymentMethod"]["id"])] += 1
            line_counts = Counter(
                {
                    (x["turnoverGroup"]["code"], x["clearingLineType"]["id"]): x["transactions"]
                    for x in lines
                    if x["clearingLineType"]["id"] != INVOICE_SETTLEMENT_TYPE
                }
            )
            assert line_counts == counts
            if params.split_by_revenue_group:
                assert len({x["turnoverGroup"]["code"] for x in lines}) == 1
        assert settlement["amount"]["value"] == total
    assert not records_by_clearing, "records whose clearing is in no settlement"
    paid_invoices = sum(
        int(line["totalCosts"]["totalCosts"] * 100)
        for line in pay["invoiceLines"]
        if line["state"] == "PAID"
    )
    assert paid_invoices == settled_fees
    if params.fees.invoice_settlement == "none":
        assert settled_fees == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generator_params())
def test_every_settlement_equals_its_clearings_and_lines_equal_records(
    params: GeneratorParams,
) -> None:
    check_sums(generate(params), params)


@settings(max_examples=30, deadline=None)
@given(generator_params())
def test_identity_and_linkage_hold(params: GeneratorParams) -> None:
    merchant = generate(params)
    pay = merchant.pay
    records = pay["clearingRecords"]
    assert len({r["reportingId"] for r in records}) == len(records)
    # A refund never shares a clearing with its payment: clearingId + orderId stays a key.
    assert len({(r["clearingId"], r["orderId"]) for r in records}) == len(records)
    by_id = {r["reportingId"]: r for r in records}
    clearing_order = {
        c["clearingId"]: i
        for i, c in enumerate(
            c
            for s in sorted(
                pay["settlements"] + pay["lateSettlements"], key=lambda s: s["settlementDate"]
            )
            for c in s["clearings"]
        )
    }
    transactions = {t["orderId"]: t for t in pay["transactions"]}
    for order in merchant.orders:
        payment = by_id[order.payment_record]  # every payment is paid out
        assert payment["orderId"] == order.pay_order_id
        assert Decimal(payment["amount"]["value"]) / 100 == order.amount
        for reversal_id in order.refund_records + order.chargeback_records:
            reversal = by_id[reversal_id]
            assert reversal["amount"]["value"] == -payment["amount"]["value"]
            assert clearing_order[reversal["clearingId"]] > clearing_order[payment["clearingId"]]
        status = transactions[order.pay_order_id]["status"]["code"]
        assert status == {"paid": 100, "refunded": -81, "charged_back": -71}[order.status]
