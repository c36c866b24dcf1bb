"""Collects tap-pay's streams during a run and groups them per clearing.

Sinks only hand records to the collector; nothing is booked until the input ends. Singer
delivery is at-least-once, so every stream is de-duplicated on its key properties (the last
copy wins). Records that fail their schema are kept as problems of their clearing, so that one
bad record blocks only the clearing it belongs to.

The records wait on disk, not in memory: a year's backfill of a large merchant is millions of
records, and the run reads them back one window of clearings at a time (``bundles_for``). The
spool is a private SQLite file in a temporary directory (one row per record, as compact JSON,
keyed by stream and key, indexed by clearing), removed when the collector is closed. Settlements and
turnover groups, a few hundred a year, stay in memory.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

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
# Streams spooled to disk (the others are small and stay in memory).
_SPOOLED = frozenset({*_PER_CLEARING, INVOICE_LINES, TRANSACTIONS})
_FLUSH_EVERY = 2_000  # records written to the spool in one statement
# A record is spooled as msgspec JSON, faster than pickle both ways (about 2.8x to write, 1.5x to
# read a clearing record) and exact: numbers with a fraction come back as ``Decimal``, as the
# Singer reader gave them. A date-time the SDK parsed (``validate_records``) comes back as its
# ISO text, the form the conversion reads anyway.
_encode_record = msgspec.json.Encoder(decimal_format="number", enc_hook=str).encode
_decode_record = msgspec.json.Decoder(float_hook=Decimal).decode
# A record's identity: its key values, or the whole record (sorted) when it has no usable key.
_encode_sorted = msgspec.json.Encoder(decimal_format="number", enc_hook=str, order="sorted").encode


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


def _identity(record: Mapping[str, Any], key_properties: Sequence[str]) -> bytes:
    # A key with a null part (tap-pay's reportingId may be null) identifies nothing: then only
    # an identical record counts as a repeat.
    if key_properties and all(record.get(k) is not None for k in key_properties):
        return _encode_record([record[k] for k in key_properties])
    return _encode_sorted(record)


class Collector:
    """Holds the run's records until the input ends: on disk, read back per clearing."""

    def __init__(self) -> None:
        self._memory: dict[str, dict[bytes, dict[str, Any]]] = {
            s: {} for s in PAY_STREAMS - _SPOOLED
        }
        self.problems: list[RecordProblem] = []
        self.ignored: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self._dir: str | None = None
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, bytes, str | None, str | None, bytes]] = []
        self._duplicates_at_close: Counter[str] | None = None
        self._settlement_index: tuple[dict[str, Any], dict[str, Any]] | None = None

    # The spool --------------------------------------------------------------------------------

    def _spool(self) -> sqlite3.Connection:
        if self._db is None:
            self._dir = tempfile.mkdtemp(prefix="target-exactonline-")
            db = sqlite3.connect(Path(self._dir) / "records.sqlite", isolation_level=None)
            # Records are a few hundred bytes each, written in order and read back a clearing
            # at a time: large pages hold more of them per page (about a tenth less CPU to
            # spool and read a backfill than the default 4 KiB).
            db.execute("PRAGMA page_size=16384")
            # A scratch file of this process only: nothing to recover after a crash.
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            # Only this connection ever opens it: one lock for its life, not a lock and an
            # unlock (two system calls) around every statement, and its page cache stays valid.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute(
                "CREATE TABLE records (stream TEXT NOT NULL, identity BLOB NOT NULL, "
                "clearing_id TEXT, order_id TEXT, body BLOB NOT NULL, "
                "PRIMARY KEY (stream, identity)) WITHOUT ROWID"
            )
            # A clearing as the run converted it, so that later passes need not convert again.
            db.execute("CREATE TABLE converted (clearing_id TEXT PRIMARY KEY, body BLOB NOT NULL)")
            # What the engine's first pass found for each clearing's records, for its second.
            db.execute("CREATE TABLE found (clearing_id TEXT PRIMARY KEY, body BLOB NOT NULL)")
            self._db = db
        return self._db

    def _flush(self) -> None:
        if not self._pending:
            return
        db = self._spool()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream, identity) DO UPDATE "
            "SET clearing_id = excluded.clearing_id, order_id = excluded.order_id, "
            "body = excluded.body",
            self._pending,
        )
        db.execute("COMMIT")
        self._pending.clear()

    def _ready(self) -> sqlite3.Connection | None:
        """The spool with everything written and indexed for reading (None: nothing spooled)."""
        self._flush()
        if self._db is not None:
            self._db.execute("CREATE INDEX IF NOT EXISTS by_clearing ON records (clearing_id)")
            self._db.execute(
                "CREATE INDEX IF NOT EXISTS by_order ON records (order_id) "
                "WHERE order_id IS NOT NULL"
            )
        return self._db

    def close(self) -> None:
        """Remove the spool; what was counted stays readable."""
        self._duplicates_at_close = self.duplicates
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # Filling ---------------------------------------------------------------------------------

    def add(self, stream: str, record: dict[str, Any], key_properties: Sequence[str]) -> None:
        if stream not in PAY_STREAMS:
            self.ignored[stream] += 1
            return
        self.received[stream] += 1
        clearing_id = _clearing_id_of(record)
        if stream in _PER_CLEARING and not clearing_id:
            self.reject(stream, record, key_properties, f"field '{CLEARING_ID_FIELD}' is missing")
            return
        identity = _identity(record, key_properties)
        if stream not in _SPOOLED:
            self._memory[stream][identity] = record
            if stream == SETTLEMENTS:
                self._settlement_index = None
            return
        order_id = None
        if stream == TRANSACTIONS:
            value = record.get("orderId")
            order_id = str(value).strip() if isinstance(value, str | int) else None
        self._pending.append(
            (stream, identity, clearing_id if stream in _PER_CLEARING else None, order_id,
             _encode_record(record))
        )  # fmt: skip
        if len(self._pending) >= _FLUSH_EVERY:
            self._flush()

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

    @property
    def duplicates(self) -> Counter[str]:
        """Records that arrived more than once (Singer delivers at least once), per stream."""
        if self._duplicates_at_close is not None:
            return self._duplicates_at_close
        kept: Counter[str] = Counter({s: len(rows) for s, rows in self._memory.items()})
        db = self._ready()
        if db is not None:
            for stream, count in db.execute("SELECT stream, COUNT(*) FROM records GROUP BY stream"):
                kept[stream] = count
        rejected = Counter(p.stream for p in self.problems if p.stream in self.received)
        found = Counter({s: self.received[s] - kept[s] - rejected[s] for s in self.received})
        return +found

    def records(self, stream: str) -> list[dict[str, Any]]:
        if stream not in _SPOOLED:
            return list(self._memory[stream].values())
        db = self._ready()
        if db is None:
            return []
        rows = db.execute("SELECT body FROM records WHERE stream = ? ORDER BY identity", (stream,))
        return [_decode_record(body) for (body,) in rows]

    def transactions(self) -> Mapping[str, Mapping[str, Any]]:
        """The optional per-transaction enrichment by order id, read from the spool on demand."""
        return _Transactions(self._ready())

    @property
    def has_clearing_data(self) -> bool:
        return any(self.received[s] for s in (*_PER_CLEARING, SETTLEMENTS)) or any(
            p.clearing_id for p in self.problems
        )

    def _settlements(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Settlements by code, and by each clearing id they list (worked out once, not for
        every window; a settlement that arrives later starts over)."""
        if self._settlement_index is not None:
            return self._settlement_index
        by_code: dict[str, dict[str, Any]] = {}
        by_clearing: dict[str, dict[str, Any]] = {}
        for settlement in self._memory[SETTLEMENTS].values():
            code = settlement.get("code")
            if isinstance(code, str):
                by_code[code] = settlement
            for clearing_id in settlement.get("clearingIds") or []:
                if isinstance(clearing_id, str) and clearing_id:
                    by_clearing[clearing_id] = settlement
        self._settlement_index = (by_code, by_clearing)
        return by_code, by_clearing

    def clearing_ids(self) -> list[str]:
        """Every clearing the input names, in clearing id order."""
        found = {p.clearing_id for p in self.problems if p.clearing_id}
        # A settlement lists its clearings; a clearing whose own record never arrived
        # still shows up (and is then reported incomplete).
        found.update(self._settlements()[1])
        db = self._ready()
        if db is not None:
            found.update(
                cid
                for (cid,) in db.execute(
                    "SELECT DISTINCT clearing_id FROM records WHERE clearing_id IS NOT NULL"
                )
            )
        return sorted(found)

    def bundles_for(self, clearing_ids: Iterable[str]) -> dict[str, ClearingBundle]:
        """The records of these clearings, grouped per clearing, in clearing id order."""
        wanted = sorted(set(clearing_ids))
        found = {cid: ClearingBundle(clearing_id=cid) for cid in wanted}
        by_code, by_clearing = self._settlements()
        for cid, settlement in by_clearing.items():
            if cid in found:
                found[cid].settlement = settlement
        db = self._ready()
        if db is not None:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT stream, clearing_id, body FROM records "  # noqa: S608 (marks only)
                    f"WHERE clearing_id IN ({marks}) ORDER BY stream, identity",
                    part,
                )
                for stream, cid, body in rows:
                    record = _decode_record(body)
                    b = found[cid]
                    if stream == CLEARINGS:
                        b.clearing = record
                    elif stream == CLEARING_LINES:
                        b.lines.append(record)
                    else:
                        b.records.append(record)
        for problem in self.problems:
            if problem.clearing_id in found:
                found[problem.clearing_id].problems.append(problem)
        for b in found.values():
            if b.settlement is None and b.clearing is not None:
                code = b.clearing.get("settlementCode")
                if isinstance(code, str):
                    b.settlement = by_code.get(code)
        return found

    def keep_converted(self, clearing_id: str, converted: object) -> None:
        """Keep what a clearing's records were converted into, for the run's later passes."""
        db = self._spool()
        db.execute(
            "INSERT OR REPLACE INTO converted VALUES (?, ?)",
            (clearing_id, pickle.dumps(converted, protocol=pickle.HIGHEST_PROTOCOL)),
        )

    def converted(self, clearing_ids: Iterable[str]) -> dict[str, Any]:
        """What ``keep_converted`` kept for these clearings (those it kept)."""
        wanted = sorted(set(clearing_ids))
        found: dict[str, Any] = {}
        if self._db is None:
            return found
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT clearing_id, body FROM converted WHERE clearing_id IN ({marks})",  # noqa: S608
                part,
            )
            for cid, body in rows:
                found[cid] = _load(body)
        return found

    def kept_finds(self) -> MutableMapping[str, Any]:
        """A mapping on the spool, by clearing id, for what the engine's first pass found."""
        return _Found(self._spool())

    def windows(self, size: int, records: int | None = None) -> Iterator[list[str]]:
        """The clearing ids in clearing id order, in windows of at most ``size`` clearings and,
        unless one clearing alone is larger, at most ``records`` records."""
        ids = self.clearing_ids()
        counts = self.record_counts() if records is not None else {}
        window: list[str] = []
        held = 0
        for cid in ids:
            count = counts.get(cid, 0)
            if window and (
                len(window) >= max(1, size) or (records is not None and held + count > records)
            ):
                yield window
                window, held = [], 0
            window.append(cid)
            held += count
        if window:
            yield window

    def record_counts(self) -> dict[str, int]:
        """How many records each clearing has in the spool."""
        db = self._ready()
        if db is None:
            return {}
        return dict(
            db.execute(
                "SELECT clearing_id, count(*) FROM records WHERE clearing_id IS NOT NULL "
                "GROUP BY clearing_id"
            )
        )

    def bundles(self) -> dict[str, ClearingBundle]:
        """Every clearing's records (small inputs and tests; a run reads windows)."""
        return self.bundles_for(self.clearing_ids())

    def unattributed_problems(self) -> list[RecordProblem]:
        """Bad records that name no clearing (they make that clearing incomplete instead)."""
        return [p for p in self.problems if not p.clearing_id]


def _load(body: bytes) -> Any:
    # Only this process writes the spool, in a directory only its user can open (mkdtemp).
    return pickle.loads(body)  # noqa: S301


# Lists of numbers and text (the engine's ``KeptFind``): MessagePack is compact and quick.
_encode_found = msgspec.msgpack.Encoder().encode
_decode_found = msgspec.msgpack.Decoder().decode
_MISSING = object()


class _Found(MutableMapping[str, Any]):
    """Clearing id -> the engine's kept finds, in the spool rather than in memory."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __setitem__(self, clearing_id: str, finds: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO found VALUES (?, ?)", (clearing_id, _encode_found(finds))
        )

    def get(self, clearing_id: str, default: Any = None) -> Any:
        row = self._db.execute(
            "SELECT body FROM found WHERE clearing_id = ?", (clearing_id,)
        ).fetchone()
        return default if row is None else _decode_found(row[0])

    def __getitem__(self, clearing_id: str) -> Any:
        found = self.get(clearing_id, _MISSING)
        if found is _MISSING:
            raise KeyError(clearing_id)
        return found

    def __delitem__(self, clearing_id: str) -> None:
        if self._db.execute("DELETE FROM found WHERE clearing_id = ?", (clearing_id,)).rowcount:
            return
        raise KeyError(clearing_id)

    def __iter__(self) -> Iterator[str]:
        for (clearing_id,) in self._db.execute("SELECT clearing_id FROM found ORDER BY 1"):
            yield clearing_id

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM found").fetchone()[0]


class _Transactions(Mapping[str, Mapping[str, Any]]):
    """Transactions by order id, looked up in the spool (the last one spooled wins)."""

    def __init__(self, db: sqlite3.Connection | None) -> None:
        self._db = db
        self._any = (
            db is not None
            and db.execute(
                "SELECT 1 FROM records WHERE stream = ? LIMIT 1", (TRANSACTIONS,)
            ).fetchone()
            is not None
        )

    def get(self, order_id: str, default: Any = None) -> Any:
        # Without transactions in the spool (the default), every record's look-up is a miss:
        # answered at once, not by raising and catching KeyError a few hundred thousand times.
        if not self._any:
            return default
        return super().get(order_id, default)

    def __getitem__(self, order_id: str) -> Mapping[str, Any]:
        if not self._any or self._db is None:
            raise KeyError(order_id)
        row = self._db.execute(
            "SELECT body FROM records WHERE stream = ? AND order_id = ? "
            "ORDER BY identity DESC LIMIT 1",
            (TRANSACTIONS, order_id),
        ).fetchone()
        if row is None:
            raise KeyError(order_id)
        return _decode_record(row[0])

    def __iter__(self) -> Iterator[str]:
        if self._any and self._db is not None:
            for (order_id,) in self._db.execute(
                "SELECT DISTINCT order_id FROM records WHERE stream = ? AND order_id IS NOT NULL",
                (TRANSACTIONS,),
            ):
                yield order_id

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return self._any
