"""Basic auth with AT-code and token: 401 without valid credentials, 403 without the clearing
permission, and Pay.'s error body on both."""

from __future__ import annotations

import base64

import pytest
import requests
from pay_exact_sandbox.generator import GeneratorParams, generate
from pay_exact_sandbox.pay import PaySandbox

CLEARING_PATHS = [
    "/clearings/settlements",
    "/clearinglines",
    "/invoicelines",
]


def _error_body(response: requests.Response) -> dict:
    body = response.json()
    assert body["type"] == "https://developer.pay.nl/docs/error-codes"
    assert body["title"]
    assert isinstance(body["violations"], list)
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
    ids=["missing", "bearer", "malformed", "no-colon"],
)
def test_requests_without_basic_credentials_get_401(
    pay_sandbox: PaySandbox, headers: dict[str, str]
) -> None:
    response = requests.get(
        f"{pay_sandbox.api_url}/clearings/settlements", headers=headers, timeout=5
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    _error_body(response)


def test_wrong_token_or_unknown_code_gets_401(pay_sandbox: PaySandbox) -> None:
    url = f"{pay_sandbox.api_url}/clearings/settlements"
    wrong_token = requests.get(url, auth=(pay_sandbox.token_code, "0" * 40), timeout=5)
    unknown_code = requests.get(url, auth=("AT-0000-0000", pay_sandbox.api_token), timeout=5)
    assert wrong_token.status_code == 401
    assert unknown_code.status_code == 401
    # The error never echoes the secret back.
    assert pay_sandbox.api_token not in unknown_code.text


def test_valid_credentials_pass(pay_sandbox: PaySandbox) -> None:
    for path in CLEARING_PATHS:
        response = requests.get(f"{pay_sandbox.api_url}{path}", auth=pay_sandbox.auth, timeout=5)
        assert response.status_code == 200, path


def _restricted(pay_sandbox: PaySandbox) -> tuple[str, str]:
    token = next(
        t for t in pay_sandbox.merchant.pay["tokens"] if "clearing" not in t["permissions"]
    )
    return token["code"], token["token"]


@pytest.mark.parametrize("path", [*CLEARING_PATHS, "/clearings/{code}/records"])
def test_token_without_clearing_permission_gets_403(pay_sandbox: PaySandbox, path: str) -> None:
    code = pay_sandbox.merchant.pay["settlements"][0]["code"]
    response = requests.get(
        f"{pay_sandbox.api_url}{path.format(code=code)}", auth=_restricted(pay_sandbox), timeout=5
    )
    assert response.status_code == 403
    assert "clearing" in _error_body(response)["detail"]


def test_token_without_clearing_permission_still_reads_lookups(pay_sandbox: PaySandbox) -> None:
    auth = _restricted(pay_sandbox)
    order_id = pay_sandbox.merchant.pay["transactions"][0]["orderId"]
    assert requests.get(f"{pay_sandbox.api_url}/turnovergroups", auth=auth, timeout=5).ok
    assert requests.get(f"{pay_sandbox.api_url}/transactions/{order_id}", auth=auth, timeout=5).ok


def test_partner_token_sees_only_its_merchants(pay_sandbox_factory) -> None:
    merchant = generate(GeneratorParams(seed=3, days=3))
    own = merchant.pay["merchants"][0]["code"]
    merchant.pay["tokens"].append(
        {"code": "AT-9999-0001", "token": "p" * 40, "permissions": ["clearing"], "merchants": [own]}
    )
    merchant.pay["tokens"].append(
        {
            "code": "AT-9999-0002",
            "token": "q" * 40,
            "permissions": ["clearing"],
            "merchants": ["M-0000-0000"],
        }
    )
    sandbox = pay_sandbox_factory(merchant)
    url = f"{sandbox.api_url}/clearings/settlements"
    partner = requests.get(url, auth=("AT-9999-0001", "p" * 40), timeout=5).json()
    stranger = requests.get(url, auth=("AT-9999-0002", "q" * 40), timeout=5).json()
    filtered = requests.get(
        url, params={"merchant[eq]": own}, auth=("AT-9999-0001", "p" * 40), timeout=5
    ).json()
    assert partner["total"] == len(merchant.pay["settlements"]) > 0
    assert filtered["total"] == partner["total"]
    assert stranger["total"] == 0
