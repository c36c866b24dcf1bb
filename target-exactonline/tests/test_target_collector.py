"""The collector groups tap-pay's streams per clearing and de-duplicates repeated records."""

from __future__ import annotations

from decimal import Decimal

from target_exactonline.collector import Collector


def test_records_are_grouped_per_clearing_and_duplicates_collapse() -> None:
    c = Collector()
    c.add("settlements", {"code": "S1", "clearingIds": ["C1"]}, ["code"])
    c.add("clearings", {"clearingId": "C1", "settlementCode": "S1"}, ["clearingId"])
    c.add("clearings", {"clearingId": "C2", "settlementCode": "S2"}, ["clearingId"])
    c.add("clearing_lines", {"code": "L1", "clearingId": "C1"}, ["code"])
    c.add("clearing_lines", {"code": "L1", "clearingId": "C1"}, ["code"])  # re-sent
    for n in range(3):
        rec = {"clearingId": "C1", "orderId": f"O{n}", "amount": Decimal("1.00")}
        c.add("clearing_records", rec, ["clearingId", "orderId"])
    c.add(
        "clearing_records",
        {"clearingId": "C1", "orderId": "O1", "amount": Decimal(2)},
        ["clearingId", "orderId"],
    )

    bundles = c.bundles()
    assert list(bundles) == ["C1", "C2"]
    one = bundles["C1"]
    assert one.settlement is not None
    assert one.settlement["code"] == "S1"
    assert len(one.lines) == 1
    assert len(one.records) == 3
    assert {r["orderId"]: r["amount"] for r in one.records}["O1"] == Decimal(2)  # last copy wins
    assert c.duplicates["clearing_lines"] == 1
    assert c.duplicates["clearing_records"] == 1
    assert bundles["C2"].settlement is None
    assert bundles["C2"].records == []


def test_settlement_is_found_through_the_clearing_when_not_nested() -> None:
    c = Collector()
    c.add("settlements", {"code": "S9"}, ["code"])
    c.add("clearings", {"clearingId": "C9", "settlementCode": "S9"}, ["clearingId"])
    assert c.bundles()["C9"].settlement == {"code": "S9"}


def test_unknown_streams_are_counted_and_ignored() -> None:
    c = Collector()
    c.add("test_array_data", {"id": 1}, ["id"])
    assert c.ignored["test_array_data"] == 1
    assert not c.has_clearing_data
    assert c.bundles() == {}


def test_rejected_and_unkeyed_records_become_problems_of_their_clearing() -> None:
    c = Collector()
    c.reject(
        "clearing_records",
        {"clearingId": "C1", "orderId": "O7"},
        ["orderId"],
        "amount is not a number",
    )
    c.add("clearing_lines", {"code": "L5", "amount": Decimal(1)}, ["code"])  # no clearing id
    problems = c.bundles()["C1"].problems
    assert [p.describe() for p in problems] == [
        "clearing_records record orderId=O7: amount is not a number"
    ]
    (lost,) = c.unattributed_problems()
    assert lost.record == "code=L5"
    assert "clearingId" in lost.message
    assert c.has_clearing_data


def test_records_with_a_null_key_part_are_kept_apart() -> None:
    c = Collector()
    keys = ["clearingId", "reportingId"]
    c.add("clearing_records", {"clearingId": "C1", "reportingId": None, "orderId": "A"}, keys)
    c.add("clearing_records", {"clearingId": "C1", "reportingId": None, "orderId": "B"}, keys)
    c.add("clearing_records", {"clearingId": "C1", "reportingId": None, "orderId": "B"}, keys)
    assert sorted(r["orderId"] for r in c.bundles()["C1"].records) == ["A", "B"]
    assert c.duplicates["clearing_records"] == 1


def test_windows_close_at_their_clearing_count_or_their_record_count() -> None:
    c = Collector()
    for cid, payments in (("C1", 3), ("C2", 1), ("C3", 5), ("C4", 1), ("C5", 1)):
        for n in range(payments):
            rec = {"clearingId": cid, "orderId": f"O{n}"}
            c.add("clearing_records", rec, ["clearingId", "orderId"])
    assert list(c.windows(2)) == [["C1", "C2"], ["C3", "C4"], ["C5"]]
    # At most 4 records, unless one clearing alone has more (C3 then stands alone).
    assert list(c.windows(16, records=4)) == [["C1", "C2"], ["C3"], ["C4", "C5"]]
    assert list(c.windows(1, records=100)) == [["C1"], ["C2"], ["C3"], ["C4"], ["C5"]]


def test_kept_finds_wait_in_the_spool_and_go_with_it() -> None:
    c = Collector()
    kept = c.kept_finds()
    finds = [[["ORD1"], [3], 1, None, [3], []], [[], [], 1, "no_reference", [], ["2026"]]]
    kept["C1"] = finds
    kept["C1"] = finds[:1]  # counted again: the last copy wins
    kept["C2"] = finds
    assert kept["C1"] == finds[:1]
    assert kept.get("C2") == finds
    assert kept.get("C3") is None
    assert list(kept) == ["C1", "C2"]
    del kept["C2"]
    assert len(kept) == 1
    c.close()
    assert c._dir is None  # the spool, and the finds in it, are gone
