"""Typed errors for Exact Online calls.

Callers branch on the exception type and ``status``, never on ``message``: Exact localises its
error texts (English, Dutch, ...). Every text that leaves this module passes through
:func:`~target_exactonline.exact_client.redaction.redact`.
"""

from __future__ import annotations

import json
from typing import Any

from target_exactonline.exact_client.redaction import redact

_MAX_MESSAGE = 500


class ExactError(Exception):
    """A failed Exact Online call.

    ``status`` is the HTTP status (None when no response arrived), ``message`` Exact's own error
    text, ``reason`` the ``Reason`` response header, ``endpoint`` the method and path called.
    """

    def __init__(
        self,
        summary: str,
        *,
        status: int | None = None,
        message: str | None = None,
        reason: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.summary = redact(summary)
        self.status = status
        self.message = redact(message)[:_MAX_MESSAGE] if message else None
        self.reason = reason
        self.endpoint = redact(endpoint) if endpoint else None
        super().__init__(self.summary)

    def __str__(self) -> str:
        parts = [self.summary]
        details = []
        if self.endpoint:
            details.append(self.endpoint)
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.reason:
            details.append(f"Reason: {self.reason}")
        if details:
            parts.append(f"[{', '.join(details)}]")
        if self.message and self.message not in self.summary:
            parts.append(f"Exact says: {self.message}")
        return redact(" ".join(parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ExactAuthError(ExactError):
    """Authentication failed (401, or a token request Exact refused)."""


class ReauthorizeRequired(ExactAuthError):
    """The stored refresh token cannot be used any more; only a new browser consent helps."""


class ExactForbidden(ExactError):
    """403: missing user rights, app scopes or division access (see ``reason``)."""


class ExactNotFound(ExactError):
    """404: the entity or endpoint does not exist."""


class ExactBadRequest(ExactError):
    """400: the request itself was malformed (OData syntax, a missing ``$select``, ...)."""


class ExactValidationError(ExactError):
    """500 with Exact's error body: a business rule refused the request and nothing was stored.

    [I] That a 500 carrying Exact's error envelope committed nothing is inferred from the
    reference's examples ("Invalid journal", "Gegeven bestaat reeds").
    """


class ExactRateLimited(ExactError):
    """429 that the client did not (or may not) wait out. ``retry_at`` is an epoch second."""

    def __init__(self, summary: str, *, retry_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(summary, **kwargs)
        self.retry_at = retry_at


class ExactBudgetExhausted(ExactError):
    """The daily call budget cannot cover what is asked; stop cleanly and resume after reset."""

    def __init__(
        self,
        summary: str,
        *,
        remaining: int | None = None,
        needed: int | None = None,
        resets_at: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(summary, **kwargs)
        self.remaining = remaining
        self.needed = needed
        self.resets_at = resets_at


class ExactUnavailable(ExactError):
    """A read kept failing (connection errors, timeouts or 5xx) after its retries."""


class UnknownOutcome(ExactError):
    """A write whose result is unknown (timeout, dropped connection, 5xx without Exact's error
    body, or an unreadable success). It may or may not be stored: look it up before retrying."""


def exact_error_message(body: bytes | str | None) -> str | None:
    """Exact's error text from a response body, or None when the body is not an Exact error.

    Understands the OData envelope ``{"error":{"code":"","message":{"lang":"","value":"..."}}}``
    and the OAuth form ``{"error":"...","error_description":"..."}``.
    """
    document = _json_or_none(body)
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict):
            value = message.get("value")
            return str(value) if value not in (None, "") else None
        if isinstance(message, str) and message:
            return message
        return None
    if isinstance(error, str):
        description = document.get("error_description")
        return f"{error}: {description}" if description else error
    return None


def has_exact_error_envelope(body: bytes | str | None) -> bool:
    """True when the body is Exact's OData error envelope with a message (a business refusal)."""
    document = _json_or_none(body)
    if not isinstance(document, dict) or not isinstance(document.get("error"), dict):
        return False
    message = document["error"].get("message")
    if isinstance(message, dict):
        return bool(message.get("value"))
    return isinstance(message, str) and bool(message)


def _json_or_none(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
