"""Which state this target may hand back to Meltano.

Meltano stores every line the target prints as the new state, and the tap resumes from its
bookmarks. A bookmark may therefore only move past a clearing once that clearing is booked:
otherwise a failed or blocked clearing would never be read again. The target emits state once,
after the run's bookings are durable, and clamps the tap's date bookmarks of the Pay. streams to
the settlement date of the earliest clearing of this run that is not booked (the tap filters
``settlementDate >= bookmark``, so that clearing and everything after it is read again; what is
already booked is skipped through the booking ledger).

A date-only bookmark is set to that date; a date-time bookmark to midnight UTC of the day
before, which covers the settlement date in every time zone.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from target_exactonline.collector import PAY_STREAMS, TURNOVER_GROUPS

CLAMPED_STREAMS = PAY_STREAMS - {TURNOVER_GROUPS}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _as_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if _DATE_ONLY.match(text):
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.date()


def _clamped_value(original: str, earliest: date) -> str:
    if _DATE_ONLY.match(original.strip()):
        return earliest.isoformat()
    return datetime.combine(earliest - timedelta(days=1), time(0), tzinfo=UTC).isoformat()


def _clamp_bookmark(bookmark: dict[str, Any], earliest: date) -> bool:
    value = bookmark.get("replication_key_value")
    current = _as_date(value)
    if current is None or current < earliest:
        return False
    clamped = _clamped_value(str(value), earliest)
    if clamped == value:
        return False
    bookmark["replication_key_value"] = clamped
    return True


def clamp_state(state: Mapping[str, Any], earliest_unbooked: date | None) -> dict[str, Any]:
    """A copy of ``state`` whose Pay. bookmarks do not pass ``earliest_unbooked``.

    With nothing unbooked the state passes unchanged.
    """
    result = copy.deepcopy(dict(state))
    if earliest_unbooked is None:
        return result
    bookmarks = result.get("bookmarks")
    if not isinstance(bookmarks, dict):
        return result
    for stream, bookmark in bookmarks.items():
        if stream not in CLAMPED_STREAMS or not isinstance(bookmark, dict):
            continue
        _clamp_bookmark(bookmark, earliest_unbooked)
        for partition in bookmark.get("partitions") or []:
            if isinstance(partition, dict):
                _clamp_bookmark(partition, earliest_unbooked)
    return result
