"""Collects tap-pay's streams during a run and groups them per clearing.

Sinks only hand records to the collector; nothing is booked until the input ends. Singer
delivery is at-least-once, so every stream is de-duplicated on its key properties (the last
copy wins). Records that fail their schema are kept as problems of their clearing, so that one
bad record blocks only the clearing it belongs to.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SETTLEMENTS = "settlements"
CLEARINGS = "clearings"
CLEARING_LINES = "clearing_lines"
CLEARING_RECORDS = "clearing_records"
INVOICE_LINES = "invoice_lines"
TURNOVER_GROUPS = "turnover_groups"
TRANSACTIONS = "transactions"

PAY_STREAMS = frozenset(
    {
        SETTLEMENTS,
        CLEARINGS,
        CLEARING_LINES,
        CLEARING_RECORDS,
        INVOICE_LINES,
        TURNOVER_GROUPS,
        TRANSACTIONS,
    }
)

# Streams whose records belong to one clearing, and the field naming it.
CLEARING_ID_FIELD = "clearingId"
_PER_CLEARING = (CLEARINGS, CLEARING_LINES, CLEARING_RECORDS)


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """A record that could not be used, with what is wrong in plain words."""

    stream: str
    record: str  # how to find the record: its key, else a short form of it
    clearing_id: str | None
    message: str

    def describe(self) -> str:
        return f"{self.stream} record {self.record}: {self.message}"


@dataclass(slots=True)
class ClearingBundle:
    """Everything that arrived for one clearing."""

    clearing_id: str
    clearing: dict[str, Any] | None = None
    settlement: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)


def record_label(stream: str, record: Mapping[str, Any], key_properties: Sequence[str]) -> str:
    """A short, stable way to name a record in messages: its key values."""
    if key_properties and all(k in record for k in key_properties):
        return ", ".join(f"{k}={record[k]}" for k in key_properties)
    for k in ("code", "id", "reportingId", "orderId", CLEARING_ID_FIELD):
        if record.get(k) not in (None, ""):
            return f"{k}={record[k]}"
    text = json.dumps(record, default=str, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _clearing_id_of(record: Mapping[str, Any]) -> str | None:
    value = record.get(CLEARING_ID_FIELD)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _identity(record: Mapping[str, Any], key_properties: Sequence[str]) -> str:
    # A key with a null part (tap-pay's reportingId may be null) identifies nothing: then only
    # an identical record counts as a repeat.
    if key_properties and all(record.get(k) is not None for k in key_properties):
        return json.dumps([record[k] for k in key_properties], default=str)
    return json.dumps(record, default=str, sort_keys=True)


class Collector:
    """Holds the run's records until the input ends."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in PAY_STREAMS}
        self.problems: list[RecordProblem] = []
        self.duplicates: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.received: Counter[str] = Counter()

    # Filling ---------------------------------------------------------------------------------

    def add(self, stream: str, record: dict[str, Any], key_properties: Sequence[str]) -> None:
        if stream not in PAY_STREAMS:
            self.ignored[stream] += 1
            return
        self.received[stream] += 1
        if stream in _PER_CLEARING and not _clearing_id_of(record):
            self.reject(stream, record, key_properties, f"field '{CLEARING_ID_FIELD}' is missing")
            return
        identity = _identity(record, key_properties)
        bucket = self._records[stream]
        if identity in bucket:
            self.duplicates[stream] += 1
        bucket[identity] = record

    def reject(
        self,
        stream: str,
        record: Mapping[str, Any],
        key_properties: Sequence[str],
        message: str,
    ) -> None:
        """Keep a record that failed its schema as a problem of its clearing."""
        self.problems.append(
            RecordProblem(
                stream=stream,
                record=record_label(stream, record, key_properties),
                clearing_id=_clearing_id_of(record),
                message=message,
            )
        )

    # Reading ---------------------------------------------------------------------------------

    def records(self, stream: str) -> list[dict[str, Any]]:
        return list(self._records[stream].values())

    @property
    def has_clearing_data(self) -> bool:
        return any(self._records[s] for s in (*_PER_CLEARING, SETTLEMENTS)) or any(
            p.clearing_id for p in self.problems
        )

    def bundles(self) -> dict[str, ClearingBundle]:
        """Records grouped per clearing id, in clearing id order."""
        found: dict[str, ClearingBundle] = {}

        def bundle(clearing_id: str) -> ClearingBundle:
            if clearing_id not in found:
                found[clearing_id] = ClearingBundle(clearing_id=clearing_id)
            return found[clearing_id]

        settlements_by_code: dict[str, dict[str, Any]] = {}
        for settlement in self.records(SETTLEMENTS):
            code = settlement.get("code")
            if isinstance(code, str):
                settlements_by_code[code] = settlement
            # A settlement lists its clearings; a clearing whose own record never arrived
            # still shows up (and is then reported incomplete).
            for clearing_id in settlement.get("clearingIds") or []:
                if isinstance(clearing_id, str) and clearing_id:
                    bundle(clearing_id).settlement = settlement

        for clearing in self.records(CLEARINGS):
            bundle(str(clearing[CLEARING_ID_FIELD])).clearing = clearing
        for line in self.records(CLEARING_LINES):
            bundle(str(line[CLEARING_ID_FIELD])).lines.append(line)
        for rec in self.records(CLEARING_RECORDS):
            bundle(str(rec[CLEARING_ID_FIELD])).records.append(rec)
        for problem in self.problems:
            if problem.clearing_id:
                bundle(problem.clearing_id).problems.append(problem)

        for b in found.values():
            if b.settlement is None and b.clearing is not None:
                code = b.clearing.get("settlementCode")
                if isinstance(code, str):
                    b.settlement = settlements_by_code.get(code)
        return dict(sorted(found.items()))

    def unattributed_problems(self) -> list[RecordProblem]:
        """Bad records that name no clearing (they make that clearing incomplete instead)."""
        return [p for p in self.problems if not p.clearing_id]
