"""Value conversions at the API edge: GUIDs, dates, amounts and padded account codes."""

from __future__ import annotations

import calendar
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_DATE_MS_RE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
ACCOUNT_CODE_WIDTH = 18
CENT = Decimal("0.01")
_NAMESPACE = uuid.UUID("1d7b7c2e-3c55-4b8e-9a55-6f1b0c5f0e11")


def is_guid(value: object) -> bool:
    return isinstance(value, str) and GUID_RE.match(value) is not None


def norm_guid(value: str) -> str:
    return value.lower()


def stable_guid(*parts: object) -> str:
    """A GUID derived from its parts, so fixtures and generated data are reproducible."""
    return str(uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts)))


def pad_account_code(code: str | int) -> str:
    """Exact stores account codes right-aligned in 18 characters [C]."""
    text = str(code).strip()
    if len(text) > ACCOUNT_CODE_WIDTH:
        raise ValueError(f"account code {text!r} is longer than {ACCOUNT_CODE_WIDTH} characters")
    return text.rjust(ACCOUNT_CODE_WIDTH)


def to_epoch_ms(value: datetime) -> int:
    """Exact serialises every date as milliseconds since the epoch, read as UTC."""
    return calendar.timegm(value.timetuple()) * 1000 + value.microsecond // 1000


def format_date(value: datetime) -> str:
    return f"/Date({to_epoch_ms(value)})/"


def from_epoch_seconds(seconds: float) -> datetime:
    """Naive UTC datetime (the store keeps every date naive and in UTC)."""
    return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)


def parse_date(value: Any) -> datetime:
    """A request date: ISO 8601 (with or without a zone) or ``/Date(ms)/``.

    A zone offset is applied and dropped, so ``2026-10-08T00:00:00+02:00`` lands on 7 October:
    the shift CRAFT reports for zoned dates [I]. Raises ValueError on anything else.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)  # noqa: DTZ001 - naive UTC by design
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    match = _DATE_MS_RE.match(text)
    if match:
        return from_epoch_seconds(int(match.group(1)) / 1000)
    match = _ISO_RE.match(text)
    if not match:
        raise ValueError(f"not a date: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    result = datetime(  # noqa: DTZ001 - naive UTC by design
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        result -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return result


def parse_amount(value: Any) -> Decimal:
    """A JSON number (parsed as Decimal) or a numeric string; never a float."""
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    raise ValueError(f"not an amount: {value!r}")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)
