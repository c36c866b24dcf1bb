"""How many records of a run claim each open item (rule 5), by the item's position."""

from __future__ import annotations

from array import array


class ClaimCounts:
    """One machine integer per open item position (4 bytes), where a dict took about 100 bytes
    per claimed item: a year's backfill claims as many open items as it has payments."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts = array("I")

    def add(self, idx: int) -> None:
        counts = self._counts
        if idx >= len(counts):
            # Grow by doubling (zeros), so adding n positions costs O(n) in all.
            grow = max(idx + 1 - len(counts), len(counts))
            counts.frombytes(bytes(grow * counts.itemsize))
        counts[idx] += 1

    def __getitem__(self, idx: int) -> int:
        counts = self._counts
        return counts[idx] if idx < len(counts) else 0
