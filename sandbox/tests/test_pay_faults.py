"""Fault injection and the request log through the admin API, and the 429 rate limit."""

from __future__ import annotations

import pytest
import requests
from pay_exact_sandbox.pay import PaySandbox


def settlements(sandbox: PaySandbox) -> requests.Response:
    return requests.get(f"{sandbox.api_url}/clearings/settlements", auth=sandbox.auth, timeout=10)


def add_fault(sandbox: PaySandbox, **rule: object) -> None:
    response = requests.post(f"{sandbox.admin_url}/faults", json=rule, timeout=5)
    assert response.status_code == 201, response.text


def test_status_fault_answers_the_next_n_matching_requests(pay_sandbox: PaySandbox) -> None:
    add_fault(
        pay_sandbox,
        action="status",
        status=503,
        count=2,
        path="/clearings/settlements$",
        body={"error": "maintenance"},
    )
    other = requests.get(f"{pay_sandbox.api_url}/clearinglines", auth=pay_sandbox.auth, timeout=5)
    first, second, third = (settlements(pay_sandbox) for _ in range(3))
    assert other.status_code == 200  # the rule only matches its path
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.json() == {"error": "maintenance"}
    log = requests.get(
        f"{pay_sandbox.admin_url}/requests", params={"path": "/v2/clearings"}, timeout=5
    ).json()
    assert [(e["status"], e["fault"]) for e in log] == [
        (503, "status"),
        (503, "status"),
        (200, None),
    ]


def test_delay_fault_still_answers(pay_sandbox: PaySandbox) -> None:
    add_fault(pay_sandbox, action="delay", delay=0.2, path="/clearings/settlements")
    response = settlements(pay_sandbox)
    assert response.status_code == 200
    assert [e.fault for e in pay_sandbox.requests("/v2/clearings")] == ["delay"]


def test_inject_helper_adds_the_same_rules(pay_sandbox: PaySandbox) -> None:
    rule = pay_sandbox.inject(action="status", status=502, path="/clearings/settlements")
    assert rule.count == 1
    assert settlements(pay_sandbox).status_code == 502
    assert settlements(pay_sandbox).status_code == 200


def test_drop_fault_closes_the_connection_without_a_response(pay_sandbox: PaySandbox) -> None:
    add_fault(pay_sandbox, action="drop", path="/records$")
    code = pay_sandbox.merchant.pay["settlements"][0]["code"]
    url = f"{pay_sandbox.api_url}/clearings/{code}/records"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, auth=pay_sandbox.auth, timeout=5)
    assert requests.get(url, auth=pay_sandbox.auth, timeout=5).status_code == 200
    assert [e.fault for e in pay_sandbox.requests(url.removeprefix(pay_sandbox.url))] == [
        "drop",
        None,
    ]


def test_request_log_counts_calls_and_can_be_cleared(pay_sandbox: PaySandbox) -> None:
    for _ in range(3):
        settlements(pay_sandbox)
    assert len(pay_sandbox.requests("/v2/clearings/settlements")) == 3
    assert requests.delete(f"{pay_sandbox.admin_url}/requests", timeout=5).status_code == 204
    assert pay_sandbox.requests() == []
    # Admin calls themselves are never logged.
    requests.get(f"{pay_sandbox.admin_url}/pay/config", timeout=5)
    assert pay_sandbox.requests() == []


def test_unknown_fault_action_is_rejected(pay_sandbox: PaySandbox) -> None:
    response = requests.post(
        f"{pay_sandbox.admin_url}/faults", json={"action": "explode"}, timeout=5
    )
    assert response.status_code == 400


def test_rate_limit_answers_429_with_retry_after_until_a_second_passes(
    pay_sandbox_factory,
) -> None:
    sandbox = pay_sandbox_factory(rate_limit_per_second=3)
    # Freeze the sandbox clock so the window cannot roll over between requests.
    requests.post(f"{sandbox.admin_url}/clock", json={"freeze": True}, timeout=5)
    statuses = [settlements(sandbox).status_code for _ in range(3)]
    limited = settlements(sandbox)
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json()["title"] == "Rate limit reached."
    requests.post(f"{sandbox.admin_url}/clock", json={"advance": 1.01}, timeout=5)
    assert settlements(sandbox).status_code == 200


def test_rate_limit_is_off_by_default_and_switchable_at_runtime(pay_sandbox: PaySandbox) -> None:
    requests.post(f"{pay_sandbox.admin_url}/clock", json={"freeze": True}, timeout=5)
    assert {settlements(pay_sandbox).status_code for _ in range(12)} == {200}
    config = requests.post(
        f"{pay_sandbox.admin_url}/pay/config", json={"rateLimitPerSecond": 1}, timeout=5
    ).json()
    assert config["rateLimitPerSecond"] == 1
    assert [settlements(pay_sandbox).status_code for _ in range(2)] == [200, 429]
    requests.post(
        f"{pay_sandbox.admin_url}/pay/config", json={"rateLimitPerSecond": None}, timeout=5
    )
    assert settlements(pay_sandbox).status_code == 200


def test_bad_rate_limit_config_is_rejected(pay_sandbox: PaySandbox) -> None:
    response = requests.post(
        f"{pay_sandbox.admin_url}/pay/config", json={"rateLimitPerSecond": 0}, timeout=5
    )
    assert response.status_code == 400
