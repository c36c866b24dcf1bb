"""OData v2 helpers for Exact Online: filter literals, query strings, dates, amounts, JSON.

Every value that goes into a ``$filter`` must pass through one of the ``*_literal`` helpers:
they quote, escape and check syntax, so a payment reference such as ``x' or 'a' eq 'a`` stays a
string and never becomes OData.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import msgspec

ACCOUNT_CODE_WIDTH = 18
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# /Date(1641034800000)/, optionally with an OData v2 offset such as /Date(1641034800000+0100)/.
_ODATA_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quote_string(value: str) -> str:
    """A string literal: ``'O''Brien'``. Quotes are doubled, nothing else needs escaping."""
    if not isinstance(value, str):
        raise TypeError(f"OData string literal needs a str, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError("OData string literal cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


def guid_literal(value: str | uuid.UUID) -> str:
    """``guid'0d4b...'`` after checking that ``value`` really is a GUID."""
    text = str(value).strip()
    if not _GUID.match(text):
        raise ValueError(f"not a GUID: {value!r}")
    return f"guid'{text.lower()}'"


def datetime_literal(value: date | datetime) -> str:
    """``datetime'2026-01-29T00:00:00'``. Exact takes zone-less local dates and times.

    An aware datetime is refused rather than silently converted: which local day it means is the
    caller's decision (bookings use the settlement date in Europe/Amsterdam).
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            raise ValueError(
                f"datetime literal needs a local (naive) datetime, got {value.isoformat()}"
            )
        return f"datetime'{value.replace(microsecond=0).isoformat()}'"
    if isinstance(value, date):
        return f"datetime'{value.isoformat()}T00:00:00'"
    raise TypeError(f"datetime literal needs a date or datetime, got {type(value).__name__}")


def int64_literal(value: int) -> str:
    """``12345L`` (Edm.Int64, for ``Timestamp`` and ``HID``)."""
    number = _checked_int(value, "Int64")
    return f"{number}L"


def int_literal(value: int) -> str:
    """A plain Edm.Int32 literal (``InvoiceNumber eq 24700012``)."""
    number = _checked_int(value, "Int32")
    if not -(2**31) <= number < 2**31:
        raise ValueError(f"{number} does not fit Edm.Int32")
    return str(number)


def bool_literal(value: bool) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"boolean literal needs a bool, got {type(value).__name__}")
    return "true" if value else "false"


def _checked_int(value: object, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{kind} literal needs an int, got {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"{value} does not fit Edm.Int64")
    return value


def pad_account_code(code: str | int) -> str:
    """An account ``Code`` right-aligned in 18 characters, as Exact stores and filters it.

    An unpadded code in a filter silently matches nothing, so every account-code comparison must
    use this.
    """
    text = str(code).strip()
    if not text:
        raise ValueError("account code is empty")
    if len(text) > ACCOUNT_CODE_WIDTH:
        raise ValueError(f"account code {text!r} is longer than {ACCOUNT_CODE_WIDTH} characters")
    return text.rjust(ACCOUNT_CODE_WIDTH)


def parse_odata_date(value: str | None) -> datetime | None:
    """``"/Date(1641034800000)/"`` as an aware UTC datetime (None stays None).

    The milliseconds are UTC; an OData v2 offset suffix, when present, only says which local time
    the value was written in and does not move the instant.
    """
    if value is None:
        return None
    match = _ODATA_DATE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not an OData date: {value!r}")
    return _EPOCH + timedelta(milliseconds=int(match.group(1)))


def parse_int64(value: int | str | None) -> int | None:
    """An Edm.Int64 (``HID``, ``Timestamp``), which may arrive as a number or a string [I]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not an Int64: {value!r}")
    text = str(value).strip().removesuffix("L")
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError(f"not an Int64: {value!r}")
    return _checked_int(int(text), "Int64")


# msgspec reads a page of a thousand receivables several times faster than ``json``; with the
# same ``Decimal`` numbers (the hook gets the number's text).
_decode_json = msgspec.json.Decoder(float_hook=Decimal).decode


def parse_json(body: bytes | str) -> Any:
    """JSON with every non-integer number as ``Decimal`` (amounts never become floats)."""
    try:
        return _decode_json(body)
    except msgspec.DecodeError:
        # What msgspec refuses (a byte-order mark, another UTF encoding, NaN) is read, or
        # refused, exactly as before.
        return json.loads(body, parse_float=Decimal)


def dumps(value: Any) -> str:
    """JSON for a request body: ``Decimal`` as an exact number, dates zone-less, floats refused.

    Raises ``TypeError``/``ValueError`` naming the field path of the offending value.
    """
    try:
        return _encode(value)
    except _Refused as refused:
        path = "$" + "".join(reversed(refused.path))
        raise refused.kind(f"{path}: {refused.message}") from None


class _Refused(Exception):
    """A value JSON for Exact cannot hold; the path is filled in on the way out."""

    def __init__(self, kind: type[Exception], message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message
        self.path: list[str] = []  # innermost first


# The json module's own string encoders (what ``json.dumps`` of a string does), called directly:
# a bank entry of a backfill's clearing has thousands of values.
_text = json.encoder.encode_basestring  # type: ignore[attr-defined]
_key = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _encode(value: Any) -> str:
    # The field path is built only when a value is refused, not for every value sent.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Refused(ValueError, f"amount {value} is not a finite number")
        return format(value, "f")
    if isinstance(value, float):
        raise _Refused(TypeError, f"floats are not sent to Exact (use Decimal), got {value!r}")
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            raise _Refused(ValueError, f"Exact takes zone-less dates, got {value.isoformat()}")
        return _key(value.replace(microsecond=0).isoformat())
    if isinstance(value, date):
        return _key(f"{value.isoformat()}T00:00:00")
    if isinstance(value, uuid.UUID):
        return _key(str(value))
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Refused(TypeError, f"JSON object keys must be strings, got {key!r}")
            try:
                items.append(f"{_key(key)}:{_encode(item)}")
            except _Refused as refused:
                refused.path.append(f".{key}")
                raise
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        parts = []
        for i, item in enumerate(value):
            try:
                parts.append(_encode(item))
            except _Refused as refused:
                refused.path.append(f"[{i}]")
                raise
        return "[" + ",".join(parts) + "]"
    raise _Refused(TypeError, f"cannot send a {type(value).__name__} to Exact")


def query_string(
    *,
    select: Iterable[str] | str | None = None,
    filter: str | None = None,
    orderby: str | None = None,
    expand: Iterable[str] | str | None = None,
    top: int | None = None,
    inlinecount: bool = False,
    extra: Mapping[str, str] | None = None,
) -> str:
    """An encoded OData query string (no leading ``?``).

    Values are percent-encoded (a ``+`` or ``&`` in a literal must not reach the server raw);
    the ``$`` of option names stays literal, as Exact documents them.
    """
    params: list[tuple[str, str]] = []
    if select is not None:
        fields = [select] if isinstance(select, str) else list(select)
        if not fields or any(not f.strip() for f in fields):
            raise ValueError("$select needs at least one field name")
        params.append(("$select", ",".join(f.strip() for f in fields)))
    if filter:
        params.append(("$filter", filter))
    if orderby:
        params.append(("$orderby", orderby))
    if expand:
        params.append(("$expand", expand if isinstance(expand, str) else ",".join(expand)))
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ValueError(f"$top must be a positive int, got {top!r}")
        params.append(("$top", str(top)))
    if inlinecount:
        params.append(("$inlinecount", "allpages"))
    for key, value in (extra or {}).items():
        params.append((key, value))
    return "&".join(f"{quote(k, safe='$')}={quote(v, safe=',()*')}" for k, v in params)
