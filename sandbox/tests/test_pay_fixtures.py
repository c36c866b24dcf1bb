"""The example fixture files load, serve, add up, and stay in step with the generator."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import requests
from pay_exact_sandbox.generator import GeneratorParams, Merchant, RevenueGroup, generate
from pay_exact_sandbox.pay import PaySandbox

FIXTURES = Path(__file__).parents[1] / "pay_exact_sandbox" / "fixtures"

# The command in sandbox/README.md that wrote pay-example-merchant.json.
EXAMPLE_PARAMS = GeneratorParams(
    seed=1,
    start_date=date(2025, 3, 3),
    days=3,
    payments_per_clearing=(2, 4),
    revenue_groups=(
        RevenueGroup("Webshop", "woocommerce"),
        RevenueGroup("Winkel", "lightspeed", own_bank_account=True),
    ),
    refund_share=0.2,
    late_settlements=1,
)


def test_example_merchant_is_what_the_generator_makes() -> None:
    text = (FIXTURES / "pay-example-merchant.json").read_text(encoding="utf-8")
    assert text == generate(EXAMPLE_PARAMS).dumps(indent=1) + "\n"


@pytest.mark.parametrize("name", ["pay-example-merchant.json", "pay-minimal.json"])
def test_example_fixtures_serve_and_add_up(pay_sandbox_factory, name: str) -> None:
    sandbox: PaySandbox = pay_sandbox_factory(FIXTURES / name)
    settlements = requests.get(
        f"{sandbox.api_url}/clearings/settlements", auth=sandbox.auth, timeout=5
    ).json()["settlements"]
    assert settlements
    for settlement in settlements:
        payout = 0
        for clearing in settlement["clearings"]:
            lines = clearing["clearingLines"]
            signed = {"CREDIT": 1, "DEBIT": -1}
            net = sum(
                signed[x["clearingLineType"]["direction"]] * x["amount"]["value"] for x in lines
            )
            fees = sum(x["amount"]["value"] for x in lines if x["clearingLineType"]["id"] == 9101)
            records = requests.get(
                f"{sandbox.api_url}/clearings/{clearing['clearingId']}/records",
                auth=sandbox.auth,
                timeout=5,
            ).json()["clearingRecords"]
            assert sum(r["amount"]["value"] for r in records) - fees == net
            payout += net
        assert settlement["amount"]["value"] == payout


def test_minimal_fixture_is_a_bare_pay_section() -> None:
    merchant = Merchant.load(FIXTURES / "pay-minimal.json")
    assert merchant.orders == []
    assert merchant.pay["settlements"][0]["code"] == "SK6Y-7PBP"


def test_the_tampered_fixture_states_a_euro_more_than_its_lines(pay_sandbox_factory) -> None:
    """pay-tampered-settlement.json: pay-minimal.json with its settlement stated (amount and
    "Funds:" text) one euro above its lines, and fee parts priced below a cent and bought."""
    sandbox: PaySandbox = pay_sandbox_factory(FIXTURES / "pay-tampered-settlement.json")
    (settlement,) = requests.get(
        f"{sandbox.api_url}/clearings/settlements", auth=sandbox.auth, timeout=5
    ).json()["settlements"]
    signed = {"CREDIT": 1, "DEBIT": -1}
    lines = sum(
        signed[x["clearingLineType"]["direction"]] * x["amount"]["value"]
        for c in settlement["clearings"]
        for x in c["clearingLines"]
    )
    assert settlement["amount"]["value"] == lines + 100
    assert settlement["description"].endswith("Funds: 146.42")
    (line,) = requests.get(f"{sandbox.api_url}/invoicelines", auth=sandbox.auth, timeout=5).json()[
        "invoiceLines"
    ]
    assert [p["type"] for p in line["lines"]] == ["SELL", "SELL", "BUY"]
    assert line["lines"][1]["costs"]["revenue"] == 0.0195
