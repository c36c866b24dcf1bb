"""A test hook: named points in a booking run where crash tests kill the process.

The promise of DESIGN §6 is that a run killed at *any* moment leaves nothing booked twice and
the next run books what is missing. The crash tests prove it by running the target as a
process with ``PAY_EXACT_KILL_AT=<point>`` (or ``<point>:<n>`` for the n-th time the point is
reached, default the first); the process then sends itself SIGKILL right there, as a power cut
or an out-of-memory kill would: no ``finally``, no flush, no state.

Points, in the order a run reaches them:

- ``context_read``: Exact's journals, GL accounts, periods, open items and booked keys are read;
  nothing is planned yet.
- ``relation_created``: Exact answered the POST of a new customer; the ledger does not know it.
- ``before_post``: the ledger says ``posting``; the bank entry has not been sent.
- ``after_post``: Exact answered the POST of the bank entry; the ledger does not know it yet.
- ``after_ledger``: the ledger records the entry as posted.
- ``before_state``: every booking is done and reported; the state is not yet written.

Without the variable (always, outside tests) every call is a dictionary look-up and nothing else.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "PAY_EXACT_KILL_AT"
POINTS = (
    "context_read",
    "relation_created",
    "before_post",
    "after_post",
    "after_ledger",
    "before_state",
)

_seen: dict[str, int] = {}


def reached(point: str) -> None:
    """Kill this process when the test hook names ``point`` (and this is its n-th time)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] == (int(nth) if nth else 1):
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
