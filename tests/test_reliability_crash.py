"""The target killed (SIGKILL) at each step of a run, then run again: every clearing is booked
exactly once, no customer is created twice, and the state Meltano gets is right.

The target runs as its own process on a captured tap-pay output; ``PAY_EXACT_KILL_AT`` names
the step where it kills itself (``target_exactonline/kill_points.py``). A killed run prints no
state, so Meltano keeps the previous one and the tap reads the same clearings again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

STEPS = [
    ("context_read", 1, "after reading the Exact context"),
    ("relation_created", 1, "after Exact created a customer, before the ledger knew it"),
    ("before_post", 2, "between 'posting' in the ledger and the POST (2nd clearing)"),
    ("after_post", 2, "after Exact committed the POST, before the ledger (2nd clearing)"),
    ("after_ledger", 3, "after the ledger recorded the 3rd clearing, mid-run"),
    ("before_state", 1, "after every booking, before the state was written"),
]


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS, ids=[s[0] for s in STEPS])
def test_a_run_killed_at_any_step_is_completed_by_the_next_run(
    books: Any, merchant_kit: Any, rows: Callable[..., None], step: tuple[str, int, str]
) -> None:
    point, nth, where = step
    crashed = books.run_process(kill_at=f"{point}:{nth}")
    assert crashed.killed, crashed.stderr[-3000:]
    assert crashed.states == []  # nothing reached Meltano: it keeps the previous state
    half = books.tally()
    assert half.duplicated == 0

    books.exact.admin.log.clear()
    rerun = books.run_process()
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    tally = books.tally()
    assert tally.exactly_once, tally
    assert set(books.ledger().values()) == {"posted"}
    # every clearing booked, so the state passes unclamped: the tap goes on after them
    assert rerun.states == [merchant_kit.tap_state]
    posts = books.calls("POST", "financialtransaction/BankEntries")
    assert posts == tally.expected - half.found  # the rerun posted only what was missing

    books.exact.admin.log.clear()
    again = books.run_process()
    assert again.returncode == 0, again.stderr[-3000:]
    assert books.calls() == 0  # the ledger knows everything: not one Exact call
    assert books.tally().entries == tally.entries

    rows(
        f"C{STEPS.index(step) + 1}",
        "crash",
        fault="SIGKILL of the target",
        where=where,
        tally=tally,
        outcome=f"{half.found} in Exact when killed, no state written; the rerun posted "
        f"{posts} and wrote the state; a third run made no Exact call",
    )
