"""Properties that hold for every input (hypothesis).

The oracle below re-derives, by brute force over all pairs, which payments rules 3 and 7
allow to link; the engine must produce exactly those links, whatever the input order. Clearings
belong to revenue groups that may each read references with their own profile, and claims on
an open item count across all of them.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter
from datetime import date
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pay_exact_transform import (
    LINK_REASONS,
    PROFILES,
    BookingPlan,
    Clearing,
    ClearingLine,
    Direction,
    GLAccounts,
    InputError,
    LineKind,
    OpenItem,
    PaymentRecord,
    Reason,
    RecordKind,
    RevenueGroup,
    RevenueGroupOverride,
    RunPlanner,
    Settings,
    Status,
    build_index,
    plan_run,
)
from pay_exact_transform.candidates import COMMON_REFERENCE
from pay_exact_transform.tokens import make_key_function

GL = GLAccounts(debtors="1300", psp_costs="4500", payouts="2200", unassigned="2999")
REFS = [
    *("ORD0012", "ORD12", "INV12", "12", "WC-1234", "WC1234", "1234", "#1001", "1001"),
    *("000000123", "123", "Order:555", "Bestelling:  555", "2025-0042", "A1B2", "XKBKNABJK"),
]
AMOUNTS = [Decimal(v) for v in ("10.00", "12.50", "99.99", "0.01", "250.00")]
EMAILS = [None, "c1@x.nl", "C2@X.NL", "shared@x.nl", "new@x.nl"]
GROUPS = ["CT-A", "CT-B"]  # revenue groups that may read references with their own profile

maybe_ref = st.one_of(st.none(), st.sampled_from(REFS))


@st.composite
def open_items(draw: st.DrawFn) -> list[OpenItem]:
    count = draw(st.integers(0, 12))
    items = []
    for n in range(count):
        amount = draw(st.sampled_from(AMOUNTS))
        customer = draw(st.sampled_from(["C1", "C2", "C3"]))
        own = f"ORD{n:04d}"
        items.append(
            OpenItem(
                item_id=f"H{n}",
                invoice_number=str(24700000 + draw(st.integers(0, 8))),
                customer_id=customer,
                amount=-amount if draw(st.booleans()) and n % 3 == 0 else amount,
                currency=draw(st.sampled_from(["EUR", "EUR", "EUR", "USD"])),
                your_ref=draw(st.sampled_from([None, own, own, own, own, *REFS[:6]])),
                description=draw(maybe_ref),
                payment_reference=draw(maybe_ref),
                customer_email=draw(st.sampled_from([None, f"{customer}@x.nl", "shared@x.nl"])),
                journal=draw(st.sampled_from(["70", "71"])),
            )
        )
    return items


KINDS = [RecordKind.PAYMENT] * 4 + [RecordKind.REFUND, RecordKind.CHARGEBACK]


@st.composite
def scenarios(draw: st.DrawFn, max_clearings: int = 3) -> tuple[list[Clearing], list[OpenItem]]:
    """Clearings and open items; many records copy an item's reference, amount and e-mail."""
    items = draw(open_items())
    result = []
    for c in range(draw(st.integers(1, max_clearings))):
        currency = draw(st.sampled_from(["EUR", "EUR", "USD"]))
        records = []
        for n in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(KINDS))
            amount = draw(st.sampled_from(AMOUNTS))
            reference = draw(maybe_ref)
            email = draw(st.sampled_from(EMAILS))
            if items and draw(st.booleans()):
                item = draw(st.sampled_from(items))
                amount = abs(item.amount) if draw(st.integers(0, 3)) else amount
                kind = RecordKind.PAYMENT if item.amount > 0 else RecordKind.REFUND
                reference = item.your_ref or item.description or reference
                email = item.customer_email if draw(st.integers(0, 3)) else email
            records.append(
                PaymentRecord(
                    record_id=f"R{c}-{n}",
                    kind=kind,
                    amount=amount,
                    currency=currency,
                    reference=reference,
                    description=draw(maybe_ref),
                    extra1=reference if draw(st.booleans()) else draw(maybe_ref),
                    extra2=draw(maybe_ref),
                    transaction_date=date(2026, 1, draw(st.integers(28, 30))),
                    customer_email=email,
                    customer_name=draw(st.sampled_from([None, "Jan", "Piet"])),
                )
            )
        lines = []
        for kind, line_kind, direction in (
            (RecordKind.PAYMENT, LineKind.PAYMENTS, Direction.CREDIT),
            (RecordKind.REFUND, LineKind.REFUNDS, Direction.DEBIT),
            (RecordKind.CHARGEBACK, LineKind.CHARGEBACKS, Direction.DEBIT),
        ):
            of_kind = [r for r in records if r.kind is kind]
            if of_kind:
                total = sum((r.amount for r in of_kind), Decimal(0))
                lines.append(
                    ClearingLine(
                        line_kind.value,
                        1,
                        line_kind.value,
                        direction,
                        total,
                        line_kind,
                        len(of_kind),
                    )
                )
        fee = draw(st.sampled_from([Decimal(0), Decimal("0.29"), Decimal("1.00")]))
        lines.append(ClearingLine("fee", 2, "Kosten", Direction.DEBIT, fee, LineKind.FEES))
        net = sum(
            (x.amount if x.direction is Direction.CREDIT else -x.amount for x in lines), Decimal(0)
        )
        error = draw(st.sampled_from([Decimal(0)] * 5 + [Decimal("0.01")]))
        group = draw(st.sampled_from([None, *GROUPS]))
        result.append(
            Clearing(
                f"CLR-{c}",
                f"S{c}",
                date(2026, 2, 3),
                currency,
                RevenueGroup(group) if group else None,
                tuple(lines),
                tuple(records),
                net + error,
            )
        )
    return result, items


@st.composite
def merchant_settings(draw: st.DrawFn) -> Settings:
    profiles = st.sampled_from([None, *sorted(PROFILES)])
    overrides = {code: RevenueGroupOverride(profile=draw(profiles)) for code in GROUPS}
    return Settings(
        gl=GL,
        currencies=draw(st.sampled_from([("EUR",), ("EUR", "USD")])),
        sales_journal=draw(st.sampled_from([None, "70"])),
        standard_debtor=draw(st.sampled_from([None, "9999"])),
        create_relations=draw(st.booleans()),
        book_inconsistent_difference=draw(st.booleans()),
        profile=draw(st.sampled_from([*sorted(PROFILES), "shopify", "generic"])),
        revenue_group_overrides=overrides,
    )


def _plans(cs, items, s) -> list[BookingPlan]:
    return plan_run(cs, items, s)


def _email(value):
    return value.strip().casefold() if value and "@" in value else None


def profile_of(clearing, s):
    """The profile a clearing's records are read with: its revenue group's, else the default."""
    group = clearing.revenue_group
    override = s.revenue_group_overrides.get(group.code) if group else None
    return PROFILES[(override.profile if override else None) or s.profile]


def expected_links(cs, items, s) -> set[tuple[str, str, str]]:
    """Brute force: every (clearing, record, item) link rules 3 and 7 allow.

    Each clearing reads references with its own group's profile; claims count run-wide.
    """

    def comparison(profile):
        pay_keys = make_key_function(
            strip_leading_zeros=profile.strip_leading_zeros,
            min_length=profile.min_length,
            require_digit=profile.require_digit,
            regex=profile.regex,
        )
        ledger_keys = make_key_function(
            strip_leading_zeros=profile.strip_leading_zeros,
            min_length=profile.min_length,
            require_digit=profile.require_digit,
        )

        def item_keys(item):
            keys = set()
            for name in profile.ledger_fields:
                keys.update(ledger_keys(getattr(item, name) or ""))
            return keys

        def record_keys(record):
            keys = set()
            for name in profile.payment_fields:
                since = profile.reference_since
                if name == "reference" and since is not None and record.transaction_date < since:
                    continue
                keys.update(pay_keys(getattr(record, name) or ""))
            return keys

        carried: dict[str, int] = {}
        for item in items:
            for key in item_keys(item):
                carried[key] = carried.get(key, 0) + 1
        return item_keys, record_keys, carried

    def eligible(item, record):
        sign_ok = item.amount > 0 if record.kind is RecordKind.PAYMENT else item.amount < 0
        journal_ok = s.sales_journal is None or item.journal == s.sales_journal
        return sign_ok and journal_ok and item.currency == record.currency

    chosen = {}
    claims: dict[str, int] = {}
    for clearing in cs:
        profile = profile_of(clearing, s)
        item_keys, record_keys, carried = comparison(profile)
        for record in clearing.records:
            signed = record.amount if record.kind is RecordKind.PAYMENT else -record.amount
            keys = {k for k in record_keys(record) if carried.get(k, 0) <= COMMON_REFERENCE}
            cands = [i for i in items if eligible(i, record) and keys & item_keys(i)]
            if not cands and profile.email_amount and _email(record.customer_email):
                owners = {
                    i.customer_id
                    for i in items
                    if _email(i.customer_email) == _email(record.customer_email)
                }
                if len(owners) == 1:
                    cands = [
                        i
                        for i in items
                        if i.customer_id in owners and eligible(i, record) and i.amount == signed
                    ]
            for item in cands:
                claims[item.item_id] = claims.get(item.item_id, 0) + 1
            chosen[(clearing.clearing_id, record.record_id)] = (cands, signed)
    links = set()
    for (clearing_id, record_id), (cands, signed) in chosen.items():
        if len(cands) == 1 and claims[cands[0].item_id] == 1 and cands[0].amount == signed:
            links.add((clearing_id, record_id, cands[0].item_id))
    return links


def _walk(value, seen_floats: list) -> None:
    if isinstance(value, float):
        seen_floats.append(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _walk(getattr(value, f.name), seen_floats)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _walk(v, seen_floats)
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k, seen_floats)
            _walk(v, seen_floats)
    else:
        assert isinstance(value, (str, int, Decimal, date, Enum, type(None))), type(value)


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(scenarios(), merchant_settings())
def test_every_ready_plan_balances_to_the_cent_and_blocked_plans_book_nothing(scenario, s):
    cs, items = scenario
    for plan in _plans(cs, items, s):
        if plan.status is Status.READY:
            assert sum((line.amount for line in plan.lines), Decimal(0)) == 0
            for line in plan.lines:
                assert line.amount == line.amount.quantize(Decimal("0.01"))
        else:
            assert plan.lines == ()
            assert plan.blocked_reason is not None


@COMMON
@given(scenarios(), merchant_settings())
def test_no_open_item_is_linked_twice_and_links_point_at_that_item(scenario, s):
    cs, items = scenario
    by_id = {i.item_id: i for i in items}
    linked = []
    for plan in _plans(cs, items, s):
        for line in plan.lines:
            assert (line.link is None) == (line.open_item is None)
            if line.link is not None:
                item = by_id[line.open_item]
                assert item.invoice_number == line.link
                assert item.amount == line.amount
                assert item.currency == plan.currency
                assert line.customer == item.customer_id
                linked.append(line.open_item)
    assert len(linked) == len(set(linked))


@COMMON
@given(scenarios(), merchant_settings())
def test_links_are_exactly_those_rules_3_and_7_allow(scenario, s):
    cs, items = scenario
    plans = _plans(cs, items, s)
    by_id = {c.clearing_id: c for c in cs}
    got = set()
    for plan in plans:
        for line in plan.lines:
            assert (line.link is not None) == (line.reason in LINK_REASONS)
            if line.link is not None:
                got.add((plan.clearing_id, line.record_id, line.open_item))
                if line.reason is Reason.SHOPIFY_EMAIL_AMOUNT:
                    assert profile_of(by_id[plan.clearing_id], s).email_amount
    booked = {p.clearing_id for p in plans if p.status is Status.READY}
    want = {link for link in expected_links(cs, items, s) if link[0] in booked}
    assert got == want


@COMMON
@given(scenarios(), merchant_settings(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_plans_or_keys(scenario, s, rnd: random.Random):
    cs, items = scenario
    first = _plans(cs, items, s)
    shuffled_cs = [
        dataclasses.replace(
            c,
            records=tuple(rnd.sample(c.records, len(c.records))),
            lines=tuple(rnd.sample(c.lines, len(c.lines))),
        )
        for c in rnd.sample(cs, len(cs))
    ]
    second = _plans(shuffled_cs, rnd.sample(items, len(items)), s)
    assert second == first
    assert [p.key for p in second] == [p.key for p in first]


@COMMON
@given(scenarios(), merchant_settings())
def test_no_float_anywhere_and_descriptions_fit(scenario, s):
    cs, items = scenario
    floats: list = []
    for plan in _plans(cs, items, s):
        _walk(plan, floats)
        for line in plan.lines:
            assert len(line.description) <= 60
            assert line.description.startswith(plan.key + " ")
    assert floats == []


# -- windows: a run planned in windows of clearings ------------------------------------------
# The target plans a backfill window by window to keep its memory bounded; claims on an open
# item (rule 5) and the relations records share (rule 6) still count across the whole run, so
# neither the window size nor the order of the windows may change a single line.


class AsText(dict):
    """Kept finds as a caller holds them on disk: written out as JSON text, read back."""

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, json.dumps(value))

    def get(self, key: str, default: object = None) -> object:
        text = super().get(key)
        return default if text is None else json.loads(text)


def windowed(
    clearings: list[Clearing],
    items: list[OpenItem],
    s: Settings,
    size: int,
    rnd: random.Random | None = None,
    *,
    kept: bool = False,
) -> list[BookingPlan]:
    """Plan ``clearings`` in windows of ``size`` (windows in a random order when ``rnd``);
    with ``kept``, pass 2 takes pass 1's finds from a mapping as text."""
    windows = [clearings[n : n + size] for n in range(0, len(clearings), size)]
    planner = RunPlanner(build_index(items), s, kept=AsText() if kept else None)
    order = list(windows)
    if rnd is not None:
        rnd.shuffle(order)
    for window in order:
        planner.count(window)
    if rnd is not None:
        rnd.shuffle(order)
    plans = [plan for window in order for plan in planner.plan(window)]
    return sorted(plans, key=lambda p: p.clearing_id)


def claimed_across_windows(plans: list[BookingPlan], size: int) -> bool:
    """Whether an open item is claimed by records of clearings in different windows."""
    position = {p.clearing_id: n for n, p in enumerate(plans)}
    windows_of: dict[str, set[int]] = {}
    for plan in plans:
        for line in plan.lines:
            if line.reason is Reason.CLAIMED_TWICE:
                for invoice in line.candidates:
                    windows_of.setdefault(invoice, set()).add(position[plan.clearing_id] // size)
    return any(len(w) > 1 for w in windows_of.values())


@COMMON
@given(scenarios(max_clearings=20), merchant_settings(), st.randoms(use_true_random=False))
def test_window_sizes_1_7_and_all_give_the_same_plans_line_for_line(scenario, s, rnd):
    clearings, items = scenario
    whole = plan_run(clearings, items, s)
    ordered = sorted(clearings, key=lambda c: c.clearing_id)
    event(f"claims across windows of 7: {claimed_across_windows(whole, 7)}")
    for size in (1, 7, len(ordered)):
        assert windowed(ordered, items, s, size) == whole
    # Windows counted and planned in any order, of any content, give the same plans too, also
    # when pass 2 takes the candidates pass 1 kept instead of finding them again.
    shuffled = rnd.sample(clearings, len(clearings))
    assert windowed(shuffled, items, s, rnd.randint(1, 7), rnd) == whole
    assert windowed(shuffled, items, s, rnd.randint(1, 7), rnd, kept=True) == whole


def paid(clearing_id: str, *payments: tuple[str, str, str | None]) -> Clearing:
    records = tuple(
        PaymentRecord(
            record_id=f"{clearing_id}-{n}",
            kind=RecordKind.PAYMENT,
            amount=Decimal(amount),
            currency="EUR",
            reference=reference,
            customer_email=email,
            customer_name=f"Name {clearing_id}",
        )
        for n, (reference, amount, email) in enumerate(payments)
    )
    total = sum((r.amount for r in records), Decimal(0))
    line = ClearingLine(
        "pay", 1, "payments", Direction.CREDIT, total, LineKind.PAYMENTS, len(records)
    )
    return Clearing(clearing_id, None, date(2026, 2, 3), "EUR", None, (line,), records, total)


INVOICE = OpenItem(
    item_id="H1",
    invoice_number="24700001",
    customer_id="C1",
    amount=Decimal("10.00"),
    currency="EUR",
    your_ref="ORD1001",
)


def test_an_invoice_claimed_in_the_first_and_the_last_window_is_linked_by_neither() -> None:
    clearings = [paid(f"CLR-{n:02d}", ("ORD9999", "1.00", None)) for n in range(15)]
    clearings[0] = paid("CLR-00", ("ORD1001", "10.00", None))
    clearings[14] = paid("CLR-14", ("ORD1001", "10.00", None))
    s = Settings(gl=GL, create_relations=True)
    for size in (1, 7):
        plans = windowed(clearings, [INVOICE], s, size)
        reasons = Counter(line.reason for p in plans for line in p.lines if line.record_id)
        assert reasons[Reason.CLAIMED_TWICE] == 2
        assert reasons[Reason.MATCHED] == 0
        assert plans == plan_run(clearings, [INVOICE], s)


def test_a_new_relation_lists_its_records_of_every_window() -> None:
    clearings = [
        paid("CLR-01", ("NOPE1", "1.00", "jan@example.nl")),
        paid("CLR-02", ("NOPE2", "2.00", None)),
        paid("CLR-03", ("NOPE3", "3.00", "jan@example.nl")),
    ]
    s = Settings(gl=GL, create_relations=True)
    plans = windowed(clearings, [], s, 1, random.Random(3))
    (relation,) = plans[0].relations
    assert relation.record_ids == ("CLR-01/CLR-01-0", "CLR-03/CLR-03-0")
    assert relation.name == "Name CLR-01"  # the first record in id order names it
    assert plans == plan_run(clearings, [], s)


def test_planning_a_window_that_was_not_counted_is_refused() -> None:
    planner = RunPlanner(build_index([INVOICE]), Settings(gl=GL))
    planner.count([paid("CLR-01", ("ORD1001", "10.00", None))])
    with pytest.raises(InputError, match="was not counted"):
        planner.plan([paid("CLR-02", ("ORD1001", "10.00", None))])
    with pytest.raises(InputError, match="every window must be counted before planning"):
        planner.count([paid("CLR-02", ("ORD1001", "10.00", None))])


def test_a_clearing_counted_again_counts_once_and_another_under_its_id_is_refused() -> None:
    first = paid("CLR-01", ("ORD1001", "10.00", None))
    s = Settings(gl=GL)
    planner = RunPlanner(build_index([INVOICE]), s)
    planner.count([first])
    planner.count([paid("CLR-01", ("ORD1001", "10.00", None))])  # delivered again, equal
    with pytest.raises(InputError, match="is used by two clearings"):
        planner.count([paid("CLR-01", ("ORD1002", "10.00", None))])  # one reference differs
    assert planner.plan([first]) == plan_run([first], [INVOICE], s)
