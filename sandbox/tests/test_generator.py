"""The merchant generator: determinism, code shapes, each platform's Pay. plugin conventions,
fee invoicing modes, payout splitting, time zones, fixture files and scale."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from pay_exact_sandbox.generator import (
    PLATFORMS,
    FeeSettings,
    GeneratorParams,
    Merchant,
    RevenueGroup,
    generate,
)
from pay_exact_sandbox.generator.timefmt import amsterdam_timestamp
from pay_exact_sandbox.pay import PaySandbox

ALL_PLATFORMS = GeneratorParams(
    seed=99,
    days=4,
    payments_per_clearing=(6, 10),
    revenue_groups=tuple(RevenueGroup(p.title(), p) for p in PLATFORMS),
)


@pytest.fixture(scope="module")
def every_platform() -> Merchant:
    return generate(ALL_PLATFORMS)


def test_same_params_give_byte_identical_json() -> None:
    params = GeneratorParams(seed=4, days=3, refund_share=0.2)
    assert generate(params).dumps() == generate(params).dumps()
    assert generate(params).dumps() != generate(GeneratorParams(seed=5, days=3)).dumps()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days": 0}, "days"),
        ({"payments_per_clearing": (5, 2)}, "payments_per_clearing"),
        ({"revenue_groups": (RevenueGroup("A", "oscommerce"),)}, "platform"),
        ({"refund_share": 1.5}, "refund_share"),
        ({"fees": FeeSettings(invoice_settlement="monthly")}, "invoice_settlement"),
        ({"currency": "euro"}, "currency"),
        ({"payment_methods": (("Cash", 1),)}, "payment_methods"),
    ],
)
def test_bad_params_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        generate(GeneratorParams(**change))


def test_codes_have_pay_shapes(every_platform: Merchant) -> None:
    pay = every_platform.pay
    shapes = {
        "settlement": r"^[A-Z0-9]{4}-[A-Z0-9]{4}$",
        "clearing": r"^CLEARING-\d{11}$",
        "line": r"^FT-\d{4}-\d{4}-\d{4}$",
        "order": r"^\d{10}X[0-9a-f]{4,5}$",
        "transaction": r"^EX-\d{4}-\d{4}-\d{4}$",
        "group": r"^CT-\d{4}-\d{4}$",
        "merchant": r"^M-\d{4}-\d{4}$",
        "token_code": r"^AT-\d{4}-\d{4}$",
        "token": r"^[0-9a-f]{40}$",
        "invoice": r"^INVOICE-\d{11}$",
    }
    values = {
        "settlement": [s["code"] for s in pay["settlements"]],
        "clearing": [c["clearingId"] for s in pay["settlements"] for c in s["clearings"]],
        "line": [
            x["code"]
            for s in pay["settlements"]
            for c in s["clearings"]
            for x in c["clearingLines"]
        ],
        "order": [r["orderId"] for r in pay["clearingRecords"]],
        "transaction": [t["id"] for t in pay["transactions"]],
        "group": [g["code"] for g in pay["turnoverGroups"]],
        "merchant": [m["code"] for m in pay["merchants"]],
        "token_code": [t["code"] for t in pay["tokens"]],
        "token": [t["token"] for t in pay["tokens"]],
        "invoice": [x["invoiceID"] for x in pay["invoiceLines"] if x["invoiceID"]],
    }
    for kind, pattern in shapes.items():
        assert values[kind], kind
        for value in values[kind]:
            assert re.match(pattern, value), (kind, value)
    # Codes are unique where they identify something.
    for kind in ("settlement", "clearing", "line", "transaction", "group"):
        assert len(set(values[kind])) == len(values[kind]), kind


def _payments(merchant: Merchant, platform: str) -> list[tuple[object, dict, dict]]:
    records = {r["reportingId"]: r for r in merchant.pay["clearingRecords"]}
    transactions = {t["orderId"]: t for t in merchant.pay["transactions"]}
    return [
        (order, records[order.payment_record], transactions[order.pay_order_id])
        for order in merchant.orders
        if order.platform == platform
    ]


def test_woocommerce_sends_order_colon_number(every_platform: Merchant) -> None:
    for order, record, tx in _payments(every_platform, "woocommerce"):
        assert order.number.isdigit()
        assert record["description"] == f"Order:{order.number}"
        assert record["reference"] == order.number
        assert tx["stats"]["extra1"] == order.number
        assert tx["stats"]["extra2"] == tx["customer"]["email"]


def test_magento_sends_padded_increment_id_in_description_and_extra1(
    every_platform: Merchant,
) -> None:
    for order, record, tx in _payments(every_platform, "magento2"):
        assert re.match(r"^\d{9}$", order.number)
        assert record["description"] == f"Order {order.number}"
        assert tx["stats"]["extra1"] == order.number
        assert tx["stats"]["extra3"] == order.shop_ids["entityId"]


def test_magento_reference_is_the_entity_id_in_the_plugin_window() -> None:
    merchant = generate(
        GeneratorParams(
            start_date=date(2025, 9, 1), days=2, revenue_groups=(RevenueGroup("M", "magento2"),)
        )
    )
    for order, record, _tx in _payments(merchant, "magento2"):
        assert record["reference"] == order.shop_ids["entityId"] != order.number


def test_shopware_description_has_a_double_space(every_platform: Merchant) -> None:
    for order, record, tx in _payments(every_platform, "shopware6"):
        assert record["description"] == f"Order:  {order.number}"
        assert record["reference"] == order.number
        assert tx["stats"]["extra1"] == ""


def test_prestashop_sends_the_cart_id_not_the_order_reference(every_platform: Merchant) -> None:
    for order, record, tx in _payments(every_platform, "prestashop"):
        assert re.match(r"^[A-Z]{9}$", order.number)
        assert record["description"] == order.shop_ids["cartId"]
        assert tx["stats"]["extra1"] == order.shop_ids["cartId"]
        assert order.number not in record["description"] + record["reference"]


def test_lightspeed_uses_ord_numbers(every_platform: Merchant) -> None:
    for order, record, _tx in _payments(every_platform, "lightspeed"):
        assert re.match(r"^ORD\d{5,}$", order.number)
        assert record["reference"] == order.number
        assert order.shop_ids["invoiceNumber"].startswith("INV")


def test_shopify_never_sends_the_order_number(every_platform: Merchant) -> None:
    customers = {c.id: c for c in every_platform.customers}
    for order, record, tx in _payments(every_platform, "shopify"):
        assert order.number.startswith("#")
        number = order.number.removeprefix("#")
        assert number not in record["description"]
        assert number not in record["reference"]
        assert tx["customer"]["email"] == customers[order.customer_id].email


def test_pay_references_are_alphanumeric(every_platform: Merchant) -> None:
    # Pay.'s SDK rejects references outside [A-Za-z0-9-]; descriptions fit 32 characters.
    for record in every_platform.pay["clearingRecords"]:
        assert re.match(r"^[A-Za-z0-9-]+$", record["reference"]), record["reference"]
        assert len(record["description"]) <= 32


def test_truth_orders_and_customers_are_complete(every_platform: Merchant) -> None:
    ids = {c.id for c in every_platform.customers}
    assert {o.customer_id for o in every_platform.orders} <= ids
    for customer in every_platform.customers:
        assert "@" in customer.email
        assert customer.email.isascii()
        assert customer.country in ("NL", "BE", "DE")
    groups = {g["code"]: g["description"] for g in every_platform.pay["turnoverGroups"]}
    for order in every_platform.orders:
        assert groups[order.revenue_group].startswith(order.platform)
    assert len({(o.platform, o.number) for o in every_platform.orders}) == len(
        every_platform.orders
    )


def test_timestamps_switch_to_summer_time_on_the_last_sunday_of_march() -> None:
    merchant = generate(GeneratorParams(start_date=date(2025, 3, 28), days=5))
    for record in merchant.pay["clearingRecords"]:
        stamp = record["transactionDate"]
        day, clock = stamp[:10], stamp[11:19]
        summer = day > "2025-03-30" or (day == "2025-03-30" and clock >= "02:00:00")
        assert stamp.endswith("+02:00" if summer else "+01:00"), stamp


def _invoice_settlement_lines(merchant: Merchant) -> list[tuple[str, dict]]:
    return [
        (s["settlementDate"], x)
        for s in merchant.pay["settlements"]
        for c in s["clearings"]
        for x in c["clearingLines"]
        if x["clearingLineType"]["id"] == 9101
    ]


def test_fees_settled_per_clearing_weekly_or_not_at_all() -> None:
    base = {"start_date": date(2025, 3, 3), "days": 21, "payments_per_clearing": (5, 9)}
    per_clearing = generate(GeneratorParams(**base))
    weekly = generate(GeneratorParams(**base, fees=FeeSettings(invoice_settlement="weekly")))
    never = generate(GeneratorParams(**base, fees=FeeSettings(invoice_settlement="none")))
    assert len(_invoice_settlement_lines(per_clearing)) == 21
    # Weekly: settled on the Tuesday payout after each full week (two weeks complete).
    weekly_days = [day for day, _ in _invoice_settlement_lines(weekly)]
    assert weekly_days == ["2025-03-11", "2025-03-18"]
    assert _invoice_settlement_lines(never) == []
    states = Counter(x["state"] for x in never.pay["invoiceLines"])
    assert states["PAID"] == 0
    assert states["PAYABLE"] > 0
    assert states["OPEN"] > 0  # the last, unfinished week
    assert {x["invoiceID"] for x in never.pay["invoiceLines"] if x["state"] == "OPEN"} == {None}


def test_split_by_revenue_group_makes_one_clearing_per_group() -> None:
    groups = (RevenueGroup("Web", "woocommerce"), RevenueGroup("Shop", "lightspeed"))
    split = generate(GeneratorParams(days=3, revenue_groups=groups))
    joint = generate(GeneratorParams(days=3, revenue_groups=groups, split_by_revenue_group=False))
    own = generate(
        GeneratorParams(
            days=3,
            revenue_groups=(groups[0], RevenueGroup("Shop", "lightspeed", own_bank_account=True)),
        )
    )
    # Same bank account: one settlement per day holding one clearing per group.
    assert [len(s["clearings"]) for s in split.pay["settlements"]] == [2, 2, 2]
    # No split: one clearing per day mixing both groups' lines.
    assert [len(s["clearings"]) for s in joint.pay["settlements"]] == [1, 1, 1]
    mixed = {
        x["turnoverGroup"]["name"]
        for s in joint.pay["settlements"]
        for c in s["clearings"]
        for x in c["clearingLines"]
    }
    assert mixed == {"Web", "Shop"}
    # Own bank account: separate settlements, to different IBANs.
    assert len(own.pay["settlements"]) == 6
    assert len({s["clearingAccount"]["iban"]["iban"] for s in own.pay["settlements"]}) == 2


def test_several_clearings_per_day() -> None:
    merchant = generate(GeneratorParams(days=2, clearings_per_day=3))
    assert Counter(s["settlementDate"] for s in merchant.pay["settlements"]) == {
        "2025-03-04": 3,
        "2025-03-05": 3,
    }


def test_fixture_file_round_trip(tmp_path: Path) -> None:
    merchant = generate(GeneratorParams(days=3, refund_share=0.2))
    path = tmp_path / "merchant.json"
    merchant.write(path, indent=2)
    loaded = Merchant.load(path)
    assert loaded.dumps() == merchant.dumps()
    assert loaded.orders == merchant.orders


def test_bad_fixture_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"pay": {"tokens": [], "settlements": [{"code": "X"}]}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"settlements\[0\]: missing field 'settlementDate'"):
        PaySandbox(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        Merchant.load(path)


@pytest.mark.slow
def test_scale_one_clearing_of_25000_records() -> None:
    merchant = generate(GeneratorParams(days=1, payments_per_clearing=25_000))
    (settlement,) = merchant.pay["settlements"]
    (clearing,) = settlement["clearings"]
    assert len(merchant.pay["clearingRecords"]) == 25_000
    assert sum(x["transactions"] for x in clearing["clearingLines"]) == 25_000


@pytest.mark.slow
def test_scale_100000_records_over_37_settlements() -> None:
    merchant = generate(GeneratorParams(days=37, payments_per_clearing=(2_650, 2_750)))
    assert len(merchant.pay["settlements"]) == 37
    assert len(merchant.pay["clearingRecords"]) >= 100_000
    assert len(merchant.pay["transactions"]) == len(merchant.orders)


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "from pay_exact_sandbox.generator import *;"
        "import sys;"
        "groups = tuple(RevenueGroup(p, p) for p in PLATFORMS);"
        "sys.stdout.write(generate(GeneratorParams(days=3, refund_share=0.3,"
        " revenue_groups=groups)).dumps())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


@pytest.mark.parametrize(
    ("day", "clock", "offset"),
    [
        (date(2025, 3, 30), "01:59:59", "+01:00"),
        (date(2025, 3, 30), "03:00:00", "+02:00"),
        (date(2025, 7, 1), "12:00:00", "+02:00"),
        (date(2025, 10, 26), "02:30:00", "+02:00"),  # the first of the two 02:30s
        (date(2025, 10, 26), "03:00:00", "+01:00"),
        (date(2025, 12, 24), "23:59:59", "+01:00"),
    ],
)
def test_amsterdam_offsets_around_the_clock_changes(day: date, clock: str, offset: str) -> None:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    stamp = amsterdam_timestamp(day, hours * 3600 + minutes * 60 + seconds)
    assert stamp == f"{day.isoformat()}T{clock}{offset}"
