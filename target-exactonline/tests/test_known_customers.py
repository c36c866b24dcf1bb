"""The customers a run knows: the store is asked once per customer, what is added comes first."""

from __future__ import annotations

from decimal import Decimal

from pay_exact_transform import OpenItem
from target_exactonline.known_customers import CustomerIds, CustomerNames
from target_exactonline.open_item_store import OpenItemStore


def _item(item_id: str, customer: str, code: str | None, name: str | None) -> OpenItem:
    return OpenItem(
        item_id=item_id,
        invoice_number=item_id,
        customer_id=customer,
        amount=Decimal("10.00"),
        currency="EUR",
        customer_code=code,
        customer_name=name,
    )


def test_ids_and_names_come_from_the_first_item_and_cost_one_question_per_customer() -> None:
    with OpenItemStore() as store:
        store.add(
            [
                _item("H1", "C1", "  1001", "Klant"),
                _item("H2", "C1", "1001", "Klant (renamed later)"),
                _item("H3", "C2", None, "Ander"),
                _item("H4", "C3", None, None),
            ]
        )
        ids, names = CustomerIds(store), CustomerNames(store)
        asked: list[str] = []
        store.db.set_trace_callback(asked.append)
        for _ in range(3):
            assert ids["C1"] == "C1"
            assert names["C1"] == "Klant (1001)"
            assert names["C2"] == "Ander"
            assert names["C3"] == "C3"  # neither name nor code: the id itself
            assert ids.get("UNKNOWN") is None
            assert names.get("UNKNOWN", "?") == "?"
        questions = [sql for sql in asked if sql.startswith("SELECT customer_id, customer_code")]
        assert len(questions) == 4  # C1, C2, C3 and UNKNOWN, once each
        ids["UNKNOWN"] = "account-9"  # a relation created during the run
        assert ids["UNKNOWN"] == "account-9"
        assert sorted(ids) == ["C1", "C2", "C3", "UNKNOWN"]


def test_a_full_answer_cache_is_emptied_and_answers_stay_right(monkeypatch) -> None:
    from target_exactonline import open_item_store

    monkeypatch.setattr(open_item_store, "_CACHED", 2)
    with OpenItemStore() as store:
        store.add([_item(f"H{n}", f"C{n}", str(n), f"Klant {n}") for n in range(5)])
        names = CustomerNames(store)
        for _ in range(2):
            assert [names[f"C{n}"] for n in range(5)] == [f"Klant {n} ({n})" for n in range(5)]
        assert len(store._customers) <= 2


def test_a_clearings_customers_are_asked_for_in_one_question() -> None:
    with OpenItemStore() as store:
        store.add(
            [
                _item("H1", "C1", "1001", "Klant"),
                _item("H2", "C1", "1001", "Klant (renamed later)"),
                _item("H3", "C2", None, "Ander"),
            ]
        )
        ids, names = CustomerIds(store), CustomerNames(store)
        names["9999"] = "Debiteur (9999)"  # the standard debtor: not asked of the store
        asked: list[str] = []
        store.db.set_trace_callback(asked.append)
        names.prefetch(["C1", "C2", "UNKNOWN", "9999", "C1"])
        questions = [sql for sql in asked if sql.startswith("SELECT customer")]
        assert len(questions) == 1
        assert "9999" not in questions[0]
        assert [names["C1"], names["C2"], names.get("UNKNOWN"), names["9999"]] == [
            "Klant (1001)",
            "Ander",
            None,
            "Debiteur (9999)",
        ]
        assert ids["C2"] == "C2"
        assert [sql for sql in asked if sql.startswith("SELECT customer")] == questions
