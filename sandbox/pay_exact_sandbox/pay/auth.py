"""Basic auth with an AT- code and its 40-character token (pay-api.md §3)."""

from __future__ import annotations

import base64
import binascii
import hmac

from .errors import ApiError
from .store import Token

CLEARING = "clearing"  # the permission group Pay. enables on request for the clearing APIs


def authenticate(header: str | None, tokens: dict[str, Token]) -> Token:
    """The token the request authenticates with; 401 with Pay.'s error body otherwise."""
    if not header or not header.startswith("Basic "):
        raise _unauthorized("Missing credentials; use HTTP Basic auth with AT-code and token")
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("Malformed Basic credentials") from None
    code, sep, secret = decoded.partition(":")
    token = tokens.get(code) if sep else None
    # Compare even when the code is unknown, so the answer takes as long either way.
    expected = token.token if token else "x" * 40
    if not hmac.compare_digest(expected.encode(), secret.encode()) or token is None:
        raise _unauthorized("Invalid credentials")
    return token


def require(token: Token, permission: str) -> None:
    if permission not in token.permissions:
        # [I] pay-api.md §3: 403 "no rights" until Pay. enables the permission group.
        raise ApiError(403, f"No rights: this token lacks the '{permission}' permission")


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": 'Basic realm="Pay."'})
