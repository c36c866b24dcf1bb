"""One shared object per repeated value in a division's rows.

A seeded year holds millions of row values and most amounts, dates and codes repeat (an invoice's
amount is its receivable's, its transaction lines' and its open amount). Equal immutable values
are kept once; rows stay plain dicts, so nothing that reads them changes.
"""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

Row = dict[str, Any]


class ValuePool:
    """Canonical instances of Decimals, datetimes and strings put into rows."""

    def __init__(self) -> None:
        # Keyed with the exponent and the zone as well: Decimal("1.0") == Decimal("1") and two
        # zones' equal instants compare equal, but they serialise differently.
        self._decimals: dict[tuple[Decimal, int | str], Decimal] = {}
        self._datetimes: dict[tuple[datetime, Any], datetime] = {}

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return sys.intern(value)
        if kind is Decimal:
            key = (value, value.as_tuple().exponent)
            return self._decimals.setdefault(key, value)
        if kind is datetime:
            return self._datetimes.setdefault((value, value.tzinfo), value)
        return value

    def row(self, row: Row) -> Row:
        """``row`` with its values (and its line rows' values) replaced by pooled ones."""
        for key, value in row.items():
            if type(value) is list:
                for item in value:
                    if type(item) is dict:
                        self.row(item)
            else:
                row[key] = self.value(value)
        return row
