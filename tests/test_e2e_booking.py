"""tap-pay piped into target-exactonline against both sandboxes, on a generated merchant.

A merchant with 30 clearings and over 3,000 payments in three revenue groups, each selling
through another webshop (and so read with another matching profile). Checked against the
generator's truth: every clearing is one entry with the expected lines, every invoice paid in
full is settled and nothing else is linked, the Pay. journal nets to zero per clearing, a rerun
books nothing, a dry run books nothing and reports the same plan, and the Exact API calls stay
within 1.25 x the lower bound.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pay_exact_sandbox.exact.data import ExactData
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.generator import GeneratorParams, Merchant, generate
from pay_exact_sandbox.generator.exact_side import ExactSideParams, build_exact_data
from pay_exact_sandbox.generator.params import RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from tap_pay.tap import TapPay
from target_exactonline.report import Outcome
from target_exactonline.sandbox_testing import (
    store_target_tokens,
    target_client_factory,
    target_config,
)
from target_exactonline.target import TargetExactOnline

pytestmark = pytest.mark.slow

T0 = 1_795_000_000.0
PROFILES = {
    "woocommerce": "woocommerce",
    "lightspeed": "lightspeed",
    "magento2": "magento2",
    "shopify": "shopify",
}
PARAMS = GeneratorParams(
    seed=31,
    start_date=GeneratorParams().start_date,
    days=10,
    payments_per_clearing=(95, 110),
    revenue_groups=(
        RevenueGroup("Webshop", "woocommerce"),
        RevenueGroup("Winkel", "lightspeed"),
        RevenueGroup("Magento", "magento2"),
    ),
    split_by_revenue_group=True,
)
PAGE = 1000
CONSTANT_READS = 3  # journals, GL accounts, financial periods
NOTES_RECORD = re.compile(r"transaction (\S+)")


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate(PARAMS)


@pytest.fixture(scope="module")
def exact_data(merchant: Merchant) -> ExactData:
    # One sales journal per webshop, as a merchant with several shops keeps them: a WooCommerce
    # order 3218 and a Magento order 000003218 are then never candidates for each other.
    return build_exact_data(merchant, ExactSideParams(sales_journal_per_group=True))


@pytest.fixture(scope="module")
def truth(exact_data: ExactData) -> dict[str, Any]:
    return exact_data.truth["exact"]


def sales_journals(merchant: Merchant, truth: dict[str, Any]) -> dict[str, str]:
    """Revenue group -> its sales journal: the groups in the order the orders name them."""
    groups: list[str] = []
    for order in merchant.orders:
        if order.revenue_group not in groups:
            groups.append(order.revenue_group)
    return dict(zip(groups, truth["journals"]["sales"], strict=True))


class Pipeline:
    """Runs tap-pay and the target in this process; the sandboxes run in threads."""

    def __init__(
        self,
        pay: PaySandbox,
        exact: ExactSandbox,
        tmp: Path,
        merchant: Merchant,
        journals: dict[str, str],
        *,
        params: GeneratorParams = PARAMS,
        enrich: bool = False,
    ) -> None:
        self.pay = pay
        self.enrich = enrich
        self.exact = exact
        store_url = f"sqlite:///{tmp / 'store.sqlite'}"
        store_target_tokens(exact, store_url, issued_at=T0)
        platform_of = {g.name: g.platform for g in params.revenue_groups}
        self.groups = {g["code"]: platform_of[g["name"]] for g in merchant.pay["turnoverGroups"]}
        self.tap_config = {
            "api_url": pay.api_url,
            "token_code": pay.token_code,
            "api_token": pay.api_token,
            "start_date": "2025-01-01",
            "enrich_transactions": enrich,
        }
        self.config = target_config(
            exact,
            store_url,
            matching_profile="generic",
            revenue_group_overrides=[
                {
                    "revenue_group": code,
                    "matching_profile": PROFILES[platform],
                    "sales_journal": journals[code],
                }
                for code, platform in sorted(self.groups.items())
            ],
            report_dir=str(tmp / "reports"),
        )

    def tap(self, state: dict[str, Any] | None = None) -> str:
        catalog = TapPay(config=self.tap_config, validate_config=False).catalog_dict
        for entry in catalog["streams"]:
            for meta in entry["metadata"]:
                if meta["breadcrumb"] == [] and entry["tap_stream_id"] == "transactions":
                    meta["metadata"]["selected"] = self.enrich
        out = io.StringIO()
        with redirect_stdout(out):
            TapPay(config=self.tap_config, state=state, catalog=catalog).sync_all()
        return out.getvalue()

    def target(self, text: str, **changes: Any) -> tuple[TargetExactOnline, list[dict]]:
        config = {**self.config, **changes}
        factory = target_client_factory(self.exact, config)
        target = TargetExactOnline(config=config, client_factory=factory)
        out = io.StringIO()
        with redirect_stdout(out):
            target.listen(io.StringIO(text))
        return target, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def pipeline(
    pay_sandbox_factory: Callable[..., PaySandbox],
    exact_sandbox_factory: Callable[..., ExactSandbox],
    merchant: Merchant,
    exact_data: ExactData,
    tmp_path: Path,
) -> Pipeline:
    pay = pay_sandbox_factory(merchant)
    exact = exact_sandbox_factory(exact_data)
    exact.freeze(at=T0)
    journals = sales_journals(merchant, exact_data.truth["exact"])
    return Pipeline(pay, exact, tmp_path, merchant, journals)


def tap_messages(text: str) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in text.splitlines():
        message = json.loads(line, parse_float=Decimal)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    return records


def pay_entries(exact: ExactSandbox) -> dict[str, dict[str, Any]]:
    """Bank entries in the Pay. journal, by the clearing id in their key."""
    found = {}
    for entry in exact.runtime.store.bank_entries.values():
        if entry["JournalCode"] != "25":
            continue
        key = entry["BankEntryLines"][0]["Description"].split()[0]
        assert key.startswith("PX:")
        assert key[3:] not in found, f"{key} booked twice"
        found[key[3:]] = entry
    return found


def expected_links(truth: dict[str, Any]) -> dict[str, int]:
    """Record id -> the invoice or credit note it must be linked to (a 100 % match)."""
    links = {}
    for order in truth["orders"].values():
        if order["case"] == "matched":
            links[order["payment_record"]] = int(order["invoice_numbers"][0])
    for record_id, reversal in truth["reversals"].items():
        order = truth["orders"][reversal["order"]]
        # A credit note in another currency than the refund can never take it.
        if reversal["case"] == "credit_note" and order["case"] != "currency_mismatch":
            links[record_id] = int(reversal["credit_note_number"])
    return links


def test_tap_pay_into_target_exactonline_books_every_clearing_exactly_once(
    pipeline: Pipeline, truth: dict[str, Any], merchant: Merchant
) -> None:
    exact = pipeline.exact
    text = pipeline.tap()
    records = tap_messages(text)
    clearings = {c["clearingId"]: c for c in records["clearings"]}
    assert len(clearings) >= 30
    assert len(records["clearing_records"]) >= 3000
    assert len({c["turnoverGroupCode"] for c in clearings.values()}) == 3

    # -- a dry run writes nothing -------------------------------------------------------------
    exact.admin.log.clear()
    dry, dry_state = pipeline.target(text, dry_run=True)
    assert dry.result is not None
    assert [e for e in exact.requests("/api/v1/") if e.method != "GET"] == []
    assert pay_entries(exact) == {}
    assert {c.outcome for c in dry.result.report.clearings} == {Outcome.WOULD_BOOK}
    assert dry_state == []  # a dry run keeps the bookmarks where they were

    # -- the real run -------------------------------------------------------------------------
    open_before = [r for r in exact.runtime.store.receivables.values() if r["Status"] == 20]
    exact.admin.log.clear()
    real, real_state = pipeline.target(text)
    assert real.result is not None
    report = real.result.report
    assert {c.outcome for c in report.clearings} == {Outcome.BOOKED}, report.summary()
    assert len(real_state) == 1

    # the dry run planned exactly this
    planned = {c.clearing_id: (c.lines, c.totals) for c in dry.result.report.clearings}
    booked = {c.clearing_id: (c.lines, c.totals) for c in report.clearings}
    assert planned == booked

    # every clearing is one entry that nets to zero, with the expected lines
    entries = pay_entries(exact)
    assert set(entries) == set(clearings)
    by_clearing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records["clearing_records"]:
        by_clearing[rec["clearingId"]].append(rec)
    lines_by_clearing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in records["clearing_lines"]:
        lines_by_clearing[line["clearingId"]].append(line)
    linked: dict[str, int] = {}
    for clearing_id, entry in entries.items():
        lines = entry["BankEntryLines"]
        assert sum(line["AmountFC"] for line in lines) == 0, clearing_id
        assert all(line["Description"].startswith(f"PX:{clearing_id}") for line in lines)
        record_lines = {}
        for line in lines:
            found = NOTES_RECORD.search(line["Notes"] or "")
            if found:
                record_lines[found.group(1)] = line
        expected = {r["reportingId"]: Decimal(str(r["amount"])) for r in by_clearing[clearing_id]}
        assert {k: v["AmountFC"] for k, v in record_lines.items()} == expected, clearing_id
        payout = [line for line in lines if line["GLAccountCode"] == "2050"]
        assert [line["AmountFC"] for line in payout] == [
            -Decimal(str(clearings[clearing_id]["amount"]))
        ]
        fees = sum(
            (
                Decimal(str(x["amount"]))
                for x in lines_by_clearing[clearing_id]
                if x["direction"] == "DEBIT"
                and "settlement" in (x["clearingLineTypeName"] or "").lower()
            ),
            Decimal(0),
        )
        fee_lines = [line["AmountFC"] for line in lines if line["GLAccountCode"] == "4390"]
        assert sum(fee_lines, Decimal(0)) == fees, clearing_id
        for record_id, line in record_lines.items():
            if line["OurRef"] is not None:
                linked[record_id] = line["OurRef"]

    # exactly the 100 % matches are linked, and those invoices are settled
    expected = expected_links(truth)
    assert linked == expected
    open_after = {row["InvoiceNumber"] for row in exact.runtime.store.receivables_list()}
    assert not set(expected.values()) & open_after
    settled = {
        r["InvoiceNumber"]
        for r in open_before
        if exact.runtime.store.receivables[r["ID"]]["Status"] == 50
    }
    assert settled == set(expected.values())

    # what needs attention is in the report
    cases = Counter(o["case"] for o in truth["orders"].values())
    attention = Counter(line.reason for c in report.clearings for line in c.lines if line.attention)
    assert attention["ambiguous"] + attention["claimed_twice"] >= cases["ambiguous"]
    assert attention["amount_mismatch"] >= cases["partial"]
    page = next(Path(pipeline.config["report_dir"]).glob("*.html")).read_text()
    assert "Needs attention" in page

    # API calls: at most 1.25 x the lower bound
    calls = [e for e in exact.requests("/api/v1/")]
    lower = (
        math.ceil(len(open_before) / PAGE)  # the open receivables, 1,000 a page
        + 1  # the ledger lines already in the Pay. journal (none yet: one empty page)
        + CONSTANT_READS
        + len(clearings)  # one POST per clearing
        + sum(len(c.relations_created) for c in report.clearings)  # one POST per relation
    )
    assert len(calls) <= 1.25 * lower, (len(calls), lower)
    payments = len(records["clearing_records"])
    print(
        f"\nExact API calls: {len(calls)} for a lower bound of {lower} "
        f"({len(calls) / lower:.2f}x); {len(clearings)} clearings, {payments} payments, "
        f"{len(open_before)} open items"
    )

    # -- a second run books nothing -----------------------------------------------------------
    exact.admin.log.clear()
    again, _ = pipeline.target(pipeline.tap(real_state[-1]))
    assert again.result is not None
    assert {c.outcome for c in again.result.report.clearings} <= {Outcome.ALREADY_BOOKED}
    assert exact.requests("/api/v1/") == []
    assert len(pay_entries(exact)) == len(clearings)
    # and a full re-read without state, with the ledger gone, still books nothing
    exact.admin.log.clear()
    fresh = Path(pipeline.config["report_dir"]).parent / "fresh.sqlite"
    once_more, _ = pipeline.target(
        text, store_url=f"sqlite:///{fresh}", token_store_url=pipeline.config["store_url"]
    )
    assert once_more.result is not None
    assert {c.outcome for c in once_more.result.report.clearings} == {Outcome.ALREADY_BOOKED}
    assert [e for e in exact.requests("/api/v1/") if e.method == "POST"] == []
    assert len(pay_entries(exact)) == len(clearings)


ENRICHED = GeneratorParams(
    seed=32,
    days=4,
    payments_per_clearing=(60, 80),
    revenue_groups=(RevenueGroup("Shop", "shopify"), RevenueGroup("Webshop", "woocommerce")),
    split_by_revenue_group=True,
    chargeback_share=0.03,
)


def test_with_transaction_details_chargebacks_emails_and_new_customers(
    pay_sandbox_factory: Callable[..., PaySandbox],
    exact_sandbox_factory: Callable[..., ExactSandbox],
    tmp_path: Path,
) -> None:
    """The tap's per-transaction enrichment on: Shopify links by e-mail and amount, chargebacks
    are told apart from refunds, and unknown customers become new relations (once each)."""
    merchant = generate(ENRICHED)
    data = build_exact_data(merchant, ExactSideParams(sales_journal_per_group=True))
    truth = data.truth["exact"]
    pay = pay_sandbox_factory(merchant)
    exact = exact_sandbox_factory(data)
    exact.freeze(at=T0)
    pipeline = Pipeline(
        pay,
        exact,
        tmp_path,
        merchant,
        sales_journals(merchant, truth),
        params=ENRICHED,
        enrich=True,
    )
    text = pipeline.tap()
    records = tap_messages(text)
    clearings = {c["clearingId"] for c in records["clearings"]}
    accounts_before = len(exact.runtime.store.accounts)
    open_before = [r for r in exact.runtime.store.receivables.values() if r["Status"] == 20]
    exact.admin.log.clear()
    target, _state = pipeline.target(text, create_relations=True)
    assert target.result is not None
    report = target.result.report
    assert {c.outcome for c in report.clearings} == {Outcome.BOOKED}, report.summary()

    lines = [line for c in report.clearings for line in c.lines]
    reasons = Counter(line.reason for line in lines)
    assert reasons["shopify_email_amount"] > 0
    chargebacks = [r for r in truth["reversals"].values() if r["kind"] == "chargeback"]
    assert chargebacks
    assert sum(1 for line in lines if line.attention and "Chargeback" in line.attention) == len(
        chargebacks
    )
    # unknown customers: one new relation per e-mail, reused within the run
    created = [c for r in report.clearings for c in r.relations_created]
    assert created
    assert len(created) == len(set(created))
    assert len(exact.runtime.store.accounts) == accounts_before + len(created)
    # every line linked in Exact is one the truth calls an exact match
    linked = {}
    for entry in pay_entries(exact).values():
        assert sum(line["AmountFC"] for line in entry["BankEntryLines"]) == 0
        for line in entry["BankEntryLines"]:
            found = NOTES_RECORD.search(line["Notes"] or "")
            if found and line["OurRef"] is not None:
                linked[found.group(1)] = line["OurRef"]
    expected = expected_links(truth)
    # Shopify payments link by e-mail and exact amount (rule 7), never by reference: an order
    # whose YourRef also sits on another customer's invoice ("ambiguous" by reference) may
    # still link to its own invoice.
    allowed = dict(expected)
    for order in truth["orders"].values():
        if order["platform"] == "shopify" and order["case"] == "ambiguous":
            allowed[order["payment_record"]] = int(order["invoice_numbers"][0])
    assert set(linked.items()) <= set(allowed.items())
    found = set(linked.items()) & set(expected.items())
    assert len(found) >= 0.9 * len(expected)
    assert set(pay_entries(exact)) == clearings

    accounts_read = math.ceil(accounts_before / PAGE)
    lower = (
        math.ceil(len(open_before) / PAGE)
        + 1
        + CONSTANT_READS
        + accounts_read  # the customers' e-mails, read once in bulk
        + len(clearings)
        + len(created)
    )
    calls = exact.requests("/api/v1/")
    assert len(calls) <= 1.25 * lower, (len(calls), lower)
    print(
        f"\nWith transaction details: {len(calls)} Exact API calls for a lower bound of {lower} "
        f"({len(calls) / lower:.2f}x); {len(clearings)} clearings, "
        f"{len(records['clearing_records'])} payments, {len(created)} new customers, "
        f"{len(found)} of {len(expected)} exact matches linked"
    )
