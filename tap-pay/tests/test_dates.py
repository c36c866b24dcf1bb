"""One UTC timestamp format and plain business dates."""

from __future__ import annotations

import pytest
from tap_pay.dates import DateFormatError, business_date, utc_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-02T14:03:11+01:00", "2025-03-02T13:03:11Z"),
        ("2025-07-02T14:03:11+02:00", "2025-07-02T12:03:11Z"),
        ("2025-07-02T12:03:11Z", "2025-07-02T12:03:11Z"),
        ("2025-07-02T12:03:11.250000+00:00", "2025-07-02T12:03:11.250000Z"),
        # No offset: Dutch local time, winter and summer.
        ("2016-04-26 15:34:03", "2016-04-26T13:34:03Z"),
        ("2016-01-26T15:34:03", "2016-01-26T14:34:03Z"),
    ],
)
def test_timestamps_become_utc(value: str, expected: str):
    assert utc_timestamp(value) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "2025-13-01T00:00:00Z", 20250101, None])
def test_bad_timestamps_are_refused(value: object):
    with pytest.raises(DateFormatError):
        utc_timestamp(value)


def test_business_dates_stay_dates():
    assert business_date("2025-03-04") == "2025-03-04"
    # A timestamp in a date field keeps the calendar date of its own offset.
    assert business_date("2025-03-04T00:30:00+01:00") == "2025-03-04"
    with pytest.raises(DateFormatError):
        business_date("04-03-2025")
