"""A payout is booked only when Pay.'s stated settlement amount equals the sum of its lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_exactonline.settlement_check import settlement_problem

D = Decimal


SETTLED = {
    "code": "S1",
    "amount": D("10.00"),
    "currency": "EUR",
    "lines": [
        {"code": "FT-1", "clearingId": "C1", "amount": D("12.00"), "currency": "EUR"},
        {"code": "FT-2", "clearingId": "C2", "amount": D("-2.00"), "currency": "EUR"},
    ],
}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: None, None),
        (lambda s: s["lines"].pop(), "add up to 12.00 EUR (difference -2.00 EUR)"),
        (lambda s: s.pop("lines"), "field 'lines'"),
        (lambda s: s["lines"][1].update(currency="USD"), "FT-2 is in USD"),
        (lambda s: s["lines"][0].update(amount=12.0), "lines[0].amount"),
        (lambda s: s.update(amount=None), "field 'amount'"),
    ],
)
def test_the_settlement_is_judged_by_all_its_lines(change: Callable, words: str | None) -> None:
    settlement = json.loads(json.dumps(SETTLED, default=str), parse_float=Decimal)
    settlement["amount"] = D("10.00")
    for line, original in zip(settlement["lines"], SETTLED["lines"], strict=True):
        line["amount"] = original["amount"]
    change(settlement)
    problem = settlement_problem(settlement, "C1")
    if words is None:
        assert problem is None
    else:
        assert problem is not None
        assert words in problem


def test_a_clearing_without_its_settlement_record_is_not_booked() -> None:
    assert "did not arrive" in (settlement_problem(None, "C1") or "")


@given(
    amounts=st.lists(
        st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False),
        min_size=1,
        max_size=8,
    ),
    off=st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
)
def test_a_settlement_is_booked_exactly_when_its_lines_add_up_to_it(
    amounts: list[Decimal], off: Decimal
) -> None:
    lines = [
        {"code": f"FT-{n}", "clearingId": f"C{n % 2}", "amount": a, "currency": "EUR"}
        for n, a in enumerate(amounts)
    ]
    settlement = {"code": "S", "amount": sum(amounts) + off, "currency": "EUR", "lines": lines}
    problem = settlement_problem(settlement, "C0")
    if off == 0:
        assert problem is None
    else:
        assert problem is not None
        assert problem.startswith("totals_inconsistent")
        assert f"difference {off} EUR" in problem
