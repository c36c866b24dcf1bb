"""Local plan checks: what Exact would refuse is refused here first, in plain words."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from pay_exact_transform import (
    Clearing,
    ClearingLine,
    Direction,
    GLAccounts,
    LineKind,
    OpenItem,
    Settings,
    plan_clearing,
    record_from_signed,
)
from target_exactonline.context import ExactContext, GLAccount, Journal, Period
from target_exactonline.validate import check_gl, check_plan

D = Decimal
DIV = 7


def plan(currency: str = "EUR", day: date = date(2026, 3, 4)):  # type: ignore[no-untyped-def]
    clearing = Clearing(
        clearing_id="CLR-9",
        settlement_code="ST-9",
        settlement_date=day,
        currency=currency,
        revenue_group=None,
        lines=(
            ClearingLine("L1", 10, "iDEAL", Direction.CREDIT, D("121.00"), LineKind.PAYMENTS, 1),
            ClearingLine("L2", None, "Fee", Direction.DEBIT, D("1.00"), LineKind.FEES),
        ),
        records=(record_from_signed("R1", D("121.00"), currency, reference="INV-1"),),
        payout=D("120.00"),
    )
    items = [OpenItem("i1", "24700012", "cust-1", D("121.00"), currency, your_ref="INV-1")]
    settings = Settings(
        gl=GLAccounts(debtors="1300", psp_costs="4390", payouts="2050", unassigned="2090"),
        currencies=(currency,),
    )
    return plan_clearing(clearing, items, settings)


def context(**changes: object) -> ExactContext:
    c = ExactContext(
        journals={"25": Journal("25", "Pay.", 12, "EUR", False, False, "1100")},
        gl_accounts={
            "1300": GLAccount("g1", "1300", "Debiteuren", 20, False),
            "4390": GLAccount("g2", "4390", "Kosten betaalprovider", 120, False),
            "2050": GLAccount("g3", "2050", "Uitbetalingen onderweg", 90, False),
            "2090": GLAccount("g4", "2090", "Te verwerken", 90, False),
        },
        periods=[Period(2026, 3, date(2026, 3, 1), date(2026, 3, 31))],
    )
    for key, value in changes.items():
        setattr(c, key, value)
    return c


def test_a_good_plan_passes() -> None:
    p = plan()
    assert p.linked
    assert check_plan(p, journal_code="25", context=context(), division=DIV) == []


def test_journal_problems() -> None:
    p = plan()
    assert check_plan(p, journal_code="26", context=context(), division=DIV) == [
        "bank journal '26' does not exist in division 7"
    ]
    sales = {"70": Journal("70", "Verkoop", 20, "EUR", False, False, None)}
    assert check_plan(p, journal_code="70", context=context(journals=sales), division=DIV) == [
        "journal '70' is a sales journal (type 20); the bank journal must be a bank journal "
        "(type 12)"
    ]
    blocked = {"25": Journal("25", "Pay.", 12, "EUR", False, True, None)}
    assert check_plan(p, journal_code="25", context=context(journals=blocked), division=DIV) == [
        "bank journal '25' is blocked in Exact"
    ]


def test_currency_must_be_accepted_by_the_journal() -> None:
    usd = plan("USD")
    assert check_plan(usd, journal_code="25", context=context(), division=DIV) == [
        "the clearing is in USD but bank journal '25' only accepts EUR"
    ]
    open_journal = {"25": Journal("25", "Pay.", 12, "EUR", True, False, None)}
    assert (
        check_plan(usd, journal_code="25", context=context(journals=open_journal), division=DIV)
        == []
    )


def test_gl_accounts_must_exist_and_fit_their_role() -> None:
    c = context()
    del c.gl_accounts["4390"]
    c.gl_accounts["2050"] = GLAccount("g3", "2050", "Omzet", 110, False)
    problems = check_plan(plan(), journal_code="25", context=c, division=DIV)
    assert problems == [
        "GL account '4390' (PSP costs) does not exist in division 7",
        "GL account '2050' (Omzet) is type 110 (Revenue); the payouts (transit) GL must be a "
        "balance-sheet transit account (type 90 General, 16, 12, 10, 14, 26, 27 or 32)",
    ]


@pytest.mark.parametrize(
    ("role", "gl_type", "fits"),
    [
        ("debtors", 20, True),
        ("debtors", 90, False),
        ("psp_costs", 120, True),
        ("psp_costs", 110, False),
        ("unassigned", 90, True),
        ("unassigned", 20, False),  # an AR line would need a customer
        ("payouts", 16, True),
    ],
)
def test_gl_type_rules(role: str, gl_type: int, fits: bool) -> None:
    gl = GLAccount("g", "1", "x", gl_type, False)
    assert (check_gl("1", role, gl, DIV) is None) is fits


def test_a_date_without_a_financial_period_is_refused() -> None:
    p = plan(day=date(2027, 1, 5))
    assert check_plan(p, journal_code="25", context=context(), division=DIV) == [
        "there is no financial period in Exact for 2027-01-05 (create the financial year first)"
    ]


def test_sales_journal_problems_are_passed_on() -> None:
    problems = check_plan(
        plan(),
        journal_code="25",
        context=context(),
        division=DIV,
        sales_journal_problems=["sales journal '71' does not exist in division 7"],
    )
    assert problems == ["sales journal '71' does not exist in division 7"]


def test_balance_key_and_invoice_number_are_checked() -> None:
    p = plan()
    first = p.lines[0]
    broken = dataclasses.replace(
        p,
        lines=(
            dataclasses.replace(first, description="no key here", link="INV-1"),
            *p.lines[1:],
            dataclasses.replace(p.lines[-1], amount=D("-0.01")),
        ),
    )
    assert check_plan(broken, journal_code="25", context=context(), division=DIV) == [
        "the lines add up to -0.01, not to zero",
        "line 1: the description does not start with the key PX:CLR-9",
        "line 1: invoice number 'INV-1' cannot be sent as Exact's OurRef (a whole number)",
    ]
