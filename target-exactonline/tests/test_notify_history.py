"""The run history behind failure e-mails: streaks per customer, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from target_exactonline.exact_client.testing import require_postgres_url
from target_exactonline.run_history import KEEP_ROWS, SHOWN_FAILURES, SUMMARY_MAX, RunHistory


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(days=1)
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'store.sqlite'}"
    return require_postgres_url()


@pytest.fixture
def customer() -> str:
    # Unique per test, so tests sharing a PostgreSQL database never see each other's runs.
    return f"acme-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def history(store_url: str, customer: str) -> Iterator[RunHistory]:
    with RunHistory.from_url(
        store_url, store_key=customer, division=123456, clock=Clock()
    ) as found:
        yield found


def test_failed_runs_in_a_row_form_a_streak_and_a_success_ends_it(history: RunHistory) -> None:
    assert history.streak().count == 0
    history.record(run_id="r1", succeeded=False, summary="2 of 5 clearings were not booked")
    streak = history.record(run_id="r2", succeeded=False, summary="the run ended with an error")
    assert streak.count == 2
    assert [r.run_id for r in streak.recent] == ["r2", "r1"]  # newest first
    assert streak.latest is not None
    assert streak.latest.summary == "the run ended with an error"
    assert streak.since == streak.recent[-1].finished_at
    assert not streak.notified

    assert history.record(run_id="r3", succeeded=True).count == 0
    streak = history.record(run_id="r4", succeeded=False, summary="again")
    assert streak.count == 1
    assert streak.since == streak.recent[0].finished_at
    assert [o.succeeded for o in history.outcomes()] == [False, False, True, False]


def test_a_streak_remembers_its_notification_until_a_success(history: RunHistory) -> None:
    for n in range(3):
        streak = history.record(run_id=f"r{n}", succeeded=False, summary="x")
    history.mark_notified(streak)
    streak = history.record(run_id="r3", succeeded=False, summary="x")
    assert streak.count == 4
    assert streak.notified  # a later failure of the same streak still knows
    history.record(run_id="ok", succeeded=True)
    streak = history.record(run_id="r4", succeeded=False, summary="x")
    assert streak.count == 1
    assert not streak.notified  # a new streak sends its own mail


def test_customers_and_divisions_have_their_own_streaks(
    store_url: str, customer: str, history: RunHistory
) -> None:
    history.record(run_id="a1", succeeded=False, summary="x")
    history.record(run_id="a2", succeeded=False, summary="x")
    with (
        RunHistory.from_url(store_url, store_key=customer + "-b", division=123456) as other,
        RunHistory.from_url(store_url, store_key=customer, division=654321) as elsewhere,
    ):
        assert other.streak().count == 0
        assert elsewhere.streak().count == 0
        other.record(run_id="b1", succeeded=True)
        elsewhere.record(run_id="c1", succeeded=False, summary="x")
    assert history.streak().count == 2


def test_the_streak_survives_the_process_and_only_recent_failures_are_carried(
    store_url: str, customer: str
) -> None:
    with RunHistory.from_url(store_url, store_key=customer, division=1) as first:
        for n in range(SHOWN_FAILURES + 5):
            first.record(run_id=f"r{n}", succeeded=False, summary=f"night {n}")
    with RunHistory.from_url(store_url, store_key=customer, division=1) as second:
        streak = second.streak()
    assert streak.count == SHOWN_FAILURES + 5
    assert len(streak.recent) == SHOWN_FAILURES
    assert streak.recent[0].summary == f"night {SHOWN_FAILURES + 4}"


def test_old_rows_are_pruned_after_a_success(history: RunHistory) -> None:
    for n in range(KEEP_ROWS + 20):
        history.record(run_id=f"r{n}", succeeded=n % 2 == 0, summary="x")
    history.record(run_id="last", succeeded=True)
    outcomes = history.outcomes()
    assert len(outcomes) == KEEP_ROWS
    assert outcomes[-1].run_id == "last"


def test_long_summaries_are_clipped(history: RunHistory) -> None:
    streak = history.record(run_id="r1", succeeded=False, summary="x" * (SUMMARY_MAX * 2))
    assert streak.latest is not None
    assert streak.latest.summary is not None
    assert len(streak.latest.summary) == SUMMARY_MAX
    assert streak.latest.summary.endswith("…")
