"""State handed to Meltano never moves past a clearing that is not booked."""

from __future__ import annotations

from datetime import date

from target_exactonline.state import clamp_state

STATE = {
    "bookmarks": {
        "settlements": {"replication_key": "settlementDate", "replication_key_value": "2026-03-10"},
        "invoice_lines": {
            "replication_key": "processedDate",
            "replication_key_value": "2026-03-11T08:00:00+00:00",
        },
        "turnover_groups": {"replication_key": "modifiedAt", "replication_key_value": "2026-03-12"},
        "clearing_records": {
            "partitions": [
                {"context": {"clearingId": "C1"}, "replication_key_value": "2026-03-09"},
                {"context": {"clearingId": "C2"}, "replication_key_value": "2026-03-01"},
            ]
        },
        "some_other_stream": {"replication_key_value": "2026-03-12"},
    }
}


def test_nothing_unbooked_passes_state_unchanged_as_a_copy() -> None:
    result = clamp_state(STATE, None)
    assert result == STATE
    assert result is not STATE


def test_pay_bookmarks_are_clamped_to_the_earliest_unbooked_settlement_date() -> None:
    result = clamp_state(STATE, date(2026, 3, 5))
    marks = result["bookmarks"]
    assert marks["settlements"]["replication_key_value"] == "2026-03-05"
    # date-times go to midnight UTC of the day before, which covers every time zone
    assert marks["invoice_lines"]["replication_key_value"] == "2026-03-04T00:00:00+00:00"
    parts = marks["clearing_records"]["partitions"]
    assert parts[0]["replication_key_value"] == "2026-03-05"
    assert parts[1]["replication_key_value"] == "2026-03-01"  # already earlier: untouched
    # turnover groups and streams this target does not book keep their bookmarks
    assert marks["turnover_groups"]["replication_key_value"] == "2026-03-12"
    assert marks["some_other_stream"]["replication_key_value"] == "2026-03-12"
    # the input is not modified
    assert STATE["bookmarks"]["settlements"]["replication_key_value"] == "2026-03-10"


def test_a_bookmark_on_the_unbooked_date_itself_is_kept() -> None:
    result = clamp_state(STATE, date(2026, 3, 10))
    assert result["bookmarks"]["settlements"]["replication_key_value"] == "2026-03-10"


def test_odd_state_shapes_are_left_alone() -> None:
    odd = {"bookmarks": {"settlements": {"replication_key_value": 12}}, "x": 1}
    assert clamp_state(odd, date(2026, 1, 1)) == odd
    assert clamp_state({"x": 1}, date(2026, 1, 1)) == {"x": 1}
    garbage = {"bookmarks": {"settlements": {"replication_key_value": "not a date"}}}
    assert clamp_state(garbage, date(2026, 1, 1)) == garbage
