"""Lines a bookkeeper can act on: identifying descriptions and true, specific explanations."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from pay_exact_transform import (
    ClearingLine,
    CustomerKind,
    Direction,
    LineKind,
    Reason,
    RecordKind,
    Role,
    plan_run,
)
from pay_exact_transform.describe import line_description

KEY = "PX:CLR-2026-11-30-000017"


def test_a_fee_code_that_does_not_fit_is_never_cut(kit):
    fee = ClearingLine(
        "FT-3148-5366-9453F",
        None,
        "Transactiekosten iDEAL betaalverzoeken november",
        Direction.DEBIT,
        Decimal("0.29"),
        LineKind.FEES,
    )
    payments = ClearingLine(
        "L-1", None, "payments", Direction.CREDIT, Decimal("10.00"), LineKind.PAYMENTS, 1
    )
    clearing = kit.clearing(
        [kit.pay("R1", "10.00")],
        clearing_id="CLR-2026-11-30-000017",
        lines=[payments, fee],
    )
    (plan,) = plan_run([clearing], [], kit.settings())
    (line,) = [line for line in plan.lines if line.reason is Reason.FEE]
    assert len(line.description) <= 60
    assert line.description.startswith(KEY + " ")
    assert line.description.split()[-1] == "FT-3148-5366-9453F"  # whole, not "...9453"
    # The words that did not fit are in the notes, with the code.
    assert "Transactiekosten iDEAL betaalverzoeken november" in line.notes
    assert "FT-3148-5366-9453F" in line.notes


codes = st.text(alphabet="ABCDEFX0123456789-", min_size=1, max_size=30)


@given(
    clearing_id=st.text(alphabet="ABC0123456789-", min_size=1, max_size=40),
    label=st.text(alphabet="abc xyz", max_size=40),
    parts=st.lists(codes, max_size=5),
)
def test_descriptions_hold_codes_whole_or_not_at_all(clearing_id, label, parts):
    key = "PX:" + clearing_id
    text = line_description(key, "payment", parts, label)
    assert len(text) <= 60
    assert text.startswith(key + " payment")
    words = text[len(key) :].split()
    allowed = {"payment"} | set(label.split()) | set(parts)
    assert all(word in allowed for word in words)
    # The first code that fits is always there.
    room = 60 - len(key + " payment")
    fitting = [p for p in parts if len(p) < room]
    if fitting:
        assert fitting[0] in words


def test_every_line_of_a_shopify_clearing_names_its_own_payment(kit):
    records = [
        kit.pay(
            f"EX-1234-5678-90{n:02}",
            "19.95",
            description="Shopify order",
            order_id=f"1661180545X1ca{n:02}",
            customer_email=f"buyer{n}@example.com",
        )
        for n in range(5)
    ]
    clearing = kit.clearing(records, clearing_id="CLR-2026-11-30-000017")
    (plan,) = plan_run([clearing], [], kit.settings(profile="shopify", standard_debtor="9999"))
    lines = [line for line in plan.lines if line.record_id]
    assert len({line.description for line in lines}) == 5
    for n, line in enumerate(lines):
        assert line.description.startswith("PX:CLR-2026-11-30-000017 payment EX-1234-5678-90")
        assert f"EX-1234-5678-90{n:02}" in line.description.split()
        assert len(line.description) <= 60
        assert f"e-mail buyer{n}@example.com" in line.notes
        assert f"order 1661180545X1ca{n:02}" in line.notes
        # The standard debtor line says which e-mail matched no one.
        assert line.customer_kind is CustomerKind.STANDARD_DEBTOR
        assert f"buyer{n}@example.com" in line.explanation


def test_a_reference_to_one_customers_invoice_in_another_currency_books_on_that_customer(kit):
    items = [kit.item("7001", "25.00", customer="C-H", your_ref="ORD7001", currency="USD")]
    plan = kit.plan([kit.pay("R1", "25.00", reference="ORD7001")], items, standard_debtor="9999")
    line = kit.line(plan, "R1")
    assert line.reason is Reason.CURRENCY_MISMATCH
    assert line.cause is Reason.CURRENCY_MISMATCH
    assert line.role is Role.DEBTORS
    assert (line.customer, line.customer_kind) == ("C-H", CustomerKind.EXISTING)
    assert line.link is None
    assert line.open_item is None
    assert "invoice 7001" in line.explanation
    assert "25.00 USD" in line.explanation
    assert "not linked" in line.explanation


def test_another_journals_invoice_is_named_and_never_linked(kit):
    items = [kit.item("24700031", "25.00", your_ref="ORD7002", journal="71")]
    plan = kit.plan([kit.pay("R1", "25.00", reference="ORD7002")], items, sales_journal="70")
    line = kit.line(plan, "R1")
    assert line.link is None
    assert line.cause is Reason.NO_CANDIDATE
    assert (
        "Invoice 24700031 carries reference ORD7002 but is in journal 71, which is not "
        "selected (the sales journal is 70)"
    ) in line.explanation
    assert "No open item carries" not in line.explanation


def test_a_too_short_reference_says_so(kit):
    items = [kit.item("6007", "5.00", your_ref="12")]
    line = kit.line(kit.plan([kit.pay("R1", "5.00", reference="12")], items), "R1")
    assert line.cause is Reason.NO_REFERENCE
    assert "'12' is shorter than the 3 characters a reference needs" in line.explanation
    assert "No usable reference" not in line.explanation


def test_a_credit_note_is_called_a_credit_note(kit):
    items = [kit.item("25000109", "-25.00", customer="C-B", your_ref="ORD1003")]
    records = [kit.pay("R1", "25.00", RecordKind.REFUND, reference="ORD1003")]
    line = kit.line(kit.plan(records, items), "R1")
    assert line.link == "25000109"
    assert "credit note 25000109" in line.explanation
    assert "invoice" not in line.explanation


def test_a_blocked_plan_explains_without_repeating_that_it_is_not_booked(kit):
    records = [kit.pay("R1", "10.00")]
    clearing = kit.clearing(records, payout="9.00")
    (plan,) = plan_run([clearing], [], kit.settings())
    assert plan.blocked_reason is not None
    assert not plan.explanation.lower().startswith("not booked")
    assert plan.explanation.endswith("It is retried on the next run.")
