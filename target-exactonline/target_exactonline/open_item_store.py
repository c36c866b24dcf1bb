"""A run's open items in a private SQLite file, answering the engine's lookups from indexes.

A year's backfill can meet a million open items in Exact; held as objects with their hash
indexes they took about 1.7 KiB each, the largest part of the target's memory. Here they are
written page by page as Exact serves them, and the engine (``OpenItemLookup``) reads them back
by position, reference, customer, e-mail or amount through indexes made for exactly those
lookups, once every item is in (or first asked for). Where the engine only asks whether an
item is eligible, it reads the item's facts (``ItemFacts``) from a narrow table of their own.
The file lives in its own temporary directory, separate from the record spool, and is deleted
when the store is closed.

Positions are given in arrival order and every lookup returns them ascending, so the engine
plans exactly as it does over ``build_index`` of the same items.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar, overload

from pay_exact_transform import (
    ItemFacts,
    MatchProfile,
    OpenItem,
    Postings,
    check_open_item,
    new_open_item,
    normalise_email,
    profile_config,
    reference_keys,
    same_id_error,
)

# OpenItem's fields in column order (``pos`` and the lookup keys come first); ``_item`` builds
# an item from them positionally.
_FIELDS = tuple(f.name for f in dataclasses.fields(OpenItem))
_COLUMNS = ", ".join(_FIELDS)
_FACT_COLUMNS = "currency, amount, journal, invoice_date"  # ItemFacts' fields
AccountRow = tuple[str, str | None, str | None, str | None]  # id, code, name, e-mail
CustomerRow = tuple[str | None, str | None]  # code, name
_BATCH = 1000  # rows written per statement batch (one page of Exact's bulk endpoints)
_PRIMED = 8  # a reference's items are read with it when it names this few (usually one)
T = TypeVar("T")
# The indexes of the engine's lookups on the items, by name: their columns.
_LOOKUPS = {
    # Covering ``customer``: a customer's code and name without reading its item.
    "by_customer": "customer_id, pos, customer_code, customer_name",
    "by_customer_amount": "customer_id, amount_key, pos",
    "by_amount": "currency, amount_key, pos",
    "by_email": "email_key, customer_id",
}
_EAGER = ("by_customer", "by_amount")  # made with the facts, not when first asked for
_CACHED = 4096  # open items (and customers) kept as objects: a clearing's, asked for repeatedly


def amount_key(amount: Decimal) -> str:
    """Equal amounts give equal text (10.5 and 10.50 alike), as equal Decimals hash alike."""
    return "0" if not amount else str(amount.normalize())


def _row(pos: int, item: OpenItem) -> tuple[Any, ...]:
    return (
        pos,
        amount_key(item.amount),
        normalise_email(item.customer_email),
        item.item_id,
        item.invoice_number,
        item.customer_id,
        str(item.amount),
        item.currency,
        item.your_ref,
        item.description,
        item.payment_reference,
        item.customer_code,
        item.customer_name,
        item.customer_email,
        item.journal,
        item.invoice_date.isoformat() if item.invoice_date else None,
        item.due_date.isoformat() if item.due_date else None,
    )


def _item(row: Sequence[Any]) -> OpenItem:
    (item_id, number, customer, amount, currency, your_ref, description, payment_reference,
     code, name, email, journal, invoice_date, due_date) = row  # fmt: skip
    # Built without ``__init__`` (``new_open_item``): an item is built for every candidate
    # the second pass decides.
    return new_open_item(
        item_id,
        number,
        customer,
        Decimal(amount),
        currency,
        your_ref,
        description,
        payment_reference,
        code,
        name,
        email,
        journal,
        _day(invoice_date) if invoice_date else None,
        _day(due_date) if due_date else None,
    )


# A year's items carry a few hundred distinct dates: each text is parsed once.
_day = lru_cache(maxsize=4096)(date.fromisoformat)


def _postings(rows: list[tuple[int]]) -> list[int]:
    return [pos for (pos,) in rows]


class _Rows(Sequence[T]):
    """Rows of one table by position, built by ``build``, those read lately kept as objects
    (a clearing's candidates, asked for again and again while it is decided).

    Kept in two generations of at most half of ``_CACHED`` each: when the newer one is full it
    becomes the older one, and a row asked for again from the older one moves back. A
    clearing's rows, read ahead in one query, so outlast the look-ups made while it is
    decided, where emptying a single full cache would have dropped them.
    """

    def __init__(
        self,
        store: OpenItemStore,
        table: str,
        columns: str,
        build: Callable[[Sequence[Any]], T],
        query: Callable[[str, Sequence[Any]], sqlite3.Cursor],
    ) -> None:
        self._store = store
        self._build = build
        self._query = query
        self._one = f"SELECT {columns} FROM {table} WHERE pos = ?"  # noqa: S608
        self._many = (
            f"SELECT pos, {columns} FROM {table} "  # noqa: S608
            "WHERE pos IN (SELECT value FROM json_each(?))"
        )
        self._all = f"SELECT {columns} FROM {table} ORDER BY pos"  # noqa: S608
        self._cache: dict[int, T] = {}
        self._older: dict[int, T] = {}

    def __len__(self) -> int:
        return len(self._store)

    def _room(self, wanted: int) -> dict[int, T]:
        """The newer generation, made the older one first when ``wanted`` more do not fit."""
        if len(self._cache) + wanted > _CACHED // 2:
            self._older = self._cache
            self._cache = {}
        return self._cache

    def read_ahead(self, positions: list[int]) -> None:
        """Read these rows in one query and keep them for the questions that follow."""
        cache = self._cache
        wanted = [pos for pos in positions if pos not in cache]
        if not wanted:
            return
        older = self._older
        kept = [(pos, older[pos]) for pos in wanted if pos in older] if older else []
        if kept:
            wanted = [pos for pos in wanted if pos not in older]
        cache = self._room(len(wanted) + len(kept))
        cache.update(kept)
        if not wanted:
            return
        build = self._build
        for pos, *fields in self._query(self._many, (json.dumps(wanted),)):
            cache[pos] = build(fields)

    def keep(self, pos: int, row: T) -> T:
        self._room(1)[pos] = row
        return row

    @overload
    def __getitem__(self, pos: int) -> T: ...
    @overload
    def __getitem__(self, pos: slice) -> Sequence[T]: ...
    def __getitem__(self, pos: int | slice) -> T | Sequence[T]:
        if isinstance(pos, slice):
            raise TypeError("stored open items are read one position at a time")
        row = self._cache.get(pos)
        if row is not None:
            return row
        row = self._older.get(pos)
        if row is not None:
            return self.keep(pos, row)
        found = self._query(self._one, (pos,)).fetchone()
        if found is None:
            raise IndexError(pos)
        return self.keep(pos, self._build(found))

    def __iter__(self) -> Iterator[T]:
        for row in self._query(self._all, ()):
            yield self._build(row)

    def forget(self) -> None:
        self._cache.clear()
        self._older.clear()


def _facts(row: Sequence[Any]) -> ItemFacts:
    currency, amount, journal, invoice_date = row
    return ItemFacts(
        currency, Decimal(amount), journal, _day(invoice_date) if invoice_date else None
    )


class _References:
    """Reference key -> positions for one comparison rule set. The engine asks for one
    clearing's keys at once (``get_many``), so a clearing costs two queries, not one per payment;
    the facts of the items those keys name come with them, for the engine's next question (is
    the item eligible?)."""

    def __init__(self, db: sqlite3.Connection, table: str, facts: _Rows[ItemFacts]) -> None:
        self.table = table
        self._one = f"SELECT pos FROM {table} WHERE key = ? ORDER BY pos"  # noqa: S608
        self._many = (
            f"SELECT key, pos FROM {table} "  # noqa: S608
            "WHERE key IN (SELECT value FROM json_each(?)) ORDER BY key, pos"
        )
        self._db = db
        self._facts = facts

    def get(self, key: str, default: Postings | None = None) -> Postings | None:
        found = _postings(self._db.execute(self._one, (key,)).fetchall())
        if not found:
            return default
        return found[0] if len(found) == 1 else found

    def get_many(self, keys: Iterable[str]) -> dict[str, Postings]:
        """The postings of every key that has any (a key absent has none)."""
        grouped: dict[str, list[int]] = {}
        for key, pos in self._db.execute(self._many, (json.dumps(list(keys)),)):
            grouped.setdefault(key, []).append(pos)
        self._facts.read_ahead(
            [pos for found in grouped.values() if len(found) <= _PRIMED for pos in found]
        )
        return {key: found[0] if len(found) == 1 else found for key, found in grouped.items()}


class OpenItemStore:
    """Open items written once (``add``), then looked up as the engine's ``OpenItemLookup``."""

    def __init__(self, profiles: Iterable[MatchProfile] = ()) -> None:
        """``profiles``: those the run reads references with; their keys are filed as the
        items arrive (another profile's are filed on its first lookup, in a second pass)."""
        self._dir = tempfile.mkdtemp(prefix="target-exactonline-open-items-")
        self.path = Path(self._dir) / "open_items.sqlite"
        self.db = sqlite3.connect(self.path, isolation_level=None)
        # A private scratch file, rebuilt from Exact on every run: no fsync; the journal (one
        # batch, for the rollback of a refused one) in memory.
        self.db.execute("PRAGMA journal_mode = MEMORY")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -16000")  # 16 MiB of pages, whatever the size
        # Only this connection opens the file: one lock for its life, not two system calls
        # around every statement, and a page cache that stays valid between them.
        self.db.execute("PRAGMA locking_mode = EXCLUSIVE")
        self.db.execute(
            "CREATE TABLE items (pos INTEGER PRIMARY KEY, amount_key TEXT NOT NULL, "
            "email_key TEXT, item_id TEXT NOT NULL, invoice_number TEXT NOT NULL, "
            "customer_id TEXT NOT NULL, amount TEXT NOT NULL, currency TEXT NOT NULL, "
            "your_ref TEXT, description TEXT, payment_reference TEXT, customer_code TEXT, "
            "customer_name TEXT, customer_email TEXT, journal TEXT, invoice_date TEXT, "
            "due_date TEXT)"
        )
        # Exact's customers, read in bulk when payments carry e-mails (context.read_accounts).
        self.db.execute(
            "CREATE TABLE accounts (id TEXT NOT NULL, code TEXT, name TEXT, email TEXT, "
            "email_key TEXT)"
        )
        # Each receivable row's kind and amount as Exact served it, to tell the division's sign
        # convention once every row is in (receivable_signs); the rows of either convention
        # may be the ones set aside, so they wait here rather than in memory.
        self.db.execute(
            "CREATE TABLE served (invoice_number INTEGER, kind INTEGER, amount TEXT, "
            "convention TEXT)"
        )
        self._served: list[tuple[int, int, str, str]] = []
        self.db.create_function("normalise_email", 1, normalise_email, deterministic=True)
        self._count = 0
        self._next = 0
        self._quanta: dict[str, Decimal] = {}
        self._customers: dict[str, CustomerRow | None] = {}
        self._indexed = False
        self._lookups: set[str] = set()  # the lookup indexes made (``_LOOKUPS``)
        self.items: _Rows[OpenItem] = _Rows(self, "items", _COLUMNS, _item, self.db.execute)
        # What rule 2 reads of each item, in a narrow table of its own (written once the items
        # are in, ``_index``): the engine's first pass asks it of every reference's items, and
        # a year's facts fit the page cache where the whole items do not.
        self.facts: _Rows[ItemFacts] = _Rows(
            self, "facts", _FACT_COLUMNS, _facts, self._query_facts
        )
        self._tables: dict[tuple, _References] = {}
        self._filed: list[tuple[str, Callable[[OpenItem], list[str]]]] = []  # (sql, keys of)
        for profile in profiles:
            if profile.payment_fields and profile_config(profile) not in self._tables:
                self._filed.append((self._new_references(profile), reference_keys(profile)))

    def __len__(self) -> int:
        return self._count

    # -- writing ---------------------------------------------------------------------------

    def add(self, items: Iterable[OpenItem]) -> None:
        """Check and store items in arrival order; an exact repeat of an item is dropped, two
        different items with one id are an error (as ``build_index``), and then nothing of
        this call stays written."""
        if self._indexed:
            raise RuntimeError("open items are added before the first lookup")
        first = self._next
        written = 0
        try:
            batch: list[OpenItem] = []
            for item in items:
                check_open_item(item, self._quanta)
                batch.append(item)
                if len(batch) >= _BATCH:
                    written += self._write(batch)
                    batch = []
            if batch:
                written += self._write(batch)
            written -= self._drop_repeats(first)
        except BaseException:
            self._forget_from(first)
            raise
        self._count += written

    def _write(self, items: list[OpenItem]) -> int:
        """Write a batch at the next positions (ids are checked for repeats by ``add``, once
        every item is in: one sorted index, not a unique one kept up to date row by row)."""
        first = self._next
        self._next += len(items)
        positions = range(first, self._next)
        marks = ", ".join("?" * (len(_FIELDS) + 3))
        sql = f"INSERT INTO items (pos, amount_key, email_key, {_COLUMNS}) VALUES ({marks})"  # noqa: S608
        db = self.db
        db.execute("BEGIN")
        try:
            db.executemany(sql, map(_row, positions, items))
            for insert, keys_of in self._filed:
                db.executemany(
                    insert,
                    [
                        (k, pos)
                        for pos, item in zip(positions, items, strict=True)
                        for k in keys_of(item)
                    ],
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return len(items)

    def _drop_repeats(self, first: int) -> int:
        """Drop the exact repeats among the items written from position ``first`` on (the
        first copy stays); raise when one id names two different items. How many went."""
        db = self.db
        db.execute("CREATE INDEX IF NOT EXISTS by_item_id ON items (item_id, pos)")
        repeated = db.execute(
            "SELECT item_id FROM items GROUP BY item_id HAVING count(*) > 1 AND max(pos) >= ?",
            (first,),
        ).fetchall()
        dropped: list[int] = []
        for (item_id,) in repeated:
            sql = f"SELECT pos, {_COLUMNS} FROM items WHERE item_id = ? ORDER BY pos"  # noqa: S608
            (_, *kept), *copies = db.execute(sql, (item_id,)).fetchall()
            original = _item(kept)
            for pos, *fields in copies:
                if _item(fields) != original:
                    raise same_id_error(item_id)
                if pos >= first:
                    dropped.append(pos)
        self._delete(dropped)
        return len(dropped)

    def _delete(self, positions: list[int]) -> None:
        """The items at ``positions`` and their reference keys leave the store (one statement
        per table: the reference tables are not indexed by position)."""
        if not positions:
            return
        db = self.db
        chosen = "pos IN (SELECT value FROM json_each(?))"
        wanted = (json.dumps(positions),)
        db.execute("BEGIN")
        db.execute(f"DELETE FROM items WHERE {chosen}", wanted)  # noqa: S608
        for name in self._reference_tables():
            db.execute(f"DELETE FROM {name} WHERE {chosen}", wanted)  # noqa: S608
        db.execute("COMMIT")

    def _forget_from(self, first: int) -> None:
        """Undo an ``add`` that failed: what it wrote from position ``first`` on goes."""
        db = self.db
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.execute("BEGIN")
        db.execute("DELETE FROM items WHERE pos >= ?", (first,))
        for name in self._reference_tables():
            db.execute(f"DELETE FROM {name} WHERE pos >= ?", (first,))  # noqa: S608
        db.execute("COMMIT")

    def _reference_tables(self) -> list[str]:
        return [ref.table for ref in self._tables.values()]

    def _new_references(self, profile: MatchProfile) -> str:
        """A table for one comparison rule set's keys; the statement that files a key. Keys are
        appended as items arrive and indexed once, when the table is complete
        (``_index_references``)."""
        name = f"refs_{len(self._tables)}"
        self.db.execute(f"CREATE TABLE {name} (key TEXT NOT NULL, pos INTEGER NOT NULL)")
        self._tables[profile_config(profile)] = _References(self.db, name, self.facts)
        return f"INSERT INTO {name} (key, pos) VALUES (?, ?)"  # noqa: S608

    def _index_references(self, name: str) -> None:
        # Covering: a key's positions, in order, without reading the table.
        self.db.execute(f"CREATE INDEX {name}_by_key ON {name} (key, pos)")

    def note_served(self, invoice_number: int, kind: int, amount: Decimal, convention: str) -> None:
        self._served.append((invoice_number, kind, str(amount), convention))
        if len(self._served) >= _BATCH:
            self._flush_served()

    def _flush_served(self) -> None:
        insert = "INSERT INTO served VALUES (?, ?, ?, ?)"
        self.db.execute("BEGIN")
        self.db.executemany(insert, self._served)
        self.db.execute("COMMIT")
        self._served = []

    def served_counts(self) -> dict[str, int]:
        """Rows noted per convention."""
        self._flush_served()
        sql = "SELECT convention, count(*) FROM served GROUP BY convention"
        return dict(self.db.execute(sql).fetchall())

    def served_rows(self, convention: str) -> Iterator[tuple[int, int, Decimal]]:
        """(invoice number, kind, amount) of the rows noted under ``convention``, in order."""
        self._flush_served()
        sql = "SELECT invoice_number, kind, amount FROM served WHERE convention = ? ORDER BY rowid"
        for number, kind, amount in self.db.execute(sql, (convention,)):
            yield number, kind, Decimal(amount)

    def items_of_invoices(self, numbers: Iterable[str]) -> list[tuple[int, OpenItem]]:
        """(position, item) of every item of these invoice numbers, in position order."""
        found: list[tuple[int, OpenItem]] = []
        self.db.execute("CREATE INDEX IF NOT EXISTS by_invoice ON items (invoice_number)")
        for number in numbers:
            rows = self.db.execute(
                f"SELECT pos, {_COLUMNS} FROM items WHERE invoice_number = ?",  # noqa: S608
                (number,),
            )
            found.extend((pos, _item(fields)) for pos, *fields in rows)
        return sorted(found, key=lambda found: found[0])

    def revise(self, pos: int, item: OpenItem | None) -> None:
        """Give the item at ``pos`` the open amount of ``item`` (the same item with what is left
        of it), or drop it (None)."""
        if self._indexed:
            raise RuntimeError("open items are revised before the first lookup")
        if item is not None:
            check_open_item(item, self._quanta)
        if item is None:
            self._delete([pos])
            self._count -= 1
        else:
            self.db.execute(
                "UPDATE items SET amount = ?, amount_key = ? WHERE pos = ?",
                (str(item.amount), amount_key(item.amount), pos),
            )
        self.items.forget()

    def add_accounts(
        self, accounts: Iterable[tuple[str, str | None, str | None, str | None]]
    ) -> None:
        """Exact's customers as (id, code, name, e-mail), written in batches."""
        insert = "INSERT INTO accounts (id, code, name, email, email_key) VALUES (?, ?, ?, ?, ?)"
        rows = (
            (id_, code, name, email, email.strip().lower() if email else None)
            for id_, code, name, email in accounts
        )
        db = self.db
        db.execute("BEGIN")
        try:
            while batch := list(islice(rows, _BATCH)):
                db.executemany(insert, batch)
            db.execute("CREATE INDEX accounts_by_email ON accounts (email_key)")
            db.execute("CREATE INDEX accounts_by_id ON accounts (id)")
        except BaseException:
            db.execute("ROLLBACK")  # a read that failed half way leaves no customers
            raise
        db.execute("COMMIT")

    def accounts_with_email(self, email: str) -> list[AccountRow]:
        """The customers (id, code, name, e-mail) whose e-mail is ``email``, trimmed and in
        any case; in the order Exact served them."""
        sql = "SELECT id, code, name, email FROM accounts WHERE email_key = ? ORDER BY rowid"
        return self.db.execute(sql, (email.strip().lower(),)).fetchall()

    def give_items_their_customers_emails(self) -> None:
        """Every item of a customer with an e-mail in ``accounts`` carries that e-mail."""
        if self._indexed:
            raise RuntimeError("e-mails are given before the first lookup")
        # The last account read under an id wins, as it did in a dict keyed by id.
        email = (
            "SELECT a.email FROM accounts a WHERE a.id = items.customer_id "
            "ORDER BY a.rowid DESC LIMIT 1"
        )
        self.db.execute(
            f"UPDATE items SET customer_email = ({email}) WHERE ({email}) <> ''"  # noqa: S608
        )
        self.db.execute("UPDATE items SET email_key = normalise_email(customer_email)")

    def customer_ids(self) -> Iterator[str]:
        self._index("by_customer")
        for (customer,) in self.db.execute("SELECT DISTINCT customer_id FROM items"):
            yield customer

    def customer(self, customer_id: str) -> CustomerRow | None:
        """The customer's (code, name) as its first open item gives them, or None when it has
        no open item. Read from the customer index alone, and kept for the questions that
        follow (a window's customers are asked for by the check, the report and the entry)."""
        if customer_id not in self._customers:
            self.read_customers((customer_id,))
        return self._customers[customer_id]

    def read_customers(self, customer_ids: Iterable[str]) -> None:
        """Ask for these customers (``customer``) in one question, for the questions that
        follow (a clearing's customers, before its lines are checked and reported)."""
        answers = self._customers
        wanted = sorted({c for c in customer_ids if c not in answers})
        if not wanted:
            return
        self._index("by_customer")
        if len(answers) + len(wanted) > _CACHED:
            answers.clear()
        found: dict[str, CustomerRow] = {}
        sql = (
            "SELECT customer_id, customer_code, customer_name FROM items "
            "WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY customer_id, pos"
        )
        for customer_id, code, name in self.db.execute(sql, (json.dumps(wanted),)):
            found.setdefault(customer_id, (code, name))  # the first item's
        for customer_id in wanted:
            answers[customer_id] = found.get(customer_id)

    def _query_facts(self, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
        """A query on the items' facts (made with the indexes, once the items are in)."""
        self._index()
        return self.db.execute(sql, parameters)

    def _index(self, lookup: str | None = None) -> None:
        """The items' facts and the reference indexes, made once after the last item is
        written (faster than keeping them up to date row by row), with the lookups of the
        second pass; and the index of the ``lookup`` asked for, made the first time it is asked
        (a run whose payments carry no e-mail never asks for items by e-mail)."""
        if not self._indexed:
            self._indexed = True
            self.db.execute(
                "CREATE TABLE facts (pos INTEGER PRIMARY KEY, currency TEXT NOT NULL, "
                "amount TEXT NOT NULL, journal TEXT, invoice_date TEXT)"
            )
            self.db.execute(
                f"INSERT INTO facts SELECT pos, {_FACT_COLUMNS} FROM items ORDER BY pos"  # noqa: S608
            )
            for table in self._reference_tables():
                self._index_references(table)
            # Asked for in the second pass (rule 7's amounts, the customers of the lines), where
            # the run holds the most: made now, so that SQLite's sort buffer (up to the page
            # cache's size) never comes on top of that peak. The e-mail lookups are first asked
            # for in the first pass, if ever.
            for name in _EAGER:
                self.db.execute(f"CREATE INDEX {name} ON items ({_LOOKUPS[name]})")
                self._lookups.add(name)
        if lookup is not None and lookup not in self._lookups:
            self.db.execute(f"CREATE INDEX {lookup} ON items ({_LOOKUPS[lookup]})")
            self._lookups.add(lookup)

    # -- the engine's lookups (OpenItemLookup) ------------------------------------------------

    def references(self, profile: MatchProfile) -> _References:
        self._index()
        table = self._tables.get(profile_config(profile))
        if table is None:
            insert = self._new_references(profile)
            keys_of = reference_keys(profile)
            db = self.db
            # One connection reads the items and files their keys: SQLite lets a statement
            # insert into one table while another steps through a different one.
            rows = db.cursor().execute(f"SELECT pos, {_COLUMNS} FROM items ORDER BY pos")  # noqa: S608
            db.execute("BEGIN")
            batch: list[tuple[str, int]] = []
            for pos, *fields in rows:
                batch.extend((key, pos) for key in keys_of(_item(fields)))
                if len(batch) >= _BATCH:
                    db.executemany(insert, batch)
                    batch = []
            db.executemany(insert, batch)
            table = self._tables[profile_config(profile)]
            self._index_references(table.table)
            db.execute("COMMIT")
        return table

    def customers_for_email(self, email: str) -> tuple[str, ...]:
        self._index("by_email")
        rows = self.db.execute(
            "SELECT DISTINCT customer_id FROM items WHERE email_key = ? ORDER BY customer_id",
            (email,),
        )
        return tuple(customer for (customer,) in rows)

    def items_of_customer(self, customer_id: str) -> list[int]:
        self._index("by_customer")
        sql = "SELECT pos FROM items WHERE customer_id = ? ORDER BY pos"
        return _postings(self.db.execute(sql, (customer_id,)).fetchall())

    def items_of_customer_with_amount(self, customer_id: str, amount: Decimal) -> list[int]:
        self._index("by_customer_amount")
        sql = "SELECT pos FROM items WHERE customer_id = ? AND amount_key = ? ORDER BY pos"
        return _postings(self.db.execute(sql, (customer_id, amount_key(amount))).fetchall())

    def items_with_amount(self, amount: Decimal, currency: str) -> list[int]:
        self._index("by_amount")
        sql = "SELECT pos FROM items WHERE currency = ? AND amount_key = ? ORDER BY pos"
        return _postings(self.db.execute(sql, (currency, amount_key(amount))).fetchall())

    # -- the end -------------------------------------------------------------------------------

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> OpenItemStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
