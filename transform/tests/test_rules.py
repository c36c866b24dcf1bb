"""Scenario tests for matching rules 1 to 7 (DESIGN section 5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pay_exact_transform import (
    CustomerKind,
    CustomProfile,
    OpenItem,
    OpenItemIndex,
    Reason,
    Role,
    RunPlanner,
    Status,
    build_index,
    plan_run,
)

# ------------------------------------------------------------------ rule 3: exact match links


def test_rule3_unique_reference_and_equal_amount_links(kit):
    items = [kit.item("24700012", "121.00", customer="C-JANSEN", your_ref="INV20250042")]
    plan = kit.plan([kit.pay("R1", "121.00", reference="INV20250042")], items)
    line = kit.line(plan, "R1")
    assert plan.status is Status.READY
    assert line.reason is Reason.MATCHED
    assert line.link == "24700012"
    assert line.open_item == "H-24700012"
    assert line.customer == "C-JANSEN"
    assert line.customer_kind is CustomerKind.EXISTING
    assert line.role is Role.DEBTORS
    assert line.gl == "1300"
    assert line.amount == Decimal("121.00")
    assert line.candidates == ("24700012",)
    assert "linked" in line.explanation


def test_rule3_punctuation_is_ignored_on_both_sides(kit):
    items = [kit.item("1001", "10.00", your_ref="WC-1234")]
    plan = kit.plan([kit.pay("R1", "10.00", reference="wc1234")], items)
    assert kit.line(plan, "R1").link == "1001"


def test_rule3_reference_found_in_ledger_description_tokens(kit):
    items = [kit.item("1002", "35.50", description="Bestelnummer 1042, factuurnummer 20001")]
    plan = kit.plan([kit.pay("R1", "35.50", description="Order:1042")], items)
    assert kit.line(plan, "R1").reason is Reason.MATCHED


def test_rule3_reference_found_as_invoice_number(kit):
    items = [kit.item("24700099", "80.00")]
    plan = kit.plan([kit.pay("R1", "80.00", description="Factuur 24700099")], items)
    assert kit.line(plan, "R1").link == "24700099"


def test_rule3_reference_found_as_payment_reference(kit):
    items = [kit.item("1003", "80.00", payment_reference="5555 6666 7777")]
    plan = kit.plan([kit.pay("R1", "80.00", reference="6666")], items)
    assert kit.line(plan, "R1").link == "1003"


def test_rule3_two_fields_of_one_payment_pointing_at_one_item_still_link(kit):
    items = [kit.item("1004", "12.00", your_ref="5150")]
    record = kit.pay("R1", "12.00", reference="5150", description="Order 5150", extra1="5150")
    assert kit.line(kit.plan([record], items), "R1").reason is Reason.MATCHED


# ------------------------------------------------------------ rule 4: one candidate, amount off


def test_rule4_partial_payment_books_on_customer_unlinked(kit):
    items = [kit.item("2001", "100.00", customer="C-A", your_ref="ORD2001")]
    line = kit.line(kit.plan([kit.pay("R1", "60.00", reference="ORD2001")], items), "R1")
    assert line.reason is Reason.AMOUNT_MISMATCH
    assert line.link is None
    assert line.customer == "C-A"
    assert line.role is Role.DEBTORS
    assert "partial payment" in line.explanation


def test_rule4_over_payment_books_on_customer_unlinked(kit):
    items = [kit.item("2002", "100.00", customer="C-A", your_ref="ORD2002")]
    line = kit.line(kit.plan([kit.pay("R1", "100.01", reference="ORD2002")], items), "R1")
    assert line.reason is Reason.AMOUNT_MISMATCH
    assert line.link is None
    assert "over-payment" in line.explanation


# --------------------------------------------------------------------------- rule 5: ambiguity


def test_rule5_several_candidates_of_one_customer_book_on_that_customer(kit):
    items = [
        kit.item("3001", "50.00", customer="C-B", your_ref="ORD3000"),
        kit.item("3002", "50.00", customer="C-B", description="Order ORD3000 part 2"),
    ]
    line = kit.line(kit.plan([kit.pay("R1", "50.00", reference="ORD3000")], items), "R1")
    assert line.reason is Reason.AMBIGUOUS
    assert line.link is None
    assert line.customer == "C-B"
    assert line.candidates == ("3001", "3002")
    assert line.candidate_count == 2


def test_rule5_several_candidates_of_different_customers_go_unassigned(kit):
    items = [
        kit.item("3003", "50.00", customer="C-B", your_ref="7777"),
        kit.item("3004", "50.00", customer="C-C", payment_reference="7777"),
    ]
    line = kit.line(kit.plan([kit.pay("R1", "50.00", reference="7777")], items), "R1")
    assert line.reason is Reason.AMBIGUOUS
    assert line.customer is None
    assert line.role is Role.UNASSIGNED
    assert line.gl == "2999"


def test_rule5_duplicate_payment_claims_the_item_twice_and_neither_links(kit):
    items = [kit.item("3005", "20.00", customer="C-D", your_ref="ORD3005")]
    records = [
        kit.pay("R1", "20.00", reference="ORD3005"),
        kit.pay("R2", "20.00", reference="ORD3005"),
    ]
    plan = kit.plan(records, items)
    for record_id in ("R1", "R2"):
        line = kit.line(plan, record_id)
        assert line.reason is Reason.CLAIMED_TWICE
        assert line.link is None
        assert line.customer == "C-D"
        assert line.flagged
    assert "claimed_twice" in plan.flags


def test_rule5_claims_count_across_the_clearings_of_a_run(kit):
    items = [kit.item("3006", "20.00", your_ref="ORD3006")]
    first = kit.clearing([kit.pay("R1", "20.00", reference="ORD3006")], clearing_id="CLR-A")
    second = kit.clearing([kit.pay("R9", "20.00", reference="ORD3006")], clearing_id="CLR-B")
    plans = plan_run([second, first], items, kit.settings())
    assert [p.clearing_id for p in plans] == ["CLR-A", "CLR-B"]
    assert [kit.line(p, r).reason for p, r in zip(plans, ("R1", "R9"), strict=True)] == [
        Reason.CLAIMED_TWICE,
        Reason.CLAIMED_TWICE,
    ]


def test_rule5_an_ambiguous_payment_also_claims_its_candidates(kit):
    items = [
        kit.item("3007", "20.00", customer="C-E", your_ref="ORD3007"),
        kit.item("3008", "20.00", customer="C-E", your_ref="ORD3008"),
    ]
    records = [
        kit.pay("R1", "20.00", reference="ORD3007"),
        kit.pay("R2", "20.00", description="ORD3007 ORD3008"),
    ]
    plan = kit.plan(records, items)
    assert kit.line(plan, "R1").reason is Reason.CLAIMED_TWICE
    assert kit.line(plan, "R2").reason is Reason.AMBIGUOUS


# ---------------------------------------------------------------------- rule 6: no candidate


def test_rule6_no_reference_goes_to_unassigned(kit):
    line = kit.line(kit.plan([kit.pay("R1", "9.99", description="Thanks!")], []), "R1")
    assert line.reason is Reason.UNASSIGNED
    assert line.cause is Reason.NO_REFERENCE
    assert line.role is Role.UNASSIGNED
    assert line.customer is None


def test_rule6_unknown_reference_goes_to_standard_debtor_when_set(kit):
    items = [kit.item("4001", "10.00", your_ref="ORD4001")]
    plan = kit.plan([kit.pay("R1", "10.00", reference="ORD9999")], items, standard_debtor="9999")
    line = kit.line(plan, "R1")
    assert line.reason is Reason.STANDARD_DEBTOR
    assert line.cause is Reason.NO_CANDIDATE
    assert line.customer == "9999"
    assert line.customer_kind is CustomerKind.STANDARD_DEBTOR
    assert line.role is Role.DEBTORS


def test_rule6_standard_debtor_comes_before_creating_a_relation(kit):
    record = kit.pay("R1", "10.00", reference="ORD1", customer_email="a@b.nl")
    plan = kit.plan([record], [], standard_debtor="9999", create_relations=True)
    assert kit.line(plan, "R1").reason is Reason.STANDARD_DEBTOR
    assert plan.relations == ()


def test_rule6_creates_a_relation_from_enrichment(kit):
    record = kit.pay(
        "R1", "10.00", reference="ORD1", customer_email=" Jan@Example.NL ", customer_name="Jan"
    )
    plan = kit.plan([record], [], create_relations=True)
    line = kit.line(plan, "R1")
    (relation,) = plan.relations
    assert line.reason is Reason.NEW_RELATION
    assert line.customer_kind is CustomerKind.NEW_RELATION
    assert line.customer == relation.temp_id
    assert relation.email == "jan@example.nl"
    assert relation.name == "Jan"
    assert relation.record_ids == ("CLR-1/R1",)


def test_rule6_relations_are_deduplicated_by_email_across_the_run(kit):
    first = kit.clearing(
        [kit.pay("R1", "10.00", customer_email="jan@example.nl")], clearing_id="CLR-A"
    )
    second = kit.clearing(
        [kit.pay("R2", "11.00", customer_email="JAN@example.nl", customer_name="Jan J.")],
        clearing_id="CLR-B",
    )
    plans = plan_run([first, second], [], kit.settings(create_relations=True))
    relations = {p.relations for p in plans}
    assert len(relations) == 1
    (relation,) = relations.pop()
    assert relation.name == "Jan J."
    assert relation.record_ids == ("CLR-A/R1", "CLR-B/R2")
    assert kit.line(plans[0], "R1").customer == kit.line(plans[1], "R2").customer


def test_rule6_without_customer_data_no_relation_is_created(kit):
    plan = kit.plan([kit.pay("R1", "10.00", reference="ORD1")], [], create_relations=True)
    line = kit.line(plan, "R1")
    assert line.reason is Reason.UNASSIGNED
    assert plan.relations == ()
    assert "no name or e-mail" in line.explanation


def test_rule6_email_of_a_known_customer_books_on_that_customer(kit):
    items = [kit.item("4002", "70.00", customer="C-F", customer_email="f@shop.nl")]
    record = kit.pay("R1", "25.00", reference="ORD5", customer_email="F@shop.nl")
    plan = kit.plan([record], items, standard_debtor="9999", create_relations=True)
    line = kit.line(plan, "R1")
    assert line.reason is Reason.EMAIL_CUSTOMER
    assert line.customer == "C-F"
    assert line.link is None
    assert plan.relations == ()


# ---------------------------------------------------------------- rule 7: similarity is a hint


def test_rule7_amount_alone_never_links_but_is_a_hint(kit):
    items = [kit.item("5001", "43.21", customer="C-G", your_ref="ORD5001")]
    line = kit.line(kit.plan([kit.pay("R1", "43.21", description="Bedankt")], items), "R1")
    assert line.link is None
    assert line.reason is Reason.UNASSIGNED
    assert line.hints == ("invoice 5001",)
    assert "Hint" in line.explanation


def test_rule7_name_alone_never_links(kit):
    items = [kit.item("5002", "43.21", customer="C-G", customer_name="Jansen BV")]
    record = kit.pay("R1", "43.21", description="Jansen BV", customer_name="Jansen BV")
    line = kit.line(kit.plan([record], items), "R1")
    assert line.link is None
    assert line.cause is Reason.NO_REFERENCE


def test_rule7_hints_are_dropped_when_too_many_items_share_the_amount(kit):
    items = [kit.item(f"50{n}", "10.00", customer=f"C{n}") for n in range(10, 14)]
    line = kit.line(kit.plan([kit.pay("R1", "10.00")], items), "R1")
    assert line.hints == ()


def test_rule7_hints_are_looked_for_in_the_second_pass_only(kit, monkeypatch):
    """The first pass decides a record without a candidate only for the relation it may need;
    its hints (a look-up by amount per record) would be thrown away with its line."""
    items = [kit.item("5001", "43.21", customer="C-G", your_ref="ORD5001")]
    index = build_index(items)
    asked: list[str] = []
    by_amount = OpenItemIndex.items_with_amount

    def counted(self, amount, currency):
        asked.append(phase)
        return by_amount(self, amount, currency)

    monkeypatch.setattr(OpenItemIndex, "items_with_amount", counted)
    clearing = kit.clearing([kit.pay("R1", "43.21", description="Bedankt", customer_name="X")])
    planner = RunPlanner(index, kit.settings(create_relations=True))
    phase = "count"
    planner.count([clearing])
    phase = "plan"
    (plan,) = planner.plan([clearing])
    assert asked == ["plan"]
    assert kit.line(plan, "R1").hints == ("invoice 5001",)
    assert plan.relations  # the relation pass 1 noted is there


# ------------------------------------------------- rule 1: normalising and comparing references


def test_leading_zeros_are_ignored_within_one_prefix(kit):
    items = [kit.item("6001", "15.00", your_ref="ORD00012")]
    assert kit.line(kit.plan([kit.pay("R1", "15.00", reference="ORD12")], items), "R1").link


def test_a_number_never_matches_across_letter_prefixes(kit):
    items = [kit.item("6002", "15.00", your_ref="INV12")]
    plan = kit.plan([kit.pay("R1", "15.00", reference="ORD12")], items)
    line = kit.line(plan, "R1")
    assert line.link is None
    assert line.cause is Reason.NO_CANDIDATE


def test_a_prefixed_number_does_not_match_the_bare_number(kit):
    items = [kit.item("6003", "15.00", your_ref="1234")]
    line = kit.line(kit.plan([kit.pay("R1", "15.00", reference="WC1234")], items), "R1")
    assert line.link is None


def test_description_prefix_words_are_stripped(kit):
    items = [
        kit.item("6004", "1.00", your_ref="1234", item_id="A"),
        kit.item("6005", "2.00", your_ref="10023", item_id="B"),
        kit.item("6006", "3.00", your_ref="777", item_id="C"),
    ]
    records = [
        kit.pay("R1", "1.00", description="Order-1234"),
        kit.pay("R2", "2.00", description="Bestelling:  10023"),
        kit.pay("R3", "3.00", description="BESTELNUMMER#777"),
    ]
    plan = kit.plan(records, items)
    assert [kit.line(plan, r).link for r in ("R1", "R2", "R3")] == ["6004", "6005", "6006"]


def test_too_short_references_are_ignored(kit):
    items = [kit.item("6007", "5.00", your_ref="12")]
    line = kit.line(kit.plan([kit.pay("R1", "5.00", reference="12")], items), "R1")
    assert line.cause is Reason.NO_REFERENCE


def test_words_without_digits_are_not_references(kit):
    items = [kit.item("6008", "5.00", your_ref="JANSEN")]
    line = kit.line(kit.plan([kit.pay("R1", "5.00", description="JANSEN")], items), "R1")
    assert line.cause is Reason.NO_REFERENCE


# ------------------------------------------------------------- rule 2: what makes a candidate


def test_currency_mismatch_is_not_a_candidate(kit):
    items = [
        kit.item("7001", "25.00", customer="C-H", your_ref="ORD7001", currency="USD"),
        kit.item("7011", "25.00", customer="C-I", your_ref="ORD7001", currency="GBP"),
    ]
    line = kit.line(kit.plan([kit.pay("R1", "25.00", reference="ORD7001")], items), "R1")
    assert line.link is None
    assert line.cause is Reason.CURRENCY_MISMATCH
    assert line.role is Role.UNASSIGNED  # two open items: the customer is not certain
    assert "is in USD, the payment in EUR" in line.explanation


def test_only_the_selected_sales_journal_is_searched(kit):
    items = [kit.item("7002", "25.00", your_ref="ORD7002", journal="71")]
    plan = kit.plan([kit.pay("R1", "25.00", reference="ORD7002")], items, sales_journal="70")
    line = kit.line(plan, "R1")
    assert line.cause is Reason.NO_CANDIDATE
    assert "journal 71" in line.explanation
    plan = kit.plan([kit.pay("R1", "25.00", reference="ORD7002")], items, sales_journal="71")
    assert kit.line(plan, "R1").reason is Reason.MATCHED


def test_a_payment_never_matches_a_credit_note(kit):
    items = [kit.item("7003", "-25.00", your_ref="ORD7003")]
    line = kit.line(kit.plan([kit.pay("R1", "25.00", reference="ORD7003")], items), "R1")
    assert line.cause is Reason.NO_CANDIDATE
    assert "credit note" in line.explanation


def test_date_window_excludes_old_invoices_when_set(kit):
    items = [kit.item("7004", "25.00", your_ref="ORD7004", invoice_date=date(2023, 1, 1))]
    record = kit.pay("R1", "25.00", reference="ORD7004", transaction_date=date(2025, 3, 1))
    assert kit.line(kit.plan([record], items), "R1").reason is Reason.MATCHED
    plan = kit.plan([record], items, date_window_days=365)
    assert kit.line(plan, "R1").cause is Reason.NO_CANDIDATE


def test_candidates_are_capped_at_ten_with_the_full_count(kit):
    items = [kit.item(f"8{n:03d}", "1.00", customer="C-I", your_ref="BULK42") for n in range(25)]
    line = kit.line(kit.plan([kit.pay("R1", "1.00", reference="BULK42")], items), "R1")
    assert line.reason is Reason.AMBIGUOUS
    assert line.candidates == tuple(f"8{n:03d}" for n in range(10))
    assert line.candidate_count == 25


def test_custom_profile_with_regex_and_restricted_ledger_fields(kit):
    profile = CustomProfile(
        name="acme",
        payment_fields=("description",),
        ledger_fields=("your_ref",),
        regex=r"klant\s+\d+\s+factuur\s+(?P<ref>[A-Z]+-\d+)",
    )
    items = [
        kit.item("9001", "30.00", your_ref="F-2025", item_id="A"),
        kit.item("9002", "30.00", description="klant 4711", item_id="B"),
    ]
    record = kit.pay("R1", "30.00", description="klant 4711 factuur F-2025")
    line = kit.line(kit.plan([record], items, profile=profile), "R1")
    assert line.reason is Reason.MATCHED
    assert line.link == "9001"


def test_index_built_once_serves_several_clearings_with_the_same_result(kit):
    from pay_exact_transform import build_index, plan_clearing

    items = [kit.item("9101", "30.00", your_ref="ORD9101")]
    clearing = kit.clearing([kit.pay("R1", "30.00", reference="ORD9101")])
    index = build_index(items)
    assert plan_clearing(clearing, index, kit.settings()) == plan_clearing(
        clearing, items, kit.settings()
    )
    assert len(index) == 1
    assert isinstance(index.items[0], OpenItem)


def test_one_index_serves_profiles_with_different_comparison_rules(kit):
    from pay_exact_transform import build_index

    items = [kit.item("9201", "30.00", your_ref="000000123")]
    record = kit.pay("R1", "30.00", extra1="123")
    index = build_index(items)
    clearing = kit.clearing([record])
    (loose,) = plan_run([clearing], index, kit.settings(profile="generic"))
    (strict,) = plan_run([clearing], index, kit.settings(profile="magento2"))
    assert kit.line(loose, "R1").link == "9201"
    assert kit.line(strict, "R1").link is None


def test_a_reference_on_too_many_open_items_is_ignored(kit):
    items = [
        kit.item(f"93{n:03d}", "12.00", customer=f"C{n}", description=f"Factuur {n} / 2025")
        for n in range(60)
    ]
    items.append(kit.item("9400", "30.00", customer="C-J", your_ref="ORD9400"))
    records = [
        kit.pay("R1", "30.00", description="ORD9400 2025"),
        kit.pay("R2", "12.00", description="Betaling 2025"),
    ]
    plan = kit.plan(records, items)
    assert kit.line(plan, "R1").reason is Reason.MATCHED  # 2025 does not make it ambiguous
    line = kit.line(plan, "R2")
    assert line.cause is Reason.NO_REFERENCE
    assert "too common" in line.explanation
