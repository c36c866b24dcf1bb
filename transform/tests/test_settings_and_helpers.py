"""Revenue-group overrides, keys, descriptions, helpers and input validation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from pay_exact_transform import (
    Direction,
    InputError,
    LineKind,
    MatchProfile,
    Reason,
    RecordKind,
    RevenueGroupOverride,
    Role,
    Status,
    build_index,
    classify_line,
    idempotency_key,
    normalise,
    parse_key,
    plan_run,
    record_from_signed,
)

# ---------------------------------------------------------------------- revenue-group overrides


def test_revenue_group_override_changes_gl_accounts_and_journal(kit):
    settings = kit.settings(
        revenue_group_overrides={
            "CT-2": RevenueGroupOverride(journal="PAY2", debtors="1310", payouts="2210"),
        }
    )
    records = [kit.pay("R1", "10.00")]
    plain, grouped = plan_run(
        [
            kit.clearing(records, clearing_id="A", group="CT-1", fees=("0.10",)),
            kit.clearing(records, clearing_id="B", group="CT-2", fees=("0.10",)),
        ],
        [],
        settings,
    )
    assert plain.journal is None
    assert grouped.journal == "PAY2"
    assert grouped.revenue_group == "CT-2"
    gls = {line.role: line.gl for line in grouped.lines}
    assert gls == {Role.UNASSIGNED: "2999", Role.PSP_COSTS: "4500", Role.PAYOUTS: "2210"}
    assert {line.role: line.gl for line in plain.lines}[Role.PAYOUTS] == "2200"


def test_revenue_group_override_debtors_gl_applies_to_customer_lines(kit):
    items = [kit.item("1", "10.00", your_ref="ORD1001")]
    settings = kit.settings(revenue_group_overrides={"CT-2": RevenueGroupOverride(debtors="1310")})
    clearing = kit.clearing([kit.pay("R1", "10.00", reference="ORD1001")], group="CT-2")
    (plan,) = plan_run([clearing], items, settings)
    assert kit.line(plan, "R1").gl == "1310"


def test_revenue_group_override_selects_its_own_sales_journal(kit):
    items = [kit.item("1", "10.00", your_ref="ORD1001", journal="72")]
    settings = kit.settings(
        sales_journal="70",
        revenue_group_overrides={"CT-2": RevenueGroupOverride(sales_journal="72")},
    )
    records = [kit.pay("R1", "10.00", reference="ORD1001")]
    plain, grouped = plan_run(
        [
            kit.clearing(records, clearing_id="A", group="CT-1"),
            kit.clearing([replace(records[0], record_id="R2")], clearing_id="B", group="CT-2"),
        ],
        items,
        settings,
    )
    assert kit.line(plain, "R1").cause is Reason.NO_CANDIDATE  # not in journal 70
    assert kit.line(grouped, "R2").reason is Reason.MATCHED  # a candidate only for CT-2


# ------------------------------------------------------------------- keys and descriptions


def test_idempotency_key_round_trips_through_a_description():
    key = idempotency_key("CLEARING-20250300123")
    assert key == "PX:CLEARING-20250300123"
    assert parse_key(f"{key} payment INV20250042") == "CLEARING-20250300123"
    assert parse_key(f"   {key}") == "CLEARING-20250300123"
    assert parse_key("Betaling 123") is None
    assert parse_key("PX: loose") is None
    assert parse_key(None) is None


def test_idempotency_key_rejects_ids_that_cannot_round_trip():
    with pytest.raises(InputError, match="clearing_id"):
        idempotency_key("A" * 41)
    with pytest.raises(InputError, match="without spaces"):
        idempotency_key("CLR 1")


def test_every_description_starts_with_the_key_and_fits_60_characters(kit):
    record = kit.pay("R1", "10.00", description="x" * 200, reference="   ")
    clearing = kit.clearing([record], clearing_id="C" * 40, fees=("0.10",))
    (plan,) = plan_run([clearing], [], kit.settings())
    key = "PX:" + "C" * 40
    for line in plan.lines:
        assert len(line.description) <= 60
        assert line.description.startswith(key + " ")
        assert parse_key(line.description) == "C" * 40
    assert plan.key == key


def test_descriptions_are_cleaned_of_control_characters(kit):
    record = kit.pay("R1", "10.00", description="Order\t1234\n\x00 x")
    (plan,) = plan_run([kit.clearing([record])], [], kit.settings())
    assert kit.line(plan, "R1").description == "PX:CLR-1 payment R1 Order 1234 x"


# ------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("name", "direction", "kind"),
    [
        ("iDEAL", Direction.CREDIT, LineKind.PAYMENTS),
        ("Refund iDEAL", Direction.DEBIT, LineKind.REFUNDS),
        ("Terugbetaling", Direction.DEBIT, LineKind.REFUNDS),
        ("Chargeback Visa", Direction.DEBIT, LineKind.CHARGEBACKS),
        ("Storno SEPA", Direction.DEBIT, LineKind.CHARGEBACKS),
        ("Invoice 2025-03", Direction.DEBIT, LineKind.FEES),
        ("Transactiekosten", Direction.DEBIT, LineKind.FEES),
        ("Service fee", Direction.DEBIT, LineKind.FEES),
        ("Rolling reserve", Direction.DEBIT, LineKind.OTHER),
    ],
)
def test_classify_line(name, direction, kind):
    assert classify_line(706, name, direction) is kind


@pytest.mark.parametrize(
    ("amount", "status", "kind"),
    [
        ("12.10", None, RecordKind.PAYMENT),
        ("-12.10", None, RecordKind.REFUND),
        ("-12.10", -81, RecordKind.REFUND),
        ("-12.10", -82, RecordKind.REFUND),
        ("-12.10", -70, RecordKind.CHARGEBACK),
        ("-12.10", -71, RecordKind.CHARGEBACK),
    ],
)
def test_record_from_signed_amount(amount, status, kind):
    record = record_from_signed("R1", Decimal(amount), "EUR", status_code=status, reference="X1")
    assert record.kind is kind
    assert record.amount == Decimal("12.10")
    assert record.reference == "X1"


def test_record_from_signed_rejects_float():
    with pytest.raises(InputError, match="record 'R1': field 'amount' must be a Decimal"):
        record_from_signed("R1", 12.1, "EUR")  # type: ignore[arg-type]


def test_normalise():
    assert normalise("#1001") == "1001"
    assert normalise("wc-1234") == "WC1234"
    assert normalise("Bestelling:  10023") == "BESTELLING10023"


# ------------------------------------------------------------------------ input validation


def test_float_amount_is_rejected_naming_clearing_record_and_field(kit):
    record = replace(kit.pay("R7", "1.00"), amount=1.0)
    clearing = kit.clearing([kit.pay("R7", "1.00")])
    clearing = replace(clearing, records=(record,))
    with pytest.raises(InputError, match=r"clearing 'CLR-1', record 'R7': field 'amount'"):
        plan_run([clearing], [], kit.settings())


def test_amount_with_too_many_decimals_is_rejected(kit):
    with pytest.raises(InputError, match="more decimals than EUR"):
        build_index([kit.item("1", "1.005")])


def test_open_item_ids_must_be_unique_but_exact_repeats_are_dropped(kit):
    item = kit.item("1", "1.00")
    assert len(build_index([item, item])) == 1
    with pytest.raises(InputError, match="open item 'H-1': field 'item_id'"):
        build_index([item, replace(item, amount=Decimal("2.00"))])


def test_record_ids_must_be_unique_within_a_clearing_but_repeats_are_dropped(kit):
    record = kit.pay("R1", "5.00")
    clearing = kit.clearing([record, record], payout="5.00", lines=[])
    (plan,) = plan_run([clearing], [], kit.settings())
    assert len([line for line in plan.lines if line.record_id == "R1"]) == 1
    other = kit.clearing([record, replace(record, amount=Decimal("6.00"))], lines=[])
    with pytest.raises(InputError, match="record 'R1': field 'record_id' is used twice"):
        plan_run([other], [], kit.settings())


def test_profile_validation_names_the_field():
    with pytest.raises(InputError, match="payment_fields"):
        MatchProfile(name="x", payment_fields=("orderNumber",))
    with pytest.raises(InputError, match="regex"):
        MatchProfile(name="x", regex="(")


def test_settings_require_gl_codes(kit):
    with pytest.raises(InputError, match="field 'payouts'"):
        replace(kit.gl, payouts="")


def test_absurdly_large_amounts_are_refused_naming_the_field(kit):
    with pytest.raises(InputError, match=r"open item 'H-1': field 'amount' is too large"):
        build_index([kit.item("1", "1E+30")])
    clearing = kit.clearing([kit.pay("R1", "1E+15")], lines=[], payout="0")
    with pytest.raises(InputError, match=r"record 'R1': field 'amount' is too large"):
        plan_run([clearing], [], kit.settings())


def test_sums_are_exact_whatever_decimal_context_the_caller_set(kit):
    import decimal

    records = [kit.pay(f"R{n}", "999999999999.99") for n in range(30)]
    clearing = kit.clearing(records, fees=("0.01",))
    with decimal.localcontext(decimal.Context(prec=6)):
        (plan,) = plan_run([clearing], [], kit.settings())
    assert plan.status is Status.READY
    assert plan.lines[-1].amount == Decimal("-29999999999999.69")
    assert plan.balance == 0


def test_claim_counts_grow_to_any_position_and_count_from_zero() -> None:
    from pay_exact_transform.claims import ClaimCounts

    claims = ClaimCounts()
    for idx in (5, 0, 5, 1_000, 5):
        claims.add(idx)
    assert [claims[i] for i in (0, 1, 5, 999, 1_000, 10**6)] == [1, 0, 3, 0, 1, 0]
