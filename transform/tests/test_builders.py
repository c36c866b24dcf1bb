"""Objects a run makes by the hundred thousand are built without ``__init__``, to the same end."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pay_exact_transform import OpenItem, builder, new_open_item
from pay_exact_transform.model import PaymentRecord, RecordKind

texts = st.none() | st.text(max_size=5)


@given(
    st.text(max_size=5),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    texts,
    st.none() | st.dates(),
)
def test_an_open_item_built_fast_is_the_one_init_builds(item_id, amount, text, day) -> None:
    values = {f.name: text for f in fields(OpenItem)}
    values.update(item_id=item_id, amount=amount, invoice_date=day, due_date=day)
    slow = OpenItem(**values)
    fast = new_open_item(**values)
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert type(fast) is OpenItem
    with pytest.raises(AttributeError):
        fast.amount = Decimal(0)  # type: ignore[misc]  # still frozen


def test_a_pickled_record_comes_back_equal() -> None:
    record = PaymentRecord(
        "R1",
        RecordKind.REFUND,
        Decimal("1.50"),
        "EUR",
        reference="ORD1",
        transaction_date=date(2026, 1, 2),
    )
    assert pickle.loads(pickle.dumps([record, record])) == [record, record]  # noqa: S301


def test_a_class_with_more_to_do_than_set_its_fields_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        amount: Decimal

        def __post_init__(self) -> None:
            if self.amount < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="Checked"):
        builder(Checked, "new_checked")
