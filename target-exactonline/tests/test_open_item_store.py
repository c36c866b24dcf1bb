"""The open items held in SQLite answer the engine exactly as the in-memory index does."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pay_exact_transform import (
    PROFILES,
    InputError,
    OpenItem,
    RunPlanner,
    build_index,
    plan_run,
    resolve_profile,
)
from target_exactonline import open_item_store
from target_exactonline.collector import Collector
from target_exactonline.open_item_store import OpenItemStore

# The engine's generated merchants (clearings, open items, settings) are reused as they are.
_spec = importlib.util.spec_from_file_location(
    "engine_properties",
    Path(__file__).parents[2] / "transform" / "tests" / "test_properties.py",
)
assert _spec is not None
assert _spec.loader is not None
engine_properties = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(engine_properties)


def _stored_plans(clearings, items, s, size: int, declared, *, spooled: bool = False):
    """Planned over the store in windows of ``size``; with ``spooled``, pass 1's finds wait
    for pass 2 in a collector's spool, as in a run."""
    collector = Collector()
    try:
        with OpenItemStore(resolve_profile(p) for p in declared) as store:
            store.add(items)
            planner = RunPlanner(store, s, kept=collector.kept_finds() if spooled else None)
            windows = [clearings[n : n + size] for n in range(0, len(clearings), size)]
            for window in windows:
                planner.count(window)
            plans = [plan for window in windows for plan in planner.plan(window)]
    finally:
        collector.close()
    return sorted(plans, key=lambda p: p.clearing_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    engine_properties.scenarios(max_clearings=20),
    engine_properties.merchant_settings(),
    st.lists(st.sampled_from(sorted(PROFILES)), max_size=3),
    st.sampled_from([1, 7, 1000]),
    st.booleans(),
)
def test_stored_open_items_give_the_plans_of_the_in_memory_index(
    scenario, s, declared, size, spooled
):
    clearings, items = scenario
    ordered = sorted(clearings, key=lambda c: c.clearing_id)
    # Profiles declared up front file their keys as items arrive; the others on first lookup.
    assert _stored_plans(ordered, items, s, size, declared, spooled=spooled) == plan_run(
        clearings, items, s
    )


def test_with_the_finds_spooled_the_second_pass_asks_the_store_no_reference(monkeypatch) -> None:
    clearings = [
        engine_properties.paid(f"CLR-{n:02d}", ("ORD1001", "10.00", None), ("ORD7", "7.00", None))
        for n in range(3)
    ]
    items = [
        engine_properties.INVOICE,
        _item("H7", "7.00", your_ref="ORD7"),
    ]
    s = engine_properties.Settings(gl=engine_properties.GL)
    asked: list[str] = []
    get_many = open_item_store._References.get_many

    def counted(self, keys):
        asked.append(phase)
        return get_many(self, keys)

    monkeypatch.setattr(open_item_store._References, "get_many", counted)
    collector = Collector()
    with OpenItemStore() as store:
        store.add(items)
        planner = RunPlanner(store, s, kept=collector.kept_finds())
        phase = "count"
        planner.count(clearings)
        phase = "plan"
        plans = planner.plan(clearings)
    collector.close()
    assert asked == ["count"] * 3  # one question per clearing, none in the second pass
    assert plans == plan_run(clearings, items, s)


def test_the_first_pass_reads_only_the_facts_of_the_items_it_checks() -> None:
    # Each clearing pays its own two invoices: nothing a clearing reads is cached before it.
    clearings = [
        engine_properties.paid(
            f"CLR-{n}", (f"ORD{n}001", "10.00", None), (f"ORD{n}7", "7.00", None)
        )
        for n in range(3)
    ]
    items = [
        _item(f"H{n}{ref}", amount, invoice_number=f"2470{n}{ref}", your_ref=f"ORD{n}{ref}")
        for n in range(3)
        for ref, amount in (("001", "10.00"), ("7", "7.00"))
    ]
    s = engine_properties.Settings(gl=engine_properties.GL)
    collector = Collector()
    with OpenItemStore() as store:
        store.add(items)
        asked: list[str] = []
        store.db.set_trace_callback(asked.append)
        planner = RunPlanner(store, s, kept=collector.kept_finds())
        planner.count(clearings)
        counted = [sql.split(" WHERE")[0] for sql in asked if " WHERE pos" in sql]
        asked.clear()
        plans = planner.plan(clearings)
        planned = [sql.split(" WHERE")[0] for sql in asked if " WHERE pos" in sql]
    collector.close()
    # Pass 1: one question per clearing, for the narrow facts of the items its references name.
    assert counted == ["SELECT pos, currency, amount, journal, invoice_date FROM facts"] * 3
    # Pass 2 decides, so it reads the whole items of each clearing's candidates, once.
    assert len(planned) == 3
    assert all(sql.endswith("FROM items") for sql in planned)
    assert plans == plan_run(clearings, items, s)


def _item(item_id: str, amount: str = "10.00", **extra: object) -> OpenItem:
    fields: dict = {"invoice_number": "24700001", "customer_id": "C1", "currency": "EUR"}
    return OpenItem(item_id=item_id, amount=Decimal(amount), **{**fields, **extra})


def test_an_exact_repeat_is_dropped_and_two_items_under_one_id_are_refused() -> None:
    with OpenItemStore() as store:
        store.add([_item("H1"), _item("H2"), _item("H1")])
        assert len(store) == 2
        with pytest.raises(InputError, match=r"open item 'H2'.*item_id"):
            store.add([_item("H3"), _item("H2", "11.00")])
        # The refused batch left nothing half written.
        assert len(store) == 2
        assert [i.item_id for i in store.items] == ["H1", "H2"]


@pytest.mark.parametrize("batch", [2, 1000])
def test_repeats_across_batches_and_calls_leave_one_copy_and_its_keys(monkeypatch, batch) -> None:
    monkeypatch.setattr(open_item_store, "_BATCH", batch)
    profile = resolve_profile("woocommerce")
    with OpenItemStore([profile]) as store:
        store.add([_item("H1", your_ref="ORD11"), _item("H2", your_ref="ORD22")])
        asked: list[str] = []
        store.db.set_trace_callback(asked.append)
        store.add(
            [
                _item("H3", your_ref="ORD33"),
                _item("H1", your_ref="ORD11"),  # a repeat of an earlier call's item
                _item("H3", your_ref="ORD33"),  # and of this call's, twice
                _item("H3", your_ref="ORD33"),
            ]
        )
        store.db.set_trace_callback(None)
        # The three repeats leave together: one statement for the items, one for the keys.
        assert len([sql for sql in asked if sql.startswith("DELETE")]) == 2
        assert len(store) == 3
        assert [i.item_id for i in store.items] == ["H1", "H2", "H3"]
        refs = store.references(profile)
        assert [refs.get(key) for key in ("ORD11", "ORD22", "ORD33")] == [0, 1, 2]
        assert refs.get_many(["ORD11", "ORD33"]) == {"ORD11": 0, "ORD33": 2}


def test_an_add_that_fails_half_way_leaves_nothing_of_itself(monkeypatch) -> None:
    monkeypatch.setattr(open_item_store, "_BATCH", 2)
    profile = resolve_profile("woocommerce")

    def arriving():
        yield from (_item(f"H{n}", your_ref=f"ORD{n}{n}") for n in range(2, 7))
        raise ConnectionError("the third page did not come")

    with OpenItemStore([profile]) as store:
        store.add([_item("H1", your_ref="ORD11")])
        with pytest.raises(ConnectionError):
            store.add(arriving())
        assert len(store) == 1
        assert [i.item_id for i in store.items] == ["H1"]
        assert store.references(profile).get_many(["ORD11", "ORD22", "ORD66"]) == {"ORD11": 0}


def test_a_bad_item_is_named_with_its_field() -> None:
    with OpenItemStore() as store, pytest.raises(InputError, match=r"open item 'H1'.*amount"):
        store.add([_item("H1", "10.001")])


def test_lookups_find_amounts_however_they_are_written() -> None:
    items = [
        _item("H1", "10.50", customer_email=" Shop@X.nl "),
        _item("H2", "10.5"),
        _item("H3", "-10.50"),
    ]
    index = build_index(items)
    with OpenItemStore() as store:
        store.add(items)
        for amount in (Decimal("10.5"), Decimal("10.500"), Decimal("-10.5")):
            assert store.items_with_amount(amount, "EUR") == index.items_with_amount(amount, "EUR")
            assert store.items_of_customer_with_amount("C1", amount) == (
                index.items_of_customer_with_amount("C1", amount)
            )
        assert store.customers_for_email("shop@x.nl") == ("C1",)
        assert store.items_of_customer("C1") == [0, 1, 2]


def test_e_mails_given_later_reach_the_lookups_and_the_file_goes_with_the_store() -> None:
    store = OpenItemStore()
    store.add([_item("H1"), _item("H2")])
    store.add_accounts([("C1", "1", "Klant", "Klant@X.nl"), ("C2", "2", "Ander", None)])
    store.give_items_their_customers_emails()
    assert store.accounts_with_email(" KLANT@x.nl") == [("C1", "1", "Klant", "Klant@X.nl")]
    assert store.customers_for_email("klant@x.nl") == ("C1",)
    assert store.items[1].customer_email == "Klant@X.nl"
    folder = store.path.parent
    store.close()
    assert not folder.exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 9), st.lists(st.integers(0, 9), max_size=5)), max_size=40))
def test_items_read_one_at_a_time_or_ahead_are_the_stored_items(steps) -> None:
    stored = [_item(f"H{n}", f"{n + 1}.00") for n in range(10)]
    with pytest.MonkeyPatch.context() as patch, OpenItemStore() as store:
        patch.setattr(open_item_store, "_CACHED", 4)
        store.add(stored)
        items = store.items
        for step in steps:
            if isinstance(step, list):
                items.read_ahead(step)
                assert [items[pos] for pos in step] == [stored[pos] for pos in step]
            else:
                assert items[step] == stored[step]
            assert len(items._cache) + len(items._older) <= 4 + 5


def test_a_clearings_items_read_ahead_outlast_the_lookups_made_while_it_is_decided(
    monkeypatch,
) -> None:
    monkeypatch.setattr(open_item_store, "_CACHED", 6)
    with OpenItemStore() as store:
        store.add([_item(f"H{n}", f"{n + 1}.00") for n in range(14)])
        items = store.items
        for pos in range(10, 14):  # what earlier clearings left in the cache
            assert items[pos].item_id == f"H{pos}"
        asked: list[str] = []
        store.db.set_trace_callback(asked.append)
        items.read_ahead([0, 1])  # this clearing's candidates
        for pos in (2, 3):  # other items, one at a time (rule 7's amounts)
            assert items[pos].item_id == f"H{pos}"
        assert len(asked) == 3
        assert [items[0].item_id, items[1].item_id] == ["H0", "H1"]  # no question asked
        assert len(asked) == 3


def test_a_lookup_index_is_made_when_that_lookup_is_first_asked_for() -> None:
    with OpenItemStore() as store:
        store.add([_item("H1", customer_email="a@x.nl"), _item("H2", "12.00")])

        def made() -> set[str]:
            sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'"
            return {name for (name,) in store.db.execute(sql)} - {"by_item_id"}

        assert store.items_with_amount(Decimal("12.00"), "EUR") == [1]
        assert made() == {"by_amount", "by_customer"}  # the second pass's, made at once
        assert store.customers_for_email("a@x.nl") == ("C1",)
        assert store.items_of_customer_with_amount("C1", Decimal("10.00")) == [0]
        assert store.customer("C1") == (None, None)
        assert made() == {"by_amount", "by_email", "by_customer_amount", "by_customer"}
