"""Pooled row values: equal values become one object, values that serialise differently never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from pay_exact_sandbox.exact.compact import ValuePool


def test_equal_values_are_kept_once_and_rows_read_the_same() -> None:
    pool = ValuePool()
    first = pool.row({"AmountFC": Decimal("12.10"), "Lines": [{"AmountDC": Decimal("12.10")}]})
    second = pool.row({"AmountFC": Decimal("12.10"), "Code": "".join(["13", "00"])})
    assert first["AmountFC"] is second["AmountFC"]
    assert first["Lines"][0]["AmountDC"] is first["AmountFC"]
    assert second["Code"] is pool.value("1300")
    assert first == {"AmountFC": Decimal("12.10"), "Lines": [{"AmountDC": Decimal("12.10")}]}


def test_values_equal_but_written_differently_stay_apart() -> None:
    pool = ValuePool()
    assert str(pool.value(Decimal("1"))) == "1"
    assert str(pool.value(Decimal("1.00"))) == "1.00"
    utc = datetime(2026, 3, 1, 12, tzinfo=UTC)
    amsterdam = utc.astimezone(timezone(timedelta(hours=1)))
    assert pool.value(utc) is utc
    assert pool.value(amsterdam).isoformat() == amsterdam.isoformat()
    assert pool.value(True) is True
    assert pool.value(1) == 1
