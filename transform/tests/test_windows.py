"""A run planned in windows of clearings gives exactly the plans of one ``plan_run`` call.

The target plans a backfill window by window to keep its memory bounded; claims on an open
item (rule 5) and the relations records share (rule 6) still count across the whole run, so
neither the window size nor the order of the windows may change a single line.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pay_exact_transform import (
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
    RunPlanner,
    Settings,
    build_index,
    plan_run,
)
from tests.test_properties import merchant_settings, scenarios

GL = GLAccounts(debtors="1300", psp_costs="4500", payouts="2200", unassigned="2999")


def windowed(
    clearings: list[Clearing],
    items: list[OpenItem],
    s: Settings,
    size: int,
    rnd: random.Random | None = None,
) -> list[BookingPlan]:
    """Plan ``clearings`` in windows of ``size`` (windows in a random order when ``rnd``)."""
    windows = [clearings[n : n + size] for n in range(0, len(clearings), size)]
    planner = RunPlanner(build_index(items), s)
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_clearings=20), merchant_settings(), st.randoms(use_true_random=False))
def test_window_sizes_1_7_and_all_give_the_same_plans_line_for_line(scenario, s, rnd):
    clearings, items = scenario
    whole = plan_run(clearings, items, s)
    ordered = sorted(clearings, key=lambda c: c.clearing_id)
    event(f"claims across windows of 7: {claimed_across_windows(whole, 7)}")
    for size in (1, 7, len(ordered)):
        assert windowed(ordered, items, s, size) == whole
    # Windows counted and planned in any order, of any content, give the same plans too.
    shuffled = rnd.sample(clearings, len(clearings))
    assert windowed(shuffled, items, s, rnd.randint(1, 7), rnd) == whole


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
