"""The self-check's Pay. probes, against sandboxes that behave each way."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest
from pay_exact_sandbox.generator import GeneratorParams
from pay_exact_sandbox.pay.sandbox import PaySandbox
from tap_pay.probes import HELD, NOT_HELD, UNKNOWN, probe_settlement_units, probe_transaction_info

PARAMS = GeneratorParams(seed=7, days=2, payments_per_clearing=(3, 5))


@pytest.fixture
def factory(pay_sandbox_factory: Callable[..., PaySandbox]) -> Callable[..., PaySandbox]:
    return lambda **kw: pay_sandbox_factory(PARAMS, **kw)


@pytest.mark.parametrize(
    ("served", "setting", "verdict"),
    [("cents", "cents", HELD), ("euros", "euros", HELD), ("euros", "cents", NOT_HELD)],
)
def test_the_settlement_unit_probe_holds_only_when_the_setting_fits_the_evidence(
    factory: Callable[..., PaySandbox],
    sandbox_config: Callable,
    served: str,
    setting: str,
    verdict: str,
):
    sandbox = factory(settlement_amount_unit=served)
    probe = probe_settlement_units(sandbox_config(sandbox, settlement_amount_unit=setting))
    assert probe.verdict == verdict, probe.detail
    assert probe.decision is not None
    assert probe.decision.unit.value == served  # decided by the evidence, not the setting
    assert probe.records_total == probe.transaction_lines_total
    assert probe.requests_made == 1 + len(
        sandbox.merchant.pay["settlements"][0]["clearings"]
    )  # the settlement, then each clearing's records
    if verdict == NOT_HELD:
        assert "settlement_amount_unit to 'euros'" in probe.detail


def test_the_settlement_unit_probe_fails_on_a_settlement_that_does_not_add_up(
    pay_sandbox_factory: Callable[..., PaySandbox], sandbox_config: Callable
):
    from pay_exact_sandbox.generator import generate

    merchant = generate(PARAMS)
    pay = copy.deepcopy(merchant.pay)
    pay["settlements"][0]["amount"]["value"] += 100
    sandbox = pay_sandbox_factory(dataclasses.replace(merchant, pay=pay))
    code = pay["settlements"][0]["code"]
    probe = probe_settlement_units(sandbox_config(sandbox), settlement_code=code)
    assert probe.verdict == NOT_HELD
    assert probe.settlement_code == code
    assert probe.decision is not None
    assert probe.decision.amount - probe.decision.lines_total == Decimal("1.00")


def test_the_settlement_unit_probe_cannot_tell_without_access(
    factory: Callable[..., PaySandbox], sandbox_config: Callable
):
    sandbox = factory()
    probe = probe_settlement_units(sandbox_config(sandbox, api_token="x" * 40))
    assert probe.verdict == UNKNOWN
    assert "HTTP 401" in probe.detail
    assert "x" * 40 not in probe.detail


def test_the_transaction_info_probe_follows_the_setting(
    factory: Callable[..., PaySandbox], sandbox_config: Callable
):
    sandbox = factory()
    order_id = sandbox.merchant.pay["clearingRecords"][0]["orderId"]
    v2 = probe_transaction_info(sandbox_config(sandbox), order_id)
    assert (v2.verdict, v2.api) == (HELD, "transactions")
    assert v2.record is not None
    assert v2.record["orderId"] == order_id
    sandbox.store.transactions_v2_served = False
    only_v2 = probe_transaction_info(
        sandbox_config(sandbox, transaction_api="transactions"), order_id
    )
    assert only_v2.verdict == NOT_HELD
    assert only_v2.statuses == {"transactions": 404}
    auto = probe_transaction_info(sandbox_config(sandbox), order_id)
    assert (auto.verdict, auto.api) == (HELD, "orders")
    assert auto.statuses == {"transactions": 404, "orders": 200}
    unknown = probe_transaction_info(sandbox_config(sandbox), "0000000000X0000")
    assert unknown.verdict == NOT_HELD
