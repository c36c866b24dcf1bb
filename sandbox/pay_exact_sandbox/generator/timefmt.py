"""Europe/Amsterdam offsets without a time-zone database (EU rule: summer time runs from the
last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


@cache
def _summer_bounds(year: int) -> tuple[date, date]:
    return _last_sunday(year, 3), _last_sunday(year, 10)


def amsterdam_offset(day: date, seconds_of_day: int) -> str:
    """The UTC offset of a local Amsterdam wall-clock time, as ``+01:00`` or ``+02:00``."""
    start, end = _summer_bounds(day.year)
    # Transitions happen at 02:00 local in March and 03:00 local in October.
    if start < day < end:
        summer = True
    elif day == start:
        summer = seconds_of_day >= 2 * 3600
    elif day == end:
        summer = seconds_of_day < 3 * 3600
    else:
        summer = False
    return "+02:00" if summer else "+01:00"


@cache
def _day_parts(day: date) -> tuple[str, str | None]:
    """The date text, and the day's offset unless the clocks change that day."""
    start, end = _summer_bounds(day.year)
    if day in (start, end):
        return day.isoformat(), None
    return day.isoformat(), amsterdam_offset(day, 12 * 3600)


def amsterdam_timestamp(day: date, seconds_of_day: int) -> str:
    """ISO-8601 ATOM timestamp of a local Amsterdam time (``2025-03-02T14:03:11+01:00``)."""
    text, offset = _day_parts(day)
    hours, rest = divmod(seconds_of_day, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        f"{text}T{hours:02d}:{minutes:02d}:{seconds:02d}"
        f"{offset or amsterdam_offset(day, seconds_of_day)}"
    )
