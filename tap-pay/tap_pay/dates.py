"""One format for time: UTC timestamps ``YYYY-MM-DDTHH:MM:SSZ`` and business dates ``YYYY-MM-DD``.

Bookmarks are compared as strings (singer-meltano.md fact 5), so every value the tap emits or
stores must use exactly one format.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# [I] Pay.'s offsets (+01:00/+02:00) are Dutch local time; a value without an offset is read so.
PAY_LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


class DateFormatError(ValueError):
    """A value that is not the date or timestamp it should be; the caller adds where."""


def utc_timestamp(value: object) -> str:
    """ISO-8601 timestamp (any offset, or none meaning Amsterdam time) -> UTC ``...Z``."""
    if not isinstance(value, str) or not value:
        raise DateFormatError("expected an ISO-8601 timestamp")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DateFormatError("expected an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PAY_LOCAL_ZONE)
    try:
        return format_utc(moment)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the year 1 in UTC
        raise DateFormatError("expected a timestamp between the years 1 and 9999 in UTC") from None


def format_utc(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def business_date(value: object) -> str:
    """``YYYY-MM-DD``; a timestamp is reduced to the calendar date in its own offset."""
    if not isinstance(value, str) or not value:
        raise DateFormatError("expected a date YYYY-MM-DD")
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
        return dt.datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        raise DateFormatError("expected a date YYYY-MM-DD") from None


def parse_setting_date(value: str) -> dt.date:
    """``start_date`` as Meltano passes it: a date, or a timestamp whose date counts."""
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value).date()
