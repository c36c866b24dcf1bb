"""What any Singer target sees: one SCHEMA message per stream, before its records, and stream
metadata (keys, replication keys, formats) that targets act on."""

from __future__ import annotations

import copy
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from typing import Any

import pytest
from pay_exact_sandbox.generator import GeneratorParams, RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from singer_sdk import Stream
from tap_pay.singer_output import SchemaOncePerStream
from tap_pay.streams import InvoiceLinesStream, SettlementsStream
from tap_pay.tap import TapPay

ALL_STREAMS = {
    "settlements",
    "clearings",
    "clearing_lines",
    "clearing_records",
    "transactions",
    "invoice_lines",
    "turnover_groups",
}
# Several settlements, several clearings each (two revenue groups), several records each: every
# child stream is synced many times, once per parent record.
MANY_PARENTS = GeneratorParams(
    seed=13,
    days=4,
    clearings_per_day=2,
    payments_per_clearing=(3, 6),
    revenue_groups=(RevenueGroup("Webshop", "woocommerce"), RevenueGroup("Winkel", "lightspeed")),
)


def test_each_stream_sends_exactly_one_schema_before_its_records(
    pay_sandbox_factory: Callable, sandbox_config: Callable, run_tap: Callable
):
    sandbox: PaySandbox = pay_sandbox_factory(MANY_PARENTS)
    run = run_tap(sandbox_config(sandbox, enrich_transactions=True), streams=ALL_STREAMS)

    schemas = Counter(m["stream"] for m in run.messages if m["type"] == "SCHEMA")
    assert schemas == dict.fromkeys(ALL_STREAMS, 1)
    # The children really were synced once per parent record, so the count above means something.
    assert len(run.records["clearings"]) > len(run.records["settlements"]) > 1
    assert len(run.records["transactions"]) > len(run.records["clearings"])
    first_schema = {}
    for index, message in enumerate(run.messages):
        if message["type"] == "SCHEMA":
            first_schema[message["stream"]] = index
        elif message["type"] == "RECORD":
            assert message["stream"] in first_schema, f"{message['stream']} record before schema"


def test_everything_but_the_repeated_schemas_is_what_the_sdk_writes(
    pay_sandbox_factory: Callable,
    sandbox_config: Callable,
    run_tap: Callable,
    monkeypatch: pytest.MonkeyPatch,
):
    sandbox: PaySandbox = pay_sandbox_factory(MANY_PARENTS)
    config = sandbox_config(sandbox, enrich_transactions=True)
    ours = run_tap(config, streams=ALL_STREAMS)
    # The SDK's own way: a SCHEMA message every time a stream is synced.
    monkeypatch.setattr(SchemaOncePerStream, "_write_schema_message", Stream._write_schema_message)
    sdk = run_tap(config, streams=ALL_STREAMS)

    def without_schemas(run: Any) -> list[str]:
        lines = [line for line in run.stdout.splitlines() if '"type":"SCHEMA"' not in line]
        return [re.sub(r',"time_extracted":"[^"]*"', "", line) for line in lines]

    assert without_schemas(ours) == without_schemas(sdk)
    assert sum('"type":"SCHEMA"' in line for line in sdk.stdout.splitlines()) > 100
    sdk_schemas = {m["stream"]: m for m in sdk.messages if m["type"] == "SCHEMA"}
    assert {m["stream"]: m for m in ours.messages if m["type"] == "SCHEMA"} == sdk_schemas


def test_only_a_schema_that_changed_is_sent_again(
    pay_sandbox: PaySandbox, sandbox_config: Callable, monkeypatch: pytest.MonkeyPatch
):
    stream = TapPay(config=sandbox_config(pay_sandbox)).streams["clearing_records"]
    (original,) = stream._generate_schema_messages()
    changed = copy.deepcopy(original)
    changed.schema["properties"]["note"] = {"type": ["string", "null"]}
    # What the SDK would generate on each sync: the same schema, then a changed one, then back.
    generated = iter([original, copy.deepcopy(original), changed, changed, original])
    monkeypatch.setattr(stream, "_generate_schema_messages", lambda: [next(generated)])
    out = io.StringIO()
    with redirect_stdout(out):
        for _ in range(5):
            stream._write_schema_message()
    sent = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [("note" in m["schema"]["properties"]) for m in sent] == [False, True, False]
    assert {m["type"] for m in sent} == {"SCHEMA"}


def test_a_second_tap_in_the_same_process_sends_its_own_schemas(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    config = sandbox_config(pay_sandbox)
    first = run_tap(config, streams={"settlements", "clearings"})
    second = run_tap(config, streams={"settlements", "clearings"})
    for run in (first, second):
        assert Counter(m["stream"] for m in run.messages if m["type"] == "SCHEMA") == {
            "settlements": 1,
            "clearings": 1,
        }


def discovered(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    catalog = TapPay(config=config, validate_config=False).catalog_dict
    return {entry["tap_stream_id"]: entry for entry in catalog["streams"]}


def test_incremental_streams_are_emitted_sorted_whatever_order_pay_answers_in(
    pay_sandbox_factory: Callable,
    sandbox_config: Callable,
    run_tap: Callable,
    monkeypatch: pytest.MonkeyPatch,
):
    # Pay. documents no order; answer newest first to show the tap does not rely on one.
    fetch = SettlementsStream._fetch
    monkeypatch.setattr(
        SettlementsStream, "_fetch", lambda self, group: reversed(list(fetch(self, group)))
    )
    request = InvoiceLinesStream.request_records
    monkeypatch.setattr(
        InvoiceLinesStream,
        "request_records",
        lambda self, context: reversed(list(request(self, context))),
    )
    sandbox = pay_sandbox_factory(MANY_PARENTS)
    run = run_tap(sandbox_config(sandbox), streams={"settlements", "invoice_lines"})

    settlements = [(r["settlementDate"], r["code"]) for r in run.records["settlements"]]
    fees = [(r["date"], r["code"]) for r in run.records["invoice_lines"]]
    assert len(set(settlements)) > 2
    assert len(set(fees)) > 2
    assert settlements == sorted(settlements)
    assert fees == sorted(fees)


def test_bookmarks_are_resumable_mid_run_and_nothing_warns_otherwise(
    pay_sandbox_factory: Callable,
    sandbox_config: Callable,
    run_tap: Callable,
    monkeypatch: pytest.MonkeyPatch,
):
    sandbox = pay_sandbox_factory(MANY_PARENTS)
    monkeypatch.setattr(SettlementsStream, "STATE_MSG_FREQUENCY", 2)
    run = run_tap(sandbox_config(sandbox), streams={"settlements", "invoice_lines"})

    assert "not resumable" not in run.stderr
    for state in run.states:
        for stream in ("settlements", "invoice_lines"):
            assert "progress_markers" not in state["bookmarks"].get(stream, {}), state
    # A STATE message written mid-run carries a bookmark a rerun could start from.
    mid_run = [
        s["bookmarks"]["settlements"]["replication_key_value"]
        for s in run.states
        if "replication_key_value" in s.get("bookmarks", {}).get("settlements", {})
    ]
    dates = sorted({r["settlementDate"] for r in run.records["settlements"]})
    assert dates[0] <= min(mid_run) < dates[-1]


# The keys targets upsert on; changing one breaks every warehouse that loaded the tap before.
KEYS = {
    "settlements": ["code"],
    "clearings": ["clearingId"],
    "clearing_lines": ["code"],
    "clearing_records": ["clearingId", "reportingId"],
    "transactions": ["id"],
    "invoice_lines": ["code"],
    "turnover_groups": ["code"],
}
REPLICATION_KEYS = {"settlements": "settlementDate", "invoice_lines": "date"}


def properties(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property, nested ones (objects, array items) named with dots."""
    for name, spec in schema.get("properties", {}).items():
        yield prefix + name, spec
        yield from properties(spec, f"{prefix}{name}.")
        if "items" in spec:
            yield from properties(spec["items"], f"{prefix}{name}[].")


def test_discovery_declares_stable_keys_replication_keys_and_formats():
    streams = discovered({"token_code": "AT-1234-5678", "api_token": "t" * 40})
    assert {name: list(entry["key_properties"]) for name, entry in streams.items()} == KEYS
    for name, entry in streams.items():
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert entry.get("replication_key") == REPLICATION_KEYS.get(name), name
        if name in REPLICATION_KEYS:
            assert root["valid-replication-keys"] == [REPLICATION_KEYS[name]]
            assert entry["replication_method"] == "INCREMENTAL"
        for key in KEYS[name]:
            assert key in entry["schema"]["required"], f"{name}.{key} may be missing"

        for path, spec in properties(entry["schema"]):
            types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
            leaf = path.rsplit(".", 1)[-1].removeprefix("[]")
            assert spec.get("description"), f"{name}.{path} is not described"
            if "number" in types:
                # Money says how exact it is; anything else says it is not money.
                text = spec["description"]
                assert "minor unit" in text or "not money" in text, f"{name}.{path}: {text}"
                assert "multipleOf" not in spec, f"{name}.{path}: validators divide floats"
            if leaf.endswith("Date") or leaf == "date":  # transactionDate is a timestamp
                assert spec.get("format") in {"date", "date-time"}, f"{name}.{path} is a date"
            if leaf.endswith("At") or leaf in {"created", "modified", "expire"}:
                assert spec.get("format") == "date-time", f"{name}.{path} is a timestamp"
            if "array" in types:
                assert spec["items"].get("description"), f"{name}.{path} items not described"
                assert "array" in spec["description"].lower(), f"{name}.{path}"


def test_a_bookmark_stored_as_a_timestamp_or_under_another_key_still_resumes(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    # States written by hand or by another tap version: a timestamp for the date key, and a
    # bookmark under a key the stream no longer uses. The sorted streams compare each record
    # with the stored value, so both must read as the dates they mean.
    dates = sorted(s["settlementDate"] for s in pay_sandbox.merchant.pay["settlements"])
    state = {
        "bookmarks": {
            "settlements": {
                "replication_key": "settlementDate",
                "replication_key_value": f"{dates[1]}T00:00:00+00:00",
            },
            "invoice_lines": {"replication_key": "createdAt", "replication_key_value": "2099"},
        }
    }
    run = run_tap(sandbox_config(pay_sandbox, lookback_days=0), state=state)
    assert {r["settlementDate"] for r in run.records["settlements"]} == set(dates[1:])
    assert run.bookmark("settlements") == dates[-1]
    assert run.records["invoice_lines"]
    assert run.state["bookmarks"]["invoice_lines"]["replication_key"] == "date"
