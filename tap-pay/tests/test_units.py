"""The settlement amount's unit, decided from its lines and its "Funds:" text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tap_pay.money import AmountError, AmountUnit
from tap_pay.units import decide_unit, funds_in_description

CENTS, EUROS = AmountUnit.MINOR, AmountUnit.MAJOR
D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Clearing: CLEARING-20250300123/ Funds: 1523.40", D("1523.40")),
        ("Funds: 250.00", D("250.00")),
        ("Funds:-12.10", D("-12.10")),
        ("Clearing: CLEARING-20250300123", None),
        (None, None),
    ],
)
def test_the_funds_text_is_read_as_written(text: str | None, expected: Decimal | None):
    assert funds_in_description(text) == expected


def test_the_docs_example_250_with_funds_250_00_is_euros_and_names_the_setting():
    decision = decide_unit(250, "EUR", CENTS, None, "Funds: 250.00")
    assert (decision.unit, decision.amount) == (EUROS, D("250.00"))
    assert "set settlement_amount_unit to 'euros'" in (decision.problem or "")


def test_cents_that_agree_with_everything_have_no_problem():
    decision = decide_unit(152340, "EUR", CENTS, [D("1524.40"), D("-1.00")], "Funds: 1523.40")
    assert (decision.unit, decision.amount, decision.problem) == (CENTS, D("1523.40"), None)
    assert decision.agrees


def test_lines_off_by_a_euro_are_a_totals_question_not_a_unit_one():
    decision = decide_unit(152440, "EUR", CENTS, [D("1523.40")], "Funds: 1524.40")
    assert decision.problem is None
    assert not decision.agrees
    assert (decision.amount, decision.lines_total) == (D("1524.40"), D("1523.40"))


def test_lines_that_are_a_hundredth_of_the_amount_name_the_setting():
    decision = decide_unit(152400, "EUR", CENTS, [D("15.00"), D("0.24")], None)
    assert "1/100" in (decision.problem or "")
    assert "settlement_amount_unit" in (decision.problem or "")


def test_a_decimal_without_evidence_cannot_be_cents():
    decision = decide_unit(D("12.50"), "EUR", CENTS, None, None)
    assert decision.unit is EUROS
    assert "settlement_amount_unit" in (decision.problem or "")


def test_a_value_with_no_exact_reading_is_refused():
    with pytest.raises(AmountError):
        decide_unit(D("12.505"), "EUR", EUROS, None, None)


@given(
    cents=st.integers(min_value=-(10**9), max_value=10**9),
    setting=st.sampled_from([CENTS, EUROS]),
    shift=st.integers(min_value=-(10**6), max_value=10**6).filter(lambda n: n != 0),
)
def test_any_disagreement_with_the_funds_text_is_flagged(
    cents: int, setting: AmountUnit, shift: int
):
    """Whatever the unit and however far off: never a silent reading."""
    funds = D(cents + shift).scaleb(-2)
    decision = decide_unit(cents, "EUR", setting, None, f"Funds: {funds}")
    if decision.problem is None:
        assert decision.amount == funds
