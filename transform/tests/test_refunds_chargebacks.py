"""Refunds and chargebacks: matched against credit notes by the same rules."""

from __future__ import annotations

from decimal import Decimal

from pay_exact_transform import CustomerKind, Reason, RecordKind, Role

REFUND = RecordKind.REFUND
CHARGEBACK = RecordKind.CHARGEBACK


def test_refund_links_its_credit_note(kit):
    items = [
        kit.item("1001", "50.00", customer="C-A", your_ref="ORD1001", item_id="INV"),
        kit.item("1901", "-50.00", customer="C-A", your_ref="ORD1001", item_id="CN"),
    ]
    records = [kit.pay("R1", "50.00", REFUND, reference="ORD1001")]
    line = kit.line(kit.plan(records, items), "R1")
    assert line.reason is Reason.MATCHED
    assert line.link == "1901"
    assert line.amount == Decimal("-50.00")
    assert line.record_kind is REFUND


def test_refund_and_payment_of_one_order_in_one_run_each_link_their_own_item(kit):
    items = [
        kit.item("1002", "80.00", customer="C-A", your_ref="ORD1002", item_id="INV"),
        kit.item("1902", "-80.00", customer="C-A", your_ref="ORD1002", item_id="CN"),
    ]
    records = [
        kit.pay("R1", "80.00", reference="ORD1002"),
        kit.pay("R2", "80.00", REFUND, reference="ORD1002"),
    ]
    plan = kit.plan(records, items)
    assert kit.line(plan, "R1").link == "1002"
    assert kit.line(plan, "R2").link == "1902"
    assert plan.balance == 0


def test_partial_refund_books_on_the_credit_notes_customer_unlinked(kit):
    items = [kit.item("1903", "-50.00", customer="C-B", your_ref="ORD1003")]
    records = [kit.pay("R1", "20.00", REFUND, reference="ORD1003")]
    line = kit.line(kit.plan(records, items), "R1")
    assert line.reason is Reason.AMOUNT_MISMATCH
    assert line.customer == "C-B"
    assert line.amount == Decimal("-20.00")


def test_refund_without_a_credit_note_follows_rule_6(kit):
    items = [kit.item("1004", "50.00", customer="C-C", your_ref="ORD1004")]
    records = [kit.pay("R1", "50.00", REFUND, reference="ORD1004")]
    line = kit.line(kit.plan(records, items, standard_debtor="9999"), "R1")
    assert line.reason is Reason.STANDARD_DEBTOR
    assert line.cause is Reason.NO_CANDIDATE
    assert "a refund settles a credit note, not an invoice" in line.explanation


def test_chargeback_links_a_credit_note_when_the_merchant_made_one(kit):
    items = [kit.item("1905", "-35.00", customer="C-D", your_ref="ORD1005")]
    records = [kit.pay("R1", "35.00", CHARGEBACK, reference="ORD1005")]
    line = kit.line(kit.plan(records, items), "R1")
    assert line.reason is Reason.MATCHED
    assert line.link == "1905"
    assert not line.flagged


def test_unmatched_chargeback_reopens_the_debt_on_the_customer_of_its_invoice(kit):
    items = [kit.item("1006", "10.00", customer="C-E", your_ref="ORD1006")]  # still partly open
    records = [kit.pay("R1", "35.00", CHARGEBACK, reference="ORD1006")]
    plan = kit.plan(records, items, standard_debtor="9999")
    line = kit.line(plan, "R1")
    assert line.reason is Reason.CHARGEBACK_UNMATCHED
    assert line.customer == "C-E"
    assert line.customer_kind is CustomerKind.EXISTING
    assert line.role is Role.DEBTORS
    assert line.amount == Decimal("-35.00")
    assert line.link is None
    assert line.flagged
    assert "chargeback_unmatched" in plan.flags
    assert "re-opening the debt" in line.explanation


def test_unmatched_chargeback_finds_the_customer_by_email(kit):
    items = [kit.item("1007", "99.00", customer="C-F", customer_email="f@x.nl")]
    records = [kit.pay("R1", "35.00", CHARGEBACK, reference="ORD1", customer_email="f@x.nl")]
    line = kit.line(kit.plan(records, items), "R1")
    assert line.reason is Reason.CHARGEBACK_UNMATCHED
    assert line.customer == "C-F"
    assert "e-mail f@x.nl" in line.explanation


def test_unmatched_chargeback_of_unknown_customer_goes_to_the_fallback_and_is_flagged(kit):
    records = [kit.pay("R1", "35.00", CHARGEBACK, reference="ORD404")]
    line = kit.line(kit.plan(records, [], standard_debtor="9999"), "R1")
    assert line.reason is Reason.CHARGEBACK_UNMATCHED
    assert line.customer == "9999"
    assert line.customer_kind is CustomerKind.STANDARD_DEBTOR
    assert line.flagged
    line = kit.line(kit.plan(records, []), "R1")
    assert line.role is Role.UNASSIGNED
    assert line.flagged


def test_chargeback_reference_on_two_customers_does_not_guess_one(kit):
    items = [
        kit.item("1008", "10.00", customer="C-G", your_ref="ORD1008", item_id="A"),
        kit.item("1009", "10.00", customer="C-H", description="ORD1008", item_id="B"),
    ]
    records = [kit.pay("R1", "10.00", CHARGEBACK, reference="ORD1008")]
    line = kit.line(kit.plan(records, items), "R1")
    assert line.reason is Reason.CHARGEBACK_UNMATCHED
    assert line.customer is None
