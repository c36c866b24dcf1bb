"""Failures against the Pay. sandbox: retries, give-up, credentials, permissions, no secrets."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import pytest
from pay_exact_sandbox.pay.sandbox import PaySandbox
from singer_sdk.exceptions import FatalAPIError
from tap_pay.errors import PayAuthenticationError, PayPermissionError, PayUnavailableError


def statuses(sandbox: PaySandbox, prefix: str) -> list[int | None]:
    return [entry.status for entry in sandbox.requests("/v2" + prefix)]


def test_429_is_retried_after_the_retry_after_it_sends(
    pay_sandbox: PaySandbox,
    sandbox_config: Callable,
    run_tap: Callable,
    log_capture: io.StringIO,
):
    pay_sandbox.inject(
        action="status",
        status=429,
        path="^/v2/clearings/settlements$",
        count=1,
        headers={"Retry-After": "1"},
        body={"title": "Rate limit reached.", "detail": "Rate limit reached."},
    )
    run = run_tap(sandbox_config(pay_sandbox), streams={"settlements"})
    assert statuses(pay_sandbox, "/clearings/settlements") == [429, 200]
    assert len(run.records["settlements"]) == len(pay_sandbox.merchant.pay["settlements"])
    assert (
        "HTTP 429 on GET /clearings/settlements (page 1) (attempt 1 of 5); retrying in 1.0 s"
        in (log_capture.getvalue())
    )


def test_a_dropped_connection_is_retried(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable, fast_retries: None
):
    pay_sandbox.inject(action="drop", path="/records$", count=1)
    run = run_tap(sandbox_config(pay_sandbox), streams={"clearing_records"})
    expected = len(pay_sandbox.merchant.pay["clearingRecords"])
    assert len(run.records["clearing_records"]) == expected


def test_5xx_until_the_retries_run_out_ends_the_run_clearly(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable, fast_retries: None
):
    pay_sandbox.inject(action="status", status=503, path="^/v2/invoicelines$", count=50)
    with pytest.raises(PayUnavailableError) as caught:
        run_tap(sandbox_config(pay_sandbox), streams={"invoice_lines"})
    message = str(caught.value)
    assert message.startswith("Pay. answered HTTP 503")
    assert "on GET /invoicelines (page 1)" in message
    assert "Gave up after 5 attempts" in message
    assert statuses(pay_sandbox, "/invoicelines") == [503] * 5


def test_401_names_the_credential_settings(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    wrong = "0" * 40
    with pytest.raises(PayAuthenticationError) as caught:
        run_tap(sandbox_config(pay_sandbox, api_token=wrong), streams={"settlements"})
    message = str(caught.value)
    assert "HTTP 401 on GET /clearings/settlements (page 1)" in message
    assert "token_code" in message
    assert "api_token" in message
    assert wrong not in message
    assert statuses(pay_sandbox, "/clearings/settlements") == [401]  # no retry of a 401


def test_403_says_which_permission_is_missing(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    token = next(t for t in pay_sandbox.store.tokens.values() if "clearing" not in t.permissions)
    config = sandbox_config(pay_sandbox, token_code=token.code, api_token=token.token)
    with pytest.raises(PayPermissionError) as caught:
        run_tap(config, streams={"settlements"})
    message = str(caught.value)
    assert "HTTP 403 on GET /clearings/settlements" in message
    assert "permission group" in message
    assert "clearing API" in message
    assert token.token not in message


def test_other_4xx_quote_pay_s_own_explanation(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    pay_sandbox.inject(
        action="status",
        status=400,
        path="^/v2/turnovergroups$",
        body={
            "type": "https://developer.pay.nl/docs/error-codes",
            "title": "An error occurred",
            "detail": "Invalid query parameter 'merchant'",
            "violations": [{"propertyPath": "merchant", "message": "unknown", "code": "PAY-400"}],
        },
    )
    with pytest.raises(FatalAPIError, match="Invalid query parameter 'merchant'; merchant unknown"):
        run_tap(sandbox_config(pay_sandbox), streams={"turnover_groups"})


def test_secrets_appear_in_no_output(
    pay_sandbox: PaySandbox,
    *,
    sandbox_config: Callable,
    run_tap: Callable,
    log_capture: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    fast_retries: None,
):
    """A good run, a retried run, a 5xx give-up, a 401 and a 403: the token is nowhere."""
    secret = pay_sandbox.api_token
    basic = base64.b64encode(f"{pay_sandbox.token_code}:{secret}".encode()).decode()
    config = sandbox_config(pay_sandbox, enrich_transactions=True)
    texts: list[str] = []
    run = run_tap(config)
    texts += [run.stdout, run.stderr]
    pay_sandbox.inject(action="status", status=502, path="/records$", count=2)
    run = run_tap(config, state=run.state)
    texts += [run.stdout, run.stderr]
    failures: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"action": "status", "status": 500, "path": "/transactions/", "count": 50}, {}),
        ({"action": "status", "status": 401, "path": "/settlements$"}, {}),
        ({"action": "status", "status": 403, "path": "/invoicelines$"}, {}),
        ({"action": "status", "status": 200, "path": "/turnovergroups$", "body": "{"}, {}),
        ({"action": "delay", "delay": 0.01, "path": "/settlements$"}, {"api_token": "x" * 40}),
    ]
    for fault, override in failures:
        pay_sandbox.admin.faults.clear()
        pay_sandbox.inject(**fault)
        with pytest.raises(FatalAPIError) as caught:
            run_tap({**config, **override})
        texts.append(str(caught.value))
        texts.append(repr(caught.value))
    captured = capfd.readouterr()
    texts += [captured.out, captured.err, log_capture.getvalue()]
    assert any("Pay. answered HTTP 500" in text for text in texts)  # the failures did happen
    for text in texts:
        assert secret not in text
        assert basic not in text  # nor the Authorization header that carries it


def test_an_error_body_echoing_the_token_is_redacted_before_it_is_cut_short(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    secret = pay_sandbox.api_token
    pay_sandbox.inject(
        action="status",
        status=400,
        path="^/v2/turnovergroups$",
        # Cut at 300 characters, an unredacted token would show its first 19 characters.
        body={"title": "x" * 270, "detail": f"token {secret} is not valid"},
    )
    with pytest.raises(FatalAPIError) as caught:
        run_tap(sandbox_config(pay_sandbox), streams={"turnover_groups"})
    message = str(caught.value)
    assert "; token *** is not valid" in message
    assert secret[:12] not in message


def test_a_payment_without_transaction_info_is_left_unenriched(
    pay_sandbox: PaySandbox,
    sandbox_config: Callable,
    run_tap: Callable,
    log_capture: io.StringIO,
):
    pay_sandbox.inject(action="status", status=404, path="^/v2/transactions/", count=1)
    pay_sandbox.inject(action="status", status=404, path="^/v1/orders/", count=1)
    config = sandbox_config(pay_sandbox, enrich_transactions=True)
    run = run_tap(config, streams={"clearing_records", "transactions"})
    orders = {r["orderId"] for r in run.records["clearing_records"]}
    assert len(run.records["transactions"]) == len(orders) - 1
    assert "has no Transaction:Info or Order:Status for order" in log_capture.getvalue()
