"""Keep OAuth secrets out of logs and exception texts.

Two layers: every secret value the client handles (client secret, access and refresh tokens,
authorization codes) is registered and replaced wherever it appears, and patterns catch secrets
the process never registered (a token in a pasted URL, a form body, a JSON token response).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import quote

REDACTED = "[REDACTED]"

# Short values would redact ordinary words; real tokens and secrets are far longer.
_MIN_SECRET_LENGTH = 8
# Tokens rotate every ten minutes; keep the most recent ones (a long run stays well below this).
_MAX_REGISTERED = 2048

_lock = threading.Lock()
_secrets: OrderedDict[str, None] = OrderedDict()

_SECRET_FIELDS = r"access_token|refresh_token|client_secret|id_token|code|password|secret"  # noqa: S105
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization headers.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=!%*-]+"),
    # Form bodies and query strings: code=...&refresh_token=...
    re.compile(rf"(?<![A-Za-z0-9_$])({_SECRET_FIELDS})=([^&\s\"']+)"),
    # JSON objects: "refresh_token": "..."
    re.compile(rf"\"({_SECRET_FIELDS})\"\s*:\s*\"[^\"]*\""),
    # Python reprs of dicts: 'refresh_token': '...'
    re.compile(rf"'({_SECRET_FIELDS})'\s*:\s*'[^']*'"),
)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` replaces it wherever it appears."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets[value] = None
        _secrets.move_to_end(value)
        while len(_secrets) > _MAX_REGISTERED:
            _secrets.popitem(last=False)


def _pattern_sub(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.re is _PATTERNS[0]:
        return f"{match.group(1)} {REDACTED}"
    if match.re is _PATTERNS[1]:
        return f"{match.group(1)}={REDACTED}"
    quote = text[0]
    return f"{quote}{match.group(1)}{quote}: {quote}{REDACTED}{quote}"


def redact(text: object) -> str:
    """``text`` as a string with every registered secret and every secret-looking field masked."""
    result = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in result:
            result = result.replace(secret, REDACTED)
        # Secrets also travel URL-encoded (an authorization code's "!" becomes "%21").
        encoded = _url_encoded(secret)
        if encoded != secret and encoded in result:
            result = result.replace(encoded, REDACTED)
    for pattern in _PATTERNS:
        result = pattern.sub(_pattern_sub, result)
    return result


def _url_encoded(value: str) -> str:
    return quote(value, safe="")


class RedactingFilter(logging.Filter):
    """A logging filter that renders the message once and masks secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, masked, so handlers do not format the raw exception.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """A logger whose records are redacted before any handler sees them."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
