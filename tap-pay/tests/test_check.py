"""``tap-pay check``: each Pay. probe against a sandbox that behaves each way (both settlement
units, with and without the clearing permission, Transaction:Info with and without orderId)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pay_exact_sandbox.generator import GeneratorParams, generate
from pay_exact_sandbox.pay.sandbox import PaySandbox
from tap_pay.check import run

PARAMS = GeneratorParams(seed=20250303, days=3, payments_per_clearing=(4, 8))
COMMAND = Path(sys.executable).with_name("tap-pay")


def config_file(pay: PaySandbox, tmp_path: Path, **changes: Any) -> str:
    path = tmp_path / "tap.json"
    config = {
        "api_url": pay.api_url,
        "order_api_url": pay.order_api_url,
        "token_code": pay.token_code,
        "api_token": pay.api_token,
        **changes,
    }
    path.write_text(json.dumps(config))
    return str(path)


def check(pay: PaySandbox, tmp_path: Path, **changes: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = run(["--config", config_file(pay, tmp_path, **changes)], stdout=out)
    return code, out.getvalue()


def line(text: str, name: str) -> str:
    return next(x for x in text.splitlines() if f" {name}: " in x)


@pytest.fixture
def start(pay_sandbox_factory: Callable[..., PaySandbox]) -> Callable[..., PaySandbox]:
    return lambda **options: pay_sandbox_factory(PARAMS, **options)


def test_every_probe_holds_on_a_merchant_as_documented(
    start: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    pay = start()
    code, text = check(pay, tmp_path, enrich_transactions=True)
    assert code == 0, text
    assert line(text, "clearing_permission").startswith("HELD    clearing_permission: ")
    unit = line(text, "settlement_unit")
    assert unit.startswith("HELD    settlement_unit: ")
    assert "settlements read in cents equal their lines" in unit
    assert "= 'Funds: " in unit
    assert "records add up to" in unit
    assert "(equal)" in unit
    assert line(text, "transaction_info_by_order_id").startswith("HELD ")
    assert text.rstrip().endswith("No fact a run relies on was seen not to hold.")
    assert pay.api_token not in text
    assert {e.method for e in pay.requests("/v2/")} == {"GET"}
    assert len(pay.requests("/v2/")) == 3  # settlements, one clearing's records, one transaction


def test_a_settlement_amount_in_euros_fails_the_unit_probe_until_the_setting_says_so(
    start: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    pay = start(settlement_amount_unit="euros")
    code, text = check(pay, tmp_path)
    assert code == 1
    unit = line(text, "settlement_unit")
    assert unit.startswith("DID NOT HOLD settlement_unit: ")
    assert "settlement_amount_unit to 'euros'" in unit
    assert "settlement_unit" in text.splitlines()[-1]
    code, text = check(pay, tmp_path, settlement_amount_unit="euros")
    assert code == 0, text
    assert "settlements read in euros equal their lines" in line(text, "settlement_unit")


def test_cents_read_as_euros_fail_the_unit_probe(
    start: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    code, text = check(start(), tmp_path, settlement_amount_unit="euros")
    assert code == 1
    assert "settlement_amount_unit to 'cents'" in line(text, "settlement_unit")


def test_a_token_without_the_clearing_permission_fails_and_the_rest_cannot_tell(
    pay_sandbox_factory: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    merchant = generate(PARAMS)
    for token in merchant.pay["tokens"]:
        token["permissions"] = ["transactions"]
    pay = pay_sandbox_factory(merchant)
    code, text = check(pay, tmp_path)
    assert code == 1
    permission = line(text, "clearing_permission")
    assert permission.startswith("DID NOT HOLD clearing_permission: ")
    assert "answered HTTP 403" in permission
    assert f"switch on the clearing API permission for token {pay.token_code}" in permission
    assert line(text, "settlement_unit").startswith("COULD NOT TELL ")
    assert line(text, "transaction_info_by_order_id").startswith("COULD NOT TELL ")


def test_transaction_info_without_the_order_id_fails_and_matters_only_with_enrichment(
    start: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    pay = start(transactions_by_order_id=False)
    code, text = check(pay, tmp_path, enrich_transactions=True, transaction_api="transactions")
    assert code == 1
    info = line(text, "transaction_info_by_order_id")
    assert info.startswith("DID NOT HOLD transaction_info_by_order_id: ")
    assert "Transaction:Info answered HTTP 404" in info
    assert "try transaction_api 'auto'" in info
    # no enrichment: reported, not blocking
    code, text = check(pay, tmp_path, transaction_api="transactions")
    assert code == 0, text
    assert "(runs with these settings do not depend on it)" in line(
        text, "transaction_info_by_order_id"
    )


def test_auto_finds_the_payment_through_the_order_api_when_v2_does_not_know_it(
    start: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    pay = start(transactions_by_order_id=False)
    code, text = check(pay, tmp_path, enrich_transactions=True)
    assert code == 0, text
    info = line(text, "transaction_info_by_order_id")
    assert info.startswith("HELD ")
    assert "Transaction:Info answered HTTP 404" in info
    assert "Order:Status answered 200 with that orderId" in info
    # ... and fails when neither knows the order id.
    pay.inject(action="status", status=404, path="/v1/orders/", count=5)
    code, text = check(pay, tmp_path, enrich_transactions=True)
    assert code == 1
    info = line(text, "transaction_info_by_order_id")
    assert info.startswith("DID NOT HOLD ")
    assert "leave enrich_transactions off" in info


def test_the_console_script_reads_meltano_variables(
    start: Callable[..., PaySandbox], tmp_path: Path
) -> None:
    pay = start(settlement_amount_unit="euros")
    env = {
        "PATH": "/usr/bin:/bin",
        "TAP_PAY_API_URL": pay.api_url,
        "TAP_PAY_TOKEN_CODE": pay.token_code,
        "TAP_PAY_API_TOKEN": pay.api_token,
        "TAP_PAY_SETTLEMENT_AMOUNT_UNIT": "euros",
    }
    done = subprocess.run(
        [str(COMMAND), "check", "--config", "ENV"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "HELD    settlement_unit: " in done.stderr
    assert pay.api_token not in done.stderr


def test_unusable_settings_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "tap.json"
    path.write_text(json.dumps({"token_code": "AT-1234-5678"}))
    out = io.StringIO()
    assert run(["--config", str(path)], stdout=out) == 2
    assert "api_token" in out.getvalue()
