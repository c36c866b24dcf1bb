"""Windows of clearings bounded by their number and by their payment records."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from target_exactonline.clearing_item import Item, windows
from target_exactonline.report import ClearingReport, Outcome


def item(n: int, records: int) -> Item:
    report = ClearingReport(clearing_id=f"C{n}", key=None, outcome=Outcome.NOT_ATTEMPTED)
    return Item(f"C{n}", report, records=records)


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=50), max_size=40),
    clearings=st.integers(min_value=1, max_value=8),
    records=st.integers(min_value=1, max_value=60),
)
def test_every_clearing_once_in_order_within_both_bounds(
    sizes: list[int], clearings: int, records: int
) -> None:
    items = [item(n, r) for n, r in enumerate(sizes)]
    found = list(windows(items, clearings, records))
    assert [i for w in found for i in w] == items
    for window in found:
        assert 1 <= len(window) <= clearings
        # Over the record bound only as a clearing alone that is larger than it.
        assert sum(i.records for i in window) <= records or len(window) == 1
    # Each window is as full as the bounds allow: the next clearing did not fit.
    for window, following in pairwise(found):
        held = sum(i.records for i in window)
        assert len(window) == clearings or held + following[0].records > records
