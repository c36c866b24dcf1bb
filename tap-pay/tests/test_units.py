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
        ("Funds: 1,523.40", D("1523.40")),
        ("Funds: 1.523,40", D("1523.40")),
        ("Funds: 1523,4", D("1523.4")),
        ("Funds: 1.523", D("1523")),
        ("Funds: 250.", D("250")),
        ("Funds: 1.52.3", None),
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


@given(
    cents=st.integers(min_value=1, max_value=10**10),
    split=st.integers(min_value=0, max_value=10**10),
    served=st.sampled_from([CENTS, EUROS]),
    setting=st.sampled_from([CENTS, EUROS]),
)
def test_consistent_evidence_reads_the_true_amount_whatever_the_setting(
    cents: int, split: int, served: AmountUnit, setting: AmountUnit
):
    """Pay. serving the amount in either unit, lines and Funds: text agreeing: the amount is
    always read right, and the setting is named exactly when it is the wrong one."""
    true = D(cents).scaleb(-2)
    first = D(min(split, cents)).scaleb(-2)
    value: int | Decimal = cents if served is CENTS else true
    decision = decide_unit(value, "EUR", setting, [first, true - first], f"Funds: {true}")
    assert decision.amount == true
    assert decision.agrees
    if served is EUROS and cents % 100 == 0 and setting is CENTS:
        # a whole-euro decimal such as 12.00 is also a whole number: only the evidence tells
        assert decision.unit is EUROS
    assert (decision.problem is None) == (decision.unit is setting)


@given(cents=st.integers(min_value=-(10**12), max_value=10**12))
def test_the_funds_text_reads_back_in_either_locale(cents: int):
    amount = D(cents).scaleb(-2)
    english = f"{amount:,.2f}"  # 1,523.40
    dutch = english.replace(",", "_").replace(".", ",").replace("_", ".")  # 1.523,40
    for text in (f"{amount}", english, dutch):
        assert funds_in_description(f"Clearing: CLEARING-1/ Funds: {text}") == amount
