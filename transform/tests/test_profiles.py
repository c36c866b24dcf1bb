"""Scenario tests for the webshop matching profiles (webshop-references section 5)."""

from __future__ import annotations

from datetime import date

import pytest
from pay_exact_transform import PROFILES, InputError, Reason, Role, resolve_profile


def test_every_documented_platform_has_a_profile():
    assert set(PROFILES) == {
        "generic",
        "woocommerce",
        "magento2",
        "shopware6",
        "prestashop",
        "lightspeed",
        "shopify",
        "mijnwebwinkel",
        "ccvshop",
        "plugandpay",
    }


def test_unknown_profile_name_is_a_clear_error():
    with pytest.raises(InputError, match="unknown profile 'woo'"):
        resolve_profile("woo")


# ------------------------------------------------------------------------------- WooCommerce


def test_woocommerce_v4_reference_without_dash_matches_dashed_your_ref(kit):
    items = [kit.item("11", "19.95", your_ref="WC-1234")]
    plan = kit.plan([kit.pay("R1", "19.95", reference="WC1234")], items, profile="woocommerce")
    assert kit.line(plan, "R1").reason is Reason.MATCHED


def test_woocommerce_legacy_order_dash_description_matches_plain_number(kit):
    items = [kit.item("12", "19.95", your_ref="4711")]
    record = kit.pay("R1", "19.95", description="Order-4711")
    assert kit.line(kit.plan([record], items, profile="woocommerce"), "R1").link == "12"


def test_woocommerce_ignores_billing_email_and_post_id_extras(kit):
    items = [
        kit.item("13", "19.95", your_ref="4712", item_id="A"),
        kit.item("14", "19.95", your_ref="9876", customer="C2", item_id="B"),
    ]
    record = kit.pay("R1", "19.95", reference="4712", extra2="x9876@shop.nl", extra3="9876")
    line = kit.line(kit.plan([record], items, profile="woocommerce"), "R1")
    assert line.link == "13"
    assert line.candidate_count == 1


# ---------------------------------------------------------------------------------- Magento 2


def test_magento_extra1_increment_id_matches(kit):
    items = [kit.item("21", "49.00", your_ref="000000123")]
    record = kit.pay("R1", "49.00", extra1="000000123", description="Order 000000123")
    assert kit.line(kit.plan([record], items, profile="magento2"), "R1").link == "21"


def test_magento_entity_id_in_reference_before_2026_01_29_is_ignored(kit):
    items = [
        kit.item("22", "49.00", your_ref="000000124", item_id="A"),
        kit.item("23", "49.00", your_ref="456", customer="C2", item_id="B"),
    ]
    early = kit.pay(
        "R1", "49.00", reference="456", extra1="000000124", transaction_date=date(2025, 9, 1)
    )
    line = kit.line(kit.plan([early], items, profile="magento2"), "R1")
    assert line.link == "22"
    late = kit.pay(
        "R1", "49.00", reference="456", extra1="000000124", transaction_date=date(2026, 2, 1)
    )
    line = kit.line(kit.plan([late], items, profile="magento2"), "R1")
    assert line.reason is Reason.AMBIGUOUS  # from then on reference is read, and it disagrees


def test_magento_keeps_zero_padding(kit):
    items = [kit.item("24", "49.00", your_ref="123")]
    record = kit.pay("R1", "49.00", extra1="000000123")
    assert kit.line(kit.plan([record], items, profile="magento2"), "R1").link is None
    assert kit.line(kit.plan([record], items, profile="generic"), "R1").link == "24"


def test_magento_order_number_found_in_invoice_description(kit):
    items = [kit.item("25", "49.00", your_ref="INV-7", description="Bestelnummer 000000125")]
    record = kit.pay("R1", "49.00", description="Order 000000125")
    assert kit.line(kit.plan([record], items, profile="magento2"), "R1").link == "25"


# --------------------------------------------------------------------------------- Shopware 6


def test_shopware_double_space_label_and_reference(kit):
    items = [kit.item("31", "5.00", your_ref="10023")]
    record = kit.pay("R1", "5.00", description="Bestelling:  10023")
    assert kit.line(kit.plan([record], items, profile="shopware6"), "R1").link == "31"


# --------------------------------------------------------------------------------- PrestaShop


def test_prestashop_trusts_only_the_pre_created_order_id(kit):
    items = [
        kit.item("41", "60.00", your_ref="5501", item_id="A"),  # another order with id 5501
        kit.item("42", "60.00", your_ref="5502", customer="C2", item_id="B"),
    ]
    with_order = kit.pay("R1", "60.00", description="5502", extra1="5501", extra2="5502")
    assert kit.line(kit.plan([with_order], items, profile="prestashop"), "R1").link == "42"
    cart_only = kit.pay("R1", "60.00", description="5501", extra1="5501")
    line = kit.line(kit.plan([cart_only], items, profile="prestashop"), "R1")
    assert line.link is None
    assert line.cause is Reason.NO_REFERENCE


# --------------------------------------------------------------------------------- Lightspeed


def test_lightspeed_order_number_matches_order_not_invoice(kit):
    items = [
        kit.item("51", "12.00", your_ref="INV00012", item_id="A"),
        kit.item("52", "12.00", your_ref="ORD00012", customer="C2", item_id="B"),
    ]
    record = kit.pay("R1", "12.00", reference="ORD00012", description="ORD00012")
    assert kit.line(kit.plan([record], items, profile="lightspeed"), "R1").link == "52"


def test_lightspeed_invoice_mode_ledger_does_not_take_order_numbers(kit):
    items = [kit.item("53", "12.00", your_ref="INV00013")]
    record = kit.pay("R1", "12.00", reference="ORD00013")
    line = kit.line(kit.plan([record], items, profile="lightspeed"), "R1")
    assert line.cause is Reason.NO_CANDIDATE
    assert line.hints == ("invoice 53",)


# ------------------------------------------------------------------------------------ Shopify


def test_shopify_email_and_exact_amount_links(kit):
    items = [
        kit.item("61", "89.90", customer="C-S", customer_email="s@x.nl", your_ref="#1001"),
        kit.item("62", "10.00", customer="C-S", customer_email="s@x.nl", your_ref="#1002"),
    ]
    record = kit.pay("R1", "89.90", reference="u0nwmSrNntjI", customer_email="S@X.nl")
    line = kit.line(kit.plan([record], items, profile="shopify"), "R1")
    assert line.reason is Reason.SHOPIFY_EMAIL_AMOUNT
    assert line.link == "61"
    assert line.customer == "C-S"


def test_shopify_two_open_items_of_that_amount_are_ambiguous(kit):
    items = [
        kit.item("63", "20.00", customer="C-S", customer_email="s@x.nl", item_id="A"),
        kit.item("64", "20.00", customer="C-S", customer_email="s@x.nl", item_id="B"),
    ]
    record = kit.pay("R1", "20.00", customer_email="s@x.nl")
    line = kit.line(kit.plan([record], items, profile="shopify"), "R1")
    assert line.reason is Reason.AMBIGUOUS
    assert line.customer == "C-S"
    assert line.link is None


def test_shopify_email_shared_by_two_customers_never_links(kit):
    items = [
        kit.item("65", "20.00", customer="C-S", customer_email="shared@x.nl", item_id="A"),
        kit.item("66", "30.00", customer="C-T", customer_email="shared@x.nl", item_id="B"),
    ]
    record = kit.pay("R1", "20.00", customer_email="shared@x.nl")
    line = kit.line(kit.plan([record], items, profile="shopify"), "R1")
    assert line.link is None
    assert line.role is Role.UNASSIGNED


def test_shopify_without_enrichment_has_no_reference(kit):
    items = [kit.item("67", "20.00", customer_email="s@x.nl")]
    line = kit.line(kit.plan([kit.pay("R1", "20.00")], items, profile="shopify"), "R1")
    assert line.cause is Reason.NO_REFERENCE
    assert line.link is None


def test_email_amount_rule_is_only_for_profiles_that_enable_it(kit):
    items = [kit.item("68", "20.00", customer="C-S", customer_email="s@x.nl")]
    record = kit.pay("R1", "20.00", customer_email="s@x.nl")
    line = kit.line(kit.plan([record], items, profile="woocommerce"), "R1")
    assert line.link is None
    assert line.reason is Reason.EMAIL_CUSTOMER


# ------------------------------------------------------------------------------ Mijnwebwinkel


def test_mijnwebwinkel_short_integer_order_numbers(kit):
    items = [kit.item("71", "7.50", your_ref="27")]
    record = kit.pay("R1", "7.50", description="Bestelling 27")
    assert kit.line(kit.plan([record], items, profile="mijnwebwinkel"), "R1").link == "71"
    assert kit.line(kit.plan([record], items, profile="generic"), "R1").link is None


# ------------------------------------------------------------------------ CCV Shop, Plug&Pay


def test_ccvshop_full_order_number_with_prefix(kit):
    items = [kit.item("81", "14.00", your_ref="CCV-00451")]
    record = kit.pay("R1", "14.00", reference="CCV451")
    assert kit.line(kit.plan([record], items, profile="ccvshop"), "R1").link == "81"


def test_plugandpay_reads_like_an_unknown_integration(kit):
    items = [kit.item("91", "97.00", your_ref="PP-2025-0007")]
    record = kit.pay("R1", "97.00", extra1="PP-2025-0007")
    line = kit.line(kit.plan([record], items, profile="plugandpay"), "R1")
    assert line.link == "91"


# ------------------------------------------------------------------ profiles per revenue group


def _per_group(kit, **overrides):
    from pay_exact_transform import RevenueGroupOverride

    return kit.settings(
        profile="woocommerce",
        revenue_group_overrides={
            code: RevenueGroupOverride(profile=name) for code, name in overrides.items()
        },
    )


def test_each_revenue_group_reads_references_with_its_own_profile(kit):
    from pay_exact_transform import plan_run

    items = [kit.item("9301", "30.00", your_ref="000000123")]
    settings = _per_group(kit, **{"CT-MAG": "magento2", "CT-SHOP": "shopify"})
    record = kit.pay("R1", "30.00", extra1="123")
    (woo,) = plan_run([kit.clearing([record], group="CT-WOO")], items, settings)
    (mag,) = plan_run([kit.clearing([record], group="CT-MAG")], items, settings)
    (shop,) = plan_run([kit.clearing([record], group="CT-SHOP")], items, settings)
    assert kit.line(woo, "R1").link == "9301"  # the default profile strips the zeros
    assert kit.line(mag, "R1").link is None  # magento2 keeps them: 123 is not 000000123
    assert kit.line(mag, "R1").cause is Reason.NO_CANDIDATE
    assert "profile shopify reads: no fields" in kit.line(shop, "R1").explanation


@pytest.mark.parametrize(
    ("other_profile", "other_fields"),
    [
        # Magento pads the increment id; WooCommerce sends it without zeros.
        ("magento2", {"extra1": "000001042"}),
        # Shopify has no reference at all: only its e-mail + amount rule finds the invoice,
        # which the default profile would never see.
        ("shopify", {"customer_email": "c7@shop.nl"}),
    ],
)
def test_one_invoice_claimed_by_groups_with_different_profiles_is_linked_by_neither(
    kit, other_profile, other_fields
):
    from pay_exact_transform import build_index, plan_run

    items = [
        kit.item("9401", "42.00", your_ref="000001042", customer="C7", customer_email="c7@shop.nl"),
        kit.item("9402", "42.00", your_ref="000001043", customer="C8"),
    ]
    woo = kit.pay("W1", "42.00", reference="1042")
    other = kit.pay("X1", "42.00", **other_fields)
    settings = _per_group(kit, **{"CT-OTHER": other_profile})
    for record, group in ((woo, "CT-WOO"), (other, "CT-OTHER")):
        (alone,) = plan_run([kit.clearing([record], group=group)], items, settings)
        assert kit.line(alone, record.record_id).link == "9401"  # each alone would link

    index = build_index(items)  # one index serves both profiles
    for ids in (("CLR-1", "CLR-2"), ("CLR-2", "CLR-1")):  # either group's clearing first
        clearings = [
            kit.clearing([woo], clearing_id=ids[0], group="CT-WOO"),
            kit.clearing([other], clearing_id=ids[1], group="CT-OTHER"),
        ]
        plans = plan_run(clearings, index, settings)
        assert plan_run(clearings[::-1], index, settings) == plans
        lines = [line for plan in plans for line in plan.lines if line.record_id]
        assert [line.link for line in lines] == [None, None]
        assert {line.reason for line in lines} == {Reason.CLAIMED_TWICE}
        assert {line.customer for line in lines} == {"C7"}
        assert all("which 2 records of this run claim" in line.explanation for line in lines)


def test_unknown_profile_of_a_revenue_group_is_a_clear_error(kit):
    from pay_exact_transform import plan_run

    settings = _per_group(kit, **{"CT-X": "woo"})
    clearing = kit.clearing([kit.pay("R1", "1.00", reference="ORD123")])
    with pytest.raises(InputError, match=r"revenue_group_overrides\['CT-X'\].*unknown profile"):
        plan_run([clearing], [], settings)
