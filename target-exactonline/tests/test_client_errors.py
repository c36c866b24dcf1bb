"""Typed errors and the redaction every error text and log line passes through."""

from __future__ import annotations

import logging

import pytest
from target_exactonline.exact_client.errors import (
    ExactError,
    ExactValidationError,
    exact_error_message,
    has_exact_error_envelope,
)
from target_exactonline.exact_client.redaction import (
    REDACTED,
    get_logger,
    redact,
    register_secret,
)


def test_registered_secrets_are_masked_plain_and_url_encoded() -> None:
    secret = "Gcp7!IAAAABsecret-refresh-value"
    register_secret(secret)
    text = f"refresh failed for {secret} (sent as Gcp7%21IAAAABsecret-refresh-value)"
    masked = redact(text)
    assert secret not in masked
    assert "Gcp7%21IAAAAB" not in masked
    assert masked.count(REDACTED) == 2


def test_unregistered_secrets_are_masked_by_shape() -> None:
    samples = [
        "Authorization: Bearer AAEAAGxWnever-registered-token",
        "grant_type=refresh_token&refresh_token=unregistered123&client_secret=s3cr3t-value",
        '{"access_token":"unregistered-access","token_type":"bearer"}',
        "GET /callback?code=unregistered%21code&state=xyz",
        "{'client_secret': 'unregistered-python-repr'}",
    ]
    for sample in samples:
        masked = redact(sample)
        for leaked in [
            "AAEAAGxWnever",
            "unregistered123",
            "s3cr3t-value",
            "unregistered-access",
            "unregistered%21code",
            "unregistered-python-repr",
        ]:
            assert leaked not in masked, (sample, masked)
    # OData stays readable: a Code filter and $select are not secrets.
    odata = "$select=Code,Name&$filter=Code eq '              1068'"
    assert redact(odata) == odata


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc def") == "abc def"


def test_exact_error_text_carries_status_reason_and_message_but_no_secret() -> None:
    token = "AAEAAG-access-token-in-a-message"
    register_secret(token)
    err = ExactValidationError(
        "Exact Online refused the data",
        status=500,
        message=f"Invalid journal {token}",
        reason="SomeReason",
        endpoint="POST financialtransaction/BankEntries",
    )
    text = str(err)
    assert "HTTP 500" in text
    assert "Reason: SomeReason" in text
    assert "Invalid journal" in text
    assert "POST financialtransaction/BankEntries" in text
    assert token not in text
    assert token not in repr(err)
    assert err.status == 500
    assert err.reason == "SomeReason"
    assert token not in (err.message or "")
    assert isinstance(err, ExactError)


def test_exact_error_message_reads_both_error_shapes() -> None:
    odata = b'{"error":{"code":"","message":{"lang":"","value":"Ongeldig: Dagboek"}}}'
    assert exact_error_message(odata) == "Ongeldig: Dagboek"
    assert has_exact_error_envelope(odata)
    oauth = b'{"error":"unauthorized_client","error_description":"Old refresh token used."}'
    assert exact_error_message(oauth) == "unauthorized_client: Old refresh token used."
    assert not has_exact_error_envelope(oauth)
    assert exact_error_message(b"<html>Bad gateway</html>") is None
    assert not has_exact_error_envelope(b'{"error": "injected fault"}')
    assert not has_exact_error_envelope(b"")


def test_logger_redacts_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    token = "AAEAAG-logged-token-value"
    register_secret(token)
    log = get_logger("target_exactonline.exact_client.test")
    with caplog.at_level(logging.DEBUG, logger="target_exactonline.exact_client.test"):
        log.info("using %s", token)
        try:
            raise RuntimeError(f"boom {token}")
        except RuntimeError:
            log.exception("failed")
    rendered = "\n".join(
        logging.Formatter("%(message)s").format(record) for record in caplog.records
    )
    assert "using" in rendered
    assert "boom" in rendered
    assert token not in rendered
    assert token not in caplog.text
