"""The customers a run knows: the store is asked once per customer, what is added comes first."""

from __future__ import annotations

from collections import Counter

from target_exactonline.known_customers import CustomerIds


class _Store:
    def __init__(self, customers: set[str]) -> None:
        self.customers = customers
        self.asked: Counter[str] = Counter()

    def has_customer(self, customer_id: str) -> bool:
        self.asked[customer_id] += 1
        return customer_id in self.customers


def test_each_customer_is_asked_of_the_store_once() -> None:
    store = _Store({"C1"})
    ids = CustomerIds(store)  # type: ignore[arg-type]
    for _ in range(3):
        assert ids["C1"] == "C1"
        assert ids.get("UNKNOWN") is None
    assert store.asked == Counter({"C1": 1, "UNKNOWN": 1})
    ids["UNKNOWN"] = "account-9"  # a relation created during the run
    assert ids["UNKNOWN"] == "account-9"
