"""The Pay. sandbox fixture starts and serves settlements and records behind Basic auth."""

from __future__ import annotations

import requests

from pay_exact_sandbox.pay import PaySandbox


def test_pay_sandbox_serves_settlements_and_their_records(pay_sandbox: PaySandbox) -> None:
    response = requests.get(
        f"{pay_sandbox.api_url}/clearings/settlements", auth=pay_sandbox.auth, timeout=5
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(pay_sandbox.merchant.pay["settlements"])
    first = body["settlements"][0]
    records = requests.get(
        f"{pay_sandbox.api_url}/clearings/{first['code']}/records",
        auth=(pay_sandbox.token_code, pay_sandbox.api_token),
        timeout=5,
    ).json()
    assert records["total"] > 0
    assert {r["settlementCode"] for r in records["clearingRecords"]} == {first["code"]}
    assert [e.path for e in pay_sandbox.requests("/v2/clearings")] == [
        "/v2/clearings/settlements",
        f"/v2/clearings/{first['code']}/records",
    ]
