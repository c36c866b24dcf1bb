"""A clearing that appears in a later run with an earlier settlement date (the look-back case)."""

from __future__ import annotations

import copy

import requests
from pay_exact_sandbox.generator import GeneratorParams
from pay_exact_sandbox.pay import PaySandbox

PARAMS = GeneratorParams(seed=8, days=8, payments_per_clearing=(3, 6), late_settlements=2)


def codes_since(sandbox: PaySandbox, day: str) -> list[str]:
    body = requests.get(
        f"{sandbox.api_url}/clearings/settlements",
        params={"settlementDate[gte]": day},
        auth=sandbox.auth,
        timeout=5,
    ).json()
    return [s["code"] for s in body["settlements"]]


def test_late_settlements_stay_hidden_until_revealed(pay_sandbox_factory) -> None:
    sandbox = pay_sandbox_factory(PARAMS)
    late = sandbox.merchant.pay["lateSettlements"]
    assert len(late) == 2
    latest = max(s["settlementDate"] for s in sandbox.merchant.pay["settlements"])
    assert all(s["settlementDate"] < latest for s in late)
    earliest_late = min(s["settlementDate"] for s in late)
    before = codes_since(sandbox, earliest_late)
    assert not {s["code"] for s in late} & set(before)
    records = f"{sandbox.api_url}/clearings/{late[0]['code']}/records"
    assert requests.get(records, auth=sandbox.auth, timeout=5).status_code == 404

    hidden = requests.get(f"{sandbox.admin_url}/pay/settlements/hidden", timeout=5).json()
    assert sorted(hidden["hidden"]) == sorted(s["code"] for s in late)
    revealed = requests.post(
        f"{sandbox.admin_url}/pay/settlements/reveal", json={"code": late[0]["code"]}, timeout=5
    ).json()
    assert revealed == {"revealed": [late[0]["code"]]}
    after = codes_since(sandbox, earliest_late)
    assert late[0]["code"] in after
    assert late[1]["code"] not in after
    assert requests.get(records, auth=sandbox.auth, timeout=5).json()["total"] > 0
    # Revealing the rest through the Python API.
    assert sandbox.reveal_late_settlements() == [late[1]["code"]]
    assert sandbox.late_settlement_codes == []


def test_revealing_an_unknown_code_is_404(pay_sandbox: PaySandbox) -> None:
    response = requests.post(
        f"{pay_sandbox.admin_url}/pay/settlements/reveal", json={"code": "NOPE-NOPE"}, timeout=5
    )
    assert response.status_code == 404


def test_add_a_settlement_while_running(pay_sandbox: PaySandbox) -> None:
    pay = pay_sandbox.merchant.pay
    template = pay["settlements"][0]
    clearing_id = "CLEARING-20990000001"
    settlement = copy.deepcopy(template)
    settlement["code"] = "LATE-0001"
    settlement["settlementDate"] = "2025-03-01"
    settlement["clearings"] = [{**settlement["clearings"][0], "clearingId": clearing_id}]
    record = {**pay["clearingRecords"][0], "clearingId": clearing_id, "settlementCode": "LATE-0001"}
    response = requests.post(
        f"{pay_sandbox.admin_url}/pay/settlements",
        json={"settlement": settlement, "records": [record]},
        timeout=5,
    )
    assert response.status_code == 201
    served = requests.get(
        f"{pay_sandbox.api_url}/clearings/settlements", auth=pay_sandbox.auth, timeout=5
    ).json()["settlements"]
    assert served[0]["code"] == "LATE-0001"  # the earliest date sorts first
    records = requests.get(
        f"{pay_sandbox.api_url}/clearings/{clearing_id}/records", auth=pay_sandbox.auth, timeout=5
    ).json()
    assert records["total"] == 1


def test_adding_a_broken_settlement_names_the_field(pay_sandbox: PaySandbox) -> None:
    response = requests.post(
        f"{pay_sandbox.admin_url}/pay/settlements",
        json={"settlement": {"code": "X", "settlementDate": "2025-03-01", "clearings": []}},
        timeout=5,
    )
    assert response.status_code == 400
    assert "missing field 'amount'" in response.json()["detail"]


def test_a_rejected_addition_leaves_no_trace(pay_sandbox: PaySandbox) -> None:
    pay = pay_sandbox.merchant.pay
    settlement = copy.deepcopy(pay["settlements"][0])
    settlement["code"] = "HALF-0001"
    settlement["clearings"] = [{**settlement["clearings"][0], "clearingId": "CLEARING-20990000002"}]
    bad_record = {"clearingId": "CLEARING-20990000002", "orderId": "1X1", "amount": {"value": "1"}}
    response = requests.post(
        f"{pay_sandbox.admin_url}/pay/settlements",
        json={"settlement": settlement, "records": [bad_record]},
        timeout=5,
    )
    assert response.status_code == 400
    assert "added records[0]: field 'amount.value' must be whole cents" in response.json()["detail"]
    # The same settlement with good records is accepted afterwards (nothing half-added).
    assert pay_sandbox.add_settlement(settlement) == "HALF-0001"
