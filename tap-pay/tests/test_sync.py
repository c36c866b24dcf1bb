"""Full syncs against the Pay. sandbox: paging, call counts, incremental state, filters."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pay_exact_sandbox
import pytest
from pay_exact_sandbox.generator import GeneratorParams, RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox

TWO_GROUPS = (RevenueGroup("Webshop", "woocommerce"), RevenueGroup("Winkel", "lightspeed"))


def calls(sandbox: PaySandbox, prefix: str) -> list[Any]:
    return sandbox.requests("/v2" + prefix)


def query(entry: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(entry.query).items()}


def minimum_calls(sandbox: PaySandbox, start: str, *, enrich: bool = False) -> int:
    """The fewest requests a full sync can make, from the sandbox's own data and page limits."""
    pay = sandbox.merchant.pay
    settlements = [s for s in pay["settlements"] if s["settlementDate"] >= start]
    clearings = [c["clearingId"] for s in settlements for c in s["clearings"]]
    per_clearing = Counter(r["clearingId"] for r in pay["clearingRecords"])
    fees = [f for f in pay["invoiceLines"] if f["date"] >= start]
    total = max(1, math.ceil(len(settlements) / 10))
    total += sum(max(1, math.ceil(per_clearing[c] / 10_000)) for c in clearings)
    total += max(1, math.ceil(len(fees) / 100))
    total += max(1, math.ceil(len(pay["turnoverGroups"]) / 100))
    if enrich:
        wanted = set(clearings)
        total += len({r["orderId"] for r in pay["clearingRecords"] if r["clearingId"] in wanted})
    return total


def test_37_settlements_take_4_pages_of_10(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    sandbox = pay_sandbox_factory(GeneratorParams(seed=37, days=37, payments_per_clearing=(1, 2)))
    assert len(sandbox.merchant.pay["settlements"]) == 37
    run = run_tap(sandbox_config(sandbox), streams={"settlements"})
    assert len({s["code"] for s in run.records["settlements"]}) == 37
    pages = calls(sandbox, "/clearings/settlements")
    assert [query(e)["page"] for e in pages] == ["1", "2", "3", "4"]
    assert {query(e)["limit"] for e in pages} == {"10"}


def test_a_clearing_of_25000_records_takes_3_pages_of_10000(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    sandbox = pay_sandbox_factory(GeneratorParams(seed=25, days=1, payments_per_clearing=25_000))
    run = run_tap(sandbox_config(sandbox), streams={"clearing_records"})
    records = run.records["clearing_records"]
    assert len(records) == 25_000
    assert len({(r["clearingId"], r["reportingId"]) for r in records}) == 25_000
    pages = calls(sandbox, "/clearings/CLEARING-")
    assert [(query(e)["page"], query(e)["limit"]) for e in pages] == [
        ("1", "10000"),
        ("2", "10000"),
        ("3", "10000"),
    ]


@pytest.mark.parametrize("enrich", [False, True])
def test_a_run_makes_exactly_the_minimum_number_of_calls(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable, enrich: bool
):
    sandbox = pay_sandbox_factory(
        GeneratorParams(seed=11, days=24, payments_per_clearing=(3, 9), refund_share=0.2)
    )
    run = run_tap(sandbox_config(sandbox, start_date="2025-03-10", enrich_transactions=enrich))
    expected = minimum_calls(sandbox, "2025-03-10", enrich=enrich)
    assert len(sandbox.requests()) == expected
    assert all(entry.status == 200 for entry in sandbox.requests())
    assert bool(run.records["transactions"]) is enrich


def test_amounts_add_up_and_timestamps_are_utc(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    run = run_tap(sandbox_config(pay_sandbox))
    by_settlement: dict[str, Decimal] = Counter()
    for clearing in run.records["clearings"]:
        by_settlement[clearing["settlementCode"]] += clearing["amount"]
    for settlement in run.records["settlements"]:
        assert settlement["amount"] == by_settlement[settlement["code"]]
        assert settlement["amount"].as_tuple().exponent == -2
    records_by_clearing: dict[str, Decimal] = Counter()
    for record in run.records["clearing_records"]:
        assert record["transactionDate"].endswith("Z")
        records_by_clearing[record["clearingId"]] += record["amount"]
    announced = {c["clearingId"]: c["announcedTransactions"] for c in run.records["clearings"]}
    received = Counter(r["clearingId"] for r in run.records["clearing_records"])
    assert received == announced


def test_a_rerun_reads_nothing_new_and_keeps_the_bookmark(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    config = sandbox_config(pay_sandbox, lookback_days=0)
    first = run_tap(config)
    bookmark = first.bookmark("settlements")
    last_date = max(s["settlementDate"] for s in pay_sandbox.merchant.pay["settlements"])
    assert bookmark == last_date
    pay_sandbox.admin.log.clear()

    second = run_tap(config, state=first.state)

    assert second.bookmark("settlements") == bookmark
    assert second.bookmark("invoice_lines") == first.bookmark("invoice_lines")
    (asked,) = calls(pay_sandbox, "/clearings/settlements")
    assert query(asked)["settlementDate[gte]"] == bookmark
    for stream, key in (("settlements", "code"), ("clearing_records", "reportingId")):
        again = {r[key] for r in second.records[stream]}
        assert again <= {r[key] for r in first.records[stream]}
    # Only the bookmark's own day is read again, so the rerun costs a handful of calls.
    assert len(pay_sandbox.requests()) < len(first.records["clearing_records"])


def test_the_bookmark_never_moves_backwards(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    ahead = {
        "bookmarks": {
            "settlements": {
                "replication_key": "settlementDate",
                "replication_key_value": "2025-04-30",
            },
            "invoice_lines": {"replication_key": "date", "replication_key_value": "2025-04-30"},
        }
    }
    # 60 days of look-back reach all the (older) data, which is read but must not pull back.
    run = run_tap(sandbox_config(pay_sandbox, lookback_days=60), state=ahead)
    assert run.records["settlements"]
    assert run.bookmark("settlements") == "2025-04-30"
    assert run.bookmark("invoice_lines") == "2025-04-30"


def test_the_look_back_picks_up_a_late_clearing(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    sandbox = pay_sandbox_factory(GeneratorParams(seed=5, days=6, late_settlements=1))
    (late_code,) = sandbox.late_settlement_codes
    first = run_tap(sandbox_config(sandbox, lookback_days=3))
    assert late_code not in {s["code"] for s in first.records["settlements"]}
    sandbox.reveal_late_settlements(late_code)
    late = next(s for s in sandbox.merchant.pay["lateSettlements"] if s["code"] == late_code)
    assert late["settlementDate"] < first.bookmark("settlements")

    without = run_tap(sandbox_config(sandbox, lookback_days=0), state=first.state)
    second = run_tap(sandbox_config(sandbox, lookback_days=3), state=first.state)

    assert late_code not in {s["code"] for s in without.records["settlements"]}
    assert late_code in {s["code"] for s in second.records["settlements"]}
    late_clearings = {c["clearingId"] for c in late["clearings"]}
    assert late_clearings <= {c["clearingId"] for c in second.records["clearings"]}
    assert late_clearings <= {r["clearingId"] for r in second.records["clearing_records"]}
    assert second.bookmark("settlements") == first.bookmark("settlements")


def _group_codes(sandbox: PaySandbox) -> list[str]:
    return [g["code"] for g in sandbox.merchant.pay["turnoverGroups"]]


def test_the_revenue_group_filter_reads_only_that_group(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    sandbox = pay_sandbox_factory(GeneratorParams(seed=3, days=4, revenue_groups=TWO_GROUPS))
    wanted, other = _group_codes(sandbox)
    run = run_tap(sandbox_config(sandbox, revenue_groups=[wanted]))

    assert run.records["clearings"]
    assert {c["turnoverGroupCode"] for c in run.records["clearings"]} == {wanted}
    for stream in ("clearing_lines", "clearing_records", "invoice_lines"):
        assert {r["turnoverGroupCode"] for r in run.records[stream]} == {wanted}, stream
    assert [g["code"] for g in run.records["turnover_groups"]] == [wanted]
    for prefix in ("/clearings/settlements", "/invoicelines"):
        assert {query(e).get("turnoverGroup[eq]") for e in calls(sandbox, prefix)} == {wanted}
    # Records are fetched for the wanted group's clearings only, though settlements hold both.
    other_clearings = {
        c["clearingId"]
        for s in sandbox.merchant.pay["settlements"]
        for c in s["clearings"]
        if c["clearingLines"][0]["turnoverGroup"]["code"] == other
    }
    assert other_clearings
    fetched = {e.path.split("/")[3] for e in calls(sandbox, "/clearings/CLEARING-")}
    assert fetched
    assert not fetched & other_clearings


def test_two_revenue_groups_merge_into_whole_settlements(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    sandbox = pay_sandbox_factory(GeneratorParams(seed=3, days=4, revenue_groups=TWO_GROUPS))
    everything = run_tap(sandbox_config(sandbox))
    both = run_tap(sandbox_config(sandbox, revenue_groups=_group_codes(sandbox)))
    for stream, key in (("settlements", "code"), ("clearings", "clearingId")):
        keys = [r[key] for r in both.records[stream]]
        assert len(keys) == len(set(keys)), f"{stream} repeated"
        assert set(keys) == {r[key] for r in everything.records[stream]}
    assert {tuple(s["clearingIds"]) for s in both.records["settlements"]} == {
        tuple(s["clearingIds"]) for s in everything.records["settlements"]
    }


def test_transactions_cost_nothing_unless_enrichment_is_on(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    run = run_tap(sandbox_config(pay_sandbox), streams={"clearing_records", "transactions"})
    assert run.records["clearing_records"]
    assert not run.records["transactions"]
    assert not calls(pay_sandbox, "/transactions")

    enriched = run_tap(
        sandbox_config(pay_sandbox, enrich_transactions=True),
        streams={"clearing_records", "transactions"},
    )
    orders = {r["orderId"] for r in enriched.records["clearing_records"]}
    assert {t["orderId"] for t in enriched.records["transactions"]} == orders
    assert len(calls(pay_sandbox, "/transactions")) == len(orders)
    assert all(t["customerEmail"] for t in enriched.records["transactions"])


def test_selecting_only_a_child_still_advances_the_bookmark(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    run = run_tap(sandbox_config(pay_sandbox), streams={"clearing_records"})
    assert set(run.records) == {"clearing_records"}
    last_date = max(s["settlementDate"] for s in pay_sandbox.merchant.pay["settlements"])
    assert run.bookmark("settlements") == last_date


def test_a_partner_token_filters_on_its_merchant(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    merchant = pay_sandbox.merchant.pay["merchants"][0]["code"]
    run = run_tap(sandbox_config(pay_sandbox, merchant_code=merchant))
    assert run.records["settlements"]
    for prefix, param in (
        ("/clearings/settlements", "merchant[eq]"),
        ("/invoicelines", "merchant[eq]"),
        ("/turnovergroups", "merchant"),
    ):
        assert {query(e).get(param) for e in calls(pay_sandbox, prefix)} == {merchant}


def test_settlement_amounts_in_euros_with_the_setting(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    params = GeneratorParams(seed=8, days=3)
    in_cents = run_tap(sandbox_config(pay_sandbox_factory(params)), streams={"settlements"})
    sandbox = pay_sandbox_factory(params, settlement_amount_unit="euros")
    in_euros = run_tap(
        sandbox_config(sandbox, settlement_amount_unit="euros"), streams={"settlements"}
    )
    assert [s["amount"] for s in in_euros.records["settlements"]] == [
        s["amount"] for s in in_cents.records["settlements"]
    ]


@pytest.mark.parametrize(
    "case",
    [
        (True, {"settlements", "clearings", "clearing_records"}, "transactions stream is not"),
        (False, {"settlements", "clearings", "clearing_records", "transactions"}, "stays empty"),
        (True, {"settlements", "clearings", "clearing_records", "transactions"}, None),
    ],
)
def test_the_tap_warns_when_transaction_details_cannot_arrive(
    pay_sandbox_factory: Callable,
    sandbox_config: Callable,
    run_tap: Callable,
    case: tuple[bool, set[str], str | None],
):
    enrich, streams, warned = case
    sandbox = pay_sandbox_factory(GeneratorParams(seed=3, days=1, payments_per_clearing=1))
    run = run_tap(sandbox_config(sandbox, enrich_transactions=enrich), streams=streams)
    if warned is None:
        assert "enrich_transactions" not in run.stderr
        assert run.records["transactions"]
    else:
        assert warned in run.stderr


def _order_calls(sandbox: PaySandbox) -> list[Any]:
    return sandbox.requests("/v1/orders/")


def test_enrichment_reads_the_order_api_when_chosen(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    config = sandbox_config(pay_sandbox, enrich_transactions=True, transaction_api="orders")
    run = run_tap(config, streams={"clearing_records", "transactions"})
    orders = {r["orderId"] for r in run.records["clearing_records"]}
    found = run.records["transactions"]
    assert {t["orderId"] for t in found} == orders
    assert {t["source"] for t in found} == {"orders"}
    assert calls(pay_sandbox, "/transactions/") == []
    assert len(_order_calls(pay_sandbox)) == len(orders)
    paid = next(t for t in found if t["statusCode"] == 100)
    assert paid["customerEmail"]
    assert paid["serviceCode"].startswith("SL-")
    assert paid["createdAt"].endswith("Z")


def test_auto_keeps_v2_while_pay_serves_it_and_falls_back_to_the_order_api(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    config = sandbox_config(pay_sandbox, enrich_transactions=True)
    before = run_tap(config, streams={"clearing_records", "transactions"})
    assert {t["source"] for t in before.records["transactions"]} == {"transactions"}
    assert _order_calls(pay_sandbox) == []
    pay_sandbox.store.transactions_v2_served = False  # Pay. retires the V2 API
    v2_before = len(calls(pay_sandbox, "/transactions/"))
    after = run_tap(config, streams={"clearing_records", "transactions"})
    assert {t["source"] for t in after.records["transactions"]} == {"orders"}
    # V2 is asked until three orders in a row only the Order API knew; then only the latter
    assert len(calls(pay_sandbox, "/transactions/")) - v2_before == 3
    assert len(_order_calls(pay_sandbox)) == len(after.records["transactions"])
    # the same payments, with the same details the bookings use
    keep = ("orderId", "statusCode", "customerEmail", "extra1", "reference", "amount")
    assert sorted(tuple(t[k] for k in keep) for t in after.records["transactions"]) == sorted(
        tuple(t[k] for k in keep) for t in before.records["transactions"]
    )


def test_the_tampered_fixture_is_carried_as_pay_states_it(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    fixture = Path(pay_exact_sandbox.__file__).parent / "fixtures" / "pay-tampered-settlement.json"
    sandbox = pay_sandbox_factory(fixture)
    run = run_tap(sandbox_config(sandbox, start_date="2025-03-01"))
    (settlement,) = run.records["settlements"]
    assert settlement["amount"] == Decimal("146.42")
    assert settlement["fundsAmount"] == Decimal("146.42")
    assert settlement["amountProblem"] is None  # not a unit question: the totals differ
    assert sum(line["amount"] for line in settlement["lines"]) == Decimal("145.42")
    (fees,) = run.records["invoice_lines"]
    assert [part["costs"] for part in fees["lines"]] == [
        Decimal("0.58"),
        Decimal("0.0195"),
        Decimal("0.10"),
    ]
    assert fees["totalCosts"] == Decimal("0.6995")
    assert fees["merchantCosts"] == Decimal("0.60")  # 0.58 + 0.0195, the BUY part left out
