"""Many customers in one sandbox process: credentials select the customer, nothing crosses over,
limits are counted per customer, and the admin view counts booked keys and duplicates."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from pay_exact_sandbox.customers import Customer, CustomerSandboxes, CustomerSpec
from pay_exact_sandbox.exact.config import ExactConfig
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.generator import GeneratorParams

JSON = {"Accept": "application/json"}
START = 1773136830  # 2026-03-10T10:00:30Z, inside a minute and a UTC day
SMALL = GeneratorParams(days=2, payments_per_clearing=(2, 3))


@pytest.fixture
def pair() -> Iterator[CustomerSandboxes]:
    config = ExactConfig(minutely_limit=3, strict_opening_balance=False)
    specs = [
        CustomerSpec("shop1", 11, 700001, SMALL, config, pay_rate_limit_per_second=2),
        CustomerSpec("shop2", 12, 700002, SMALL, config, pay_rate_limit_per_second=2),
    ]
    with CustomerSandboxes(specs) as sandboxes:
        yield sandboxes


def settlements(pair: CustomerSandboxes, code: str, token: str) -> requests.Response:
    return requests.get(
        f"{pair.pay_url}/v2/clearings/settlements", auth=(code, token), headers=JSON, timeout=10
    )


def wait_for(path: Path, process: subprocess.Popen[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30  # a generous bound, not a measurement
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the sandbox never wrote its urls file")


def bearer(customer: Customer, token: str | None = None) -> dict[str, str]:
    token = token or customer.exact.mint_tokens()["access_token"]
    return {**JSON, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def gl_accounts(pair: CustomerSandboxes, division: int, headers: dict[str, str]) -> Any:
    url = f"{pair.exact_url}/api/v1/{division}/financial/GLAccounts?$select=ID"
    return requests.get(url, headers=headers, timeout=10)


def test_pay_credentials_select_the_account_and_read_only_its_data(
    pair: CustomerSandboxes,
) -> None:
    one, two = pair["shop1"], pair["shop2"]
    seen = {}
    for customer in (one, two):
        response = settlements(pair, customer.token_code, customer.api_token)
        assert response.status_code == 200
        seen[customer.name] = {s["code"] for s in response.json()["settlements"]}
        own = {s["code"] for s in customer.merchant.pay["settlements"]}
        assert seen[customer.name] == own
    assert seen["shop1"]
    assert not seen["shop1"] & seen["shop2"]
    # One account's code with the other's secret, and a code of no customer: refused.
    assert settlements(pair, one.token_code, two.api_token).status_code == 401
    assert settlements(pair, "AT-0099-0001", one.api_token).status_code == 401
    assert settlements(pair, "AT-9", one.api_token).status_code == 401


def test_an_exact_token_reads_only_its_users_division(pair: CustomerSandboxes) -> None:
    one, two = pair["shop1"], pair["shop2"]
    headers_one = bearer(one)
    me = requests.get(f"{pair.exact_url}/api/v1/current/Me", headers=headers_one, timeout=10)
    assert me.json()["d"]["results"][0]["CurrentDivision"] == 700001
    assert gl_accounts(pair, 700001, headers_one).status_code == 200
    refused = gl_accounts(pair, 700002, headers_one)
    assert refused.status_code == 403
    assert refused.headers["Reason"] == "NoDivisionAccess"
    own = gl_accounts(pair, 700002, bearer(two))
    assert own.status_code == 200
    assert {r["ID"] for r in own.json()["d"]["results"]} == {
        g["ID"] for g in two.exact.dump()["gl_accounts"]
    }
    assert gl_accounts(pair, 700002, bearer(two, "not-a-token")).status_code == 401


def test_a_refresh_token_renews_its_own_users_consent(pair: CustomerSandboxes) -> None:
    one, two = pair["shop1"], pair["shop2"]
    two.exact.mint_tokens()  # the other customer's division is in use too
    minted = one.exact.mint_tokens(age=570)
    client = one.spec.exact_config.clients[0]
    renewed = requests.post(
        f"{pair.exact_url}/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": minted["refresh_token"],
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
        timeout=10,
    )
    assert renewed.status_code == 200, renewed.text
    headers = bearer(one, renewed.json()["access_token"])
    assert gl_accounts(pair, 700001, headers).status_code == 200
    assert gl_accounts(pair, 700002, headers).status_code == 403


def test_limits_are_counted_per_customer(pair: CustomerSandboxes) -> None:
    one, two = pair["shop1"], pair["shop2"]
    # Exact: 3 calls a minute per division here; the first customer spends its minute.
    for customer in (one, two):
        customer.exact.freeze(START)
    headers_one, headers_two = bearer(one), bearer(two)
    answers = [gl_accounts(pair, 700001, headers_one).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    other = gl_accounts(pair, 700002, headers_two)
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Minutely-Remaining"] == "2"
    # Pay.: 2 requests a second per account.
    for customer in (one, two):
        customer.pay.admin.clock.freeze(True)
    answers = [settlements(pair, one.token_code, one.api_token).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert settlements(pair, two.token_code, two.api_token).status_code == 200


def bank_entry(customer: Customer, key: str) -> str:
    gl = {g["Code"]: g["ID"] for g in customer.exact.dump()["gl_accounts"]}
    line = {"Date": "2025-03-10T00:00:00", "AmountFC": Decimal("10.00")}
    return dumps(
        {
            "JournalCode": "25",
            "Currency": "EUR",
            "BankEntryLines": [
                {**line, "GLAccount": gl["2090"], "Description": f"PX:{key} unassigned"},
                {**line, "GLAccount": gl["2050"], "AmountFC": Decimal("-10.00")},
            ],
        }
    )


def test_admin_view_counts_booked_keys_and_duplicates_per_customer(
    pair: CustomerSandboxes,
) -> None:
    one, two = pair["shop1"], pair["shop2"]
    url = f"{pair.exact_url}/api/v1/700001/financialtransaction/BankEntries"
    headers = bearer(one)
    for key in ("K1", "K1", "K2"):  # K1 posted twice: a duplicate
        response = requests.post(url, data=bank_entry(one, key), headers=headers, timeout=10)
        assert response.status_code == 201, response.text
    url_two = f"{pair.exact_url}/api/v1/700002/financialtransaction/BankEntries"
    response = requests.post(url_two, data=bank_entry(two, "K1"), headers=bearer(two), timeout=10)
    assert response.status_code == 201, response.text
    for base in (pair.exact_url, pair.pay_url):
        view = requests.get(f"{base}/_admin/customers", timeout=10).json()
        rows = {row["name"]: row for row in view["customers"]}
        assert rows["shop1"]["bankEntries"] == 3
        assert rows["shop1"]["bookedKeys"] == 2
        assert rows["shop1"]["duplicates"] == {"K1": 2}
        assert rows["shop2"]["bookedKeys"] == 1
        assert rows["shop2"]["duplicates"] == {}
        assert (view["bookedKeys"], view["duplicateKeys"]) == (3, 1)
    assert one.booked_keys() == {"K1": 2, "K2": 1}


def test_a_customers_own_admin_paths_show_only_its_requests(pair: CustomerSandboxes) -> None:
    one, two = pair["shop1"], pair["shop2"]
    settlements(pair, one.token_code, one.api_token)
    log = requests.get(f"{pair.pay_url}/_customers/shop1/_admin/requests", timeout=10).json()
    assert [e["path"] for e in log] == ["/v2/clearings/settlements"]
    assert requests.get(f"{pair.pay_url}/_customers/shop2/_admin/requests", timeout=10).json() == []
    assert two.pay.requests() == []
    missing = requests.get(f"{pair.pay_url}/_customers/shop9/_admin/requests", timeout=10)
    assert missing.status_code == 404


def test_customers_are_built_on_first_use(pair: CustomerSandboxes) -> None:
    assert not any(c.started for c in pair)
    settlements(pair, pair["shop2"].token_code, pair["shop2"].api_token)
    assert [c.started for c in pair] == [False, True]


def test_a_name_or_division_given_twice_is_refused() -> None:
    spec = CustomerSpec("shop1", 1, 700001, SMALL)
    with pytest.raises(ValueError, match="already named 'shop1'"):
        CustomerSandboxes([spec, CustomerSpec("shop1", 2, 700002, SMALL)])
    with pytest.raises(ValueError, match="division 700001 is taken"):
        CustomerSandboxes([spec, CustomerSpec("shop2", 2, 700001, SMALL)])


def test_serve_customers_lists_each_customers_credentials(tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.json"
    command = [sys.executable, "-m", "pay_exact_sandbox.cli", "serve", "--customers", "3"]
    options = ["--seed", "5", "--days", "1", "--exact-division", "800001"]
    process = subprocess.Popen(
        [*command, *options, "--urls-file", str(urls_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls = wait_for(urls_file, process)
        customers = urls["customers"]
        assert [(c["name"], c["seed"], c["division"]) for c in customers] == [
            ("shop1", 5, 800001),
            ("shop2", 6, 800002),
            ("shop3", 7, 800003),
        ]
        third = customers[2]
        response = requests.get(
            f"{urls['pay']['api_url']}/clearings/settlements",
            auth=(third["token_code"], third["api_token"]),
            headers=JSON,
            timeout=10,
        )
        assert response.status_code == 200
        view = requests.get(f"{urls['exact']['admin_url']}/customers", timeout=10).json()
        assert [row["started"] for row in view["customers"]] == [False, False, True]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert process.returncode == 0
    assert json.loads(urls_file.read_text())["exact"]["client_id"]
