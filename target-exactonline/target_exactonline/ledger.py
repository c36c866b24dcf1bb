"""The booking ledger: what this target has done with each clearing, per Exact division.

One row per (Exact country, division, clearing id): the same division number exists in several
countries, and customers of both can share one store. A clearing moves ``planned`` → ``posting``
→ ``posted`` (with Exact's EntryID and entry number), or ends a run as ``failed`` or ``blocked``
with a reason and is tried again on the next run. ``posting`` is written and committed *before*
the POST to Exact, so a crash between the POST and its answer leaves a row that says "outcome
unknown": the next run looks the clearing's key up in Exact before it posts anything (DESIGN
§6).

The ledger lives in the same database as the OAuth token store (``store_url``): a SQLite file by
default, or any SQLAlchemy URL (PostgreSQL for shared use between machines). A posted row is never
overwritten by a later run.

Commits are batched where that is safe, because each one is a disk flush (a backfill books a
thousand clearings): a clearing is planned and marked ``posting`` in one commit, still before its
POST; its ``posted`` mark then waits and is committed with the next clearing's ``posting`` (or by
``flush``, which every read, every other change and the end of the run make first). A crash in
between leaves the row ``posting``, which the next run settles by looking the key up in Exact,
as after any crash between a POST and its answer. State reaches Meltano only after ``flush``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Update,
    and_,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from target_exactonline.exact_client.countries import DEFAULT_COUNTRY
from target_exactonline.store_schema import create_tables

REASON_MAX = 2000  # reasons are human text; keep rows small even when Exact sends an essay


class Status(enum.StrEnum):
    PLANNED = "planned"
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"
    BLOCKED = "blocked"


metadata = MetaData()

bookings = Table(
    "pay_exact_bookings",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("division", Integer, primary_key=True),
    Column("clearing_id", String(100), primary_key=True),
    Column("store_key", String(200), nullable=False),
    Column("booking_key", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("plan_digest", String(64), nullable=True),
    Column("settlement_date", Date, nullable=True),
    Column("entry_id", String(64), nullable=True),
    Column("entry_number", Integer, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    # Bumped on every change: a compare-and-set guard so two runs sharing one database cannot
    # both claim the same clearing for posting.
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

relations = Table(
    "pay_exact_relations",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("division", Integer, primary_key=True),
    Column("relation_key", String(300), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("account_code", String(40), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The invoices a posted clearing linked (a line with the customer and the invoice number at the
# invoice's full open amount), so the self-check can confirm Exact settled them.
links = Table(
    "pay_exact_links",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("division", Integer, primary_key=True),
    Column("clearing_id", String(100), primary_key=True),
    Column("receivable_id", String(64), primary_key=True),
    Column("invoice_number", String(40), nullable=False),
    Column("customer_id", String(64), nullable=True),
    # Decimal text: exact on every backend (SQLite has no decimal type).
    Column("amount", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class LinkedInvoice:
    clearing_id: str
    invoice_number: str
    receivable_id: str
    amount: Decimal
    currency: str
    customer_id: str | None = None
    entry_id: str | None = None  # the posted entry that linked it (from the booking row)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    division: int
    clearing_id: str
    store_key: str
    booking_key: str
    status: Status
    reason: str | None
    plan_digest: str | None
    settlement_date: date | None
    entry_id: str | None
    entry_number: int | None
    attempts: int
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def is_posted(self) -> bool:
        return self.status is Status.POSTED

    @property
    def outcome_unknown(self) -> bool:
        """A POST was started and its answer never recorded (crash or lost response)."""
        return self.status is Status.POSTING


class LedgerConflict(RuntimeError):
    """Another run changed this clearing's row between our read and our write."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _clip(reason: str | None) -> str | None:
    if reason is None:
        return None
    return reason if len(reason) <= REASON_MAX else reason[: REASON_MAX - 1] + "…"


def make_store_engine(store_url: str) -> Engine:
    """An engine for ``store_url``; a SQLite file's folder is created when missing."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        if url.database not in (None, "", ":memory:"):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # The token store may hold the file's write lock while it refreshes a token (an HTTP
        # round trip); wait for it rather than fail.
        return create_engine(url, connect_args={"timeout": 60})
    return create_engine(url, pool_pre_ping=True)


class BookingLedger:
    """Read and change the booking rows of one Exact division."""

    def __init__(
        self,
        engine: Engine,
        *,
        division: int,
        store_key: str,
        country: str = DEFAULT_COUNTRY,
        clock=_utcnow,
    ) -> None:
        self.engine = engine
        self.country = country
        self.division = division
        self.store_key = store_key
        self._clock = clock
        self._posted_pending: list[tuple[str, str, int | None]] = []
        self._links_pending: list[tuple[str, list[LinkedInvoice]]] = []
        create_tables(engine, metadata, country=country)

    @classmethod
    def from_url(
        cls, store_url: str, *, division: int, store_key: str, country: str = DEFAULT_COUNTRY
    ) -> BookingLedger:
        return cls(
            make_store_engine(store_url), division=division, store_key=store_key, country=country
        )

    def _mine(self, table: Table) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """The conditions selecting this customer's rows: its Exact country and division."""
        return (table.c.country == self.country, table.c.division == self.division)

    def close(self) -> None:
        """Commit what waits, then release the connections (the ledger owns its engine)."""
        try:
            self.flush()
        finally:
            self.engine.dispose()

    def __enter__(self) -> BookingLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Reading ---------------------------------------------------------------------------------

    def get(self, clearing_id: str) -> LedgerRow | None:
        found = self.rows([clearing_id])
        return found.get(clearing_id)

    def rows(self, clearing_ids: Iterable[str]) -> dict[str, LedgerRow]:
        """The rows for these clearings (absent ones are simply missing), in few queries."""
        self.flush()
        wanted = sorted(set(clearing_ids))
        found: dict[str, LedgerRow] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted, 500):
                query = select(bookings).where(
                    and_(*self._mine(bookings), bookings.c.clearing_id.in_(chunk))
                )
                for row in conn.execute(query):
                    parsed = _to_row(row._mapping)
                    found[parsed.clearing_id] = parsed
        return found

    def all_rows(self) -> list[LedgerRow]:
        self.flush()
        with self.engine.connect() as conn:
            query = select(bookings).where(*self._mine(bookings)).order_by(bookings.c.clearing_id)
            return [_to_row(r._mapping) for r in conn.execute(query)]

    # Changing --------------------------------------------------------------------------------

    def plan(
        self,
        clearing_id: str,
        *,
        booking_key: str,
        plan_digest: str | None,
        settlement_date: date | None,
    ) -> LedgerRow:
        """Record that the clearing is about to be booked (unless it is already posted).

        Returns the current row; a posted or posting row is returned unchanged so the caller
        can see it must not post blindly.
        """
        self.flush()
        with self.engine.begin() as conn:
            self._plan_in(
                conn,
                clearing_id,
                booking_key=booking_key,
                plan_digest=plan_digest,
                settlement_date=settlement_date,
            )
            found = self._read(conn, clearing_id)
        assert found is not None
        return found

    def _plan_in(
        self,
        conn,
        clearing_id: str,
        *,
        booking_key: str,
        plan_digest: str | None,
        settlement_date: date | None,
    ) -> None:
        now = self._clock()
        current = self._read(conn, clearing_id)
        if current is None:
            try:
                # A conflict rolls back the whole transaction, posted marks included: those rows
                # stay 'posting', and the next run finds their entries in Exact by their keys.
                conn.execute(
                    insert(bookings).values(
                        country=self.country,
                        division=self.division,
                        clearing_id=clearing_id,
                        store_key=self.store_key,
                        booking_key=booking_key,
                        status=Status.PLANNED.value,
                        reason=None,
                        plan_digest=plan_digest,
                        settlement_date=settlement_date,
                        attempts=0,
                        version=1,
                        created_at=now,
                        updated_at=now,
                    )
                )
            except IntegrityError as exc:  # another run inserted it a moment ago
                raise LedgerConflict(
                    f"clearing {clearing_id} is being booked by another run"
                ) from exc
        elif current.status in (Status.FAILED, Status.BLOCKED, Status.PLANNED):
            self._cas(
                conn,
                current,
                status=Status.PLANNED.value,
                reason=None,
                plan_digest=plan_digest,
                settlement_date=settlement_date,
                booking_key=booking_key,
                updated_at=now,
            )

    def start_posting(
        self,
        clearing_id: str,
        *,
        booking_key: str | None = None,
        plan_digest: str | None = None,
        settlement_date: date | None = None,
    ) -> LedgerRow:
        """planned/failed → posting, committed before the POST leaves this process.

        With ``booking_key`` the clearing is planned in the same transaction (one commit per
        clearing); the posted marks waiting since the previous clearing go in it too.
        """
        with self.engine.begin() as conn:
            self._write_posted(conn)
            if booking_key is not None:
                self._plan_in(
                    conn,
                    clearing_id,
                    booking_key=booking_key,
                    plan_digest=plan_digest,
                    settlement_date=settlement_date,
                )
            return self._transition_in(
                conn,
                clearing_id,
                allowed=(Status.PLANNED, Status.FAILED, Status.POSTING),
                status=Status.POSTING,
                bump_attempts=True,
            )

    def mark_posted(
        self, clearing_id: str, *, entry_id: str, entry_number: int | None
    ) -> LedgerRow:
        self.flush()
        return self._transition(
            clearing_id,
            allowed=_POSTABLE,
            status=Status.POSTED,
            entry_id=entry_id,
            entry_number=entry_number,
            reason=None,
        )

    def mark_posted_later(
        self, clearing_id: str, *, entry_id: str, entry_number: int | None
    ) -> None:
        """Posted: committed with the next clearing's ``posting``, or by ``flush``."""
        self._posted_pending.append((clearing_id, entry_id, entry_number))

    def flush(self) -> None:
        """Commit the posted marks (and the links they bring) that are waiting."""
        if self._posted_pending or self._links_pending:
            with self.engine.begin() as conn:
                self._write_posted(conn)

    def _write_posted(self, conn) -> None:
        linked, self._links_pending = self._links_pending, []
        pending, self._posted_pending = self._posted_pending, []
        for clearing_id, entry_id, entry_number in pending:
            self._transition_in(
                conn,
                clearing_id,
                allowed=_POSTABLE,
                status=Status.POSTED,
                entry_id=entry_id,
                entry_number=entry_number,
                reason=None,
            )
        for clearing_id, links_of in linked:
            self._write_links(conn, clearing_id, links_of)

    def mark_failed(self, clearing_id: str, reason: str) -> LedgerRow:
        self.flush()
        return self._transition(
            clearing_id,
            allowed=(Status.PLANNED, Status.POSTING, Status.FAILED, Status.BLOCKED),
            status=Status.FAILED,
            reason=reason,
        )

    def mark_blocked(
        self,
        clearing_id: str,
        reason: str,
        *,
        booking_key: str,
        settlement_date: date | None,
        plan_digest: str | None = None,
    ) -> LedgerRow:
        """The clearing cannot be booked as it is (bad data, inconsistent, invalid plan)."""
        row = self.get(clearing_id)
        if row is None:
            self.plan(
                clearing_id,
                booking_key=booking_key,
                plan_digest=plan_digest,
                settlement_date=settlement_date,
            )
        elif row.is_posted:
            return row
        return self._transition(
            clearing_id,
            allowed=(Status.PLANNED, Status.FAILED, Status.BLOCKED),
            status=Status.BLOCKED,
            reason=reason,
        )

    def record_posted_elsewhere(
        self,
        clearing_id: str,
        *,
        booking_key: str,
        settlement_date: date | None,
        entry_id: str,
        entry_number: int | None,
    ) -> LedgerRow:
        """Exact already holds this clearing's entry (found by its key): remember that."""
        row = self.get(clearing_id)
        if row is None:
            self.plan(
                clearing_id,
                booking_key=booking_key,
                plan_digest=None,
                settlement_date=settlement_date,
            )
        elif row.is_posted:
            return row
        return self.mark_posted(clearing_id, entry_id=entry_id, entry_number=entry_number)

    # Invoices linked by posted clearings ------------------------------------------------------

    def record_links(self, clearing_id: str, linked: Iterable[LinkedInvoice]) -> None:
        """Remember what a posted clearing linked (once; a repeat changes nothing)."""
        self.flush()
        with self.engine.begin() as conn:
            self._write_links(conn, clearing_id, list(linked))

    def record_links_later(self, clearing_id: str, linked: Iterable[LinkedInvoice]) -> None:
        """As ``record_links``, committed with the clearing's posted mark (see ``flush``)."""
        self._links_pending.append((clearing_id, list(linked)))

    def _write_links(self, conn, clearing_id: str, linked: list[LinkedInvoice]) -> None:
        if not linked:
            return
        known = {
            r.receivable_id
            for r in conn.execute(
                _KNOWN_LINKS,
                {"country": self.country, "division": self.division, "clearing_id": clearing_id},
            )
        }
        posted_at = self._clock()
        rows = []
        for link in linked:
            if link.receivable_id in known:
                continue
            known.add(link.receivable_id)
            rows.append(
                (
                    self.country,
                    self.division,
                    clearing_id,
                    link.receivable_id,
                    link.invoice_number,
                    link.customer_id,
                    str(link.amount),
                    link.currency,
                    posted_at,
                )
            )
        if rows:
            _insert_links(conn, rows)  # one statement for the clearing's links

    def recent_links(self, limit: int) -> list[LinkedInvoice]:
        """The invoices linked by posted clearings, newest first."""
        joined = links.outerjoin(
            bookings,
            and_(
                bookings.c.country == links.c.country,
                bookings.c.division == links.c.division,
                bookings.c.clearing_id == links.c.clearing_id,
            ),
        )
        query = (
            select(links, bookings.c.entry_id)
            .select_from(joined)
            .where(*self._mine(links))
            .order_by(links.c.posted_at.desc(), links.c.clearing_id, links.c.receivable_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                LinkedInvoice(
                    clearing_id=r.clearing_id,
                    invoice_number=r.invoice_number,
                    receivable_id=r.receivable_id,
                    amount=Decimal(r.amount),
                    currency=r.currency,
                    customer_id=r.customer_id,
                    entry_id=r.entry_id,
                )
                for r in conn.execute(query)
            ]

    # Relations created in Exact ---------------------------------------------------------------

    def known_relation(self, relation_key: str) -> tuple[str, str | None] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(relations.c.account_id, relations.c.account_code).where(
                    and_(
                        *self._mine(relations),
                        relations.c.relation_key == relation_key,
                    )
                )
            ).first()
        return (row.account_id, row.account_code) if row else None

    def remember_relation(
        self, relation_key: str, *, account_id: str, account_code: str | None
    ) -> None:
        self.flush()
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    select(relations.c.account_id).where(
                        and_(
                            *self._mine(relations),
                            relations.c.relation_key == relation_key,
                        )
                    )
                ).first()
                is None
            ):
                conn.execute(
                    insert(relations).values(
                        country=self.country,
                        division=self.division,
                        relation_key=relation_key,
                        account_id=account_id,
                        account_code=account_code,
                        created_at=self._clock(),
                    )
                )

    # Internals -------------------------------------------------------------------------------

    def _read(self, conn, clearing_id: str) -> LedgerRow | None:
        row = conn.execute(
            _READ_BOOKING,
            {"country": self.country, "division": self.division, "clearing_id": clearing_id},
        ).first()
        return _to_row(row._mapping) if row else None

    def _cas(self, conn, current: LedgerRow, **values: object) -> None:
        params = {f"v_{name}": value for name, value in values.items()}
        result = conn.execute(
            _cas_statement(tuple(values)),
            {
                "w_country": self.country,
                "w_division": self.division,
                "w_clearing_id": current.clearing_id,
                "w_version": current.version,
                "v_version": current.version + 1,
                **params,
            },
        )
        if result.rowcount != 1:
            raise LedgerConflict(
                f"clearing {current.clearing_id} was changed by another run; not touching it"
            )

    def _transition(
        self,
        clearing_id: str,
        *,
        allowed: tuple[Status, ...],
        status: Status,
        bump_attempts: bool = False,
        **values: object,
    ) -> LedgerRow:
        self.flush()
        with self.engine.begin() as conn:
            return self._transition_in(
                conn, clearing_id, allowed=allowed, status=status, bump_attempts=bump_attempts,
                **values,
            )  # fmt: skip

    def _transition_in(
        self,
        conn,
        clearing_id: str,
        *,
        allowed: tuple[Status, ...],
        status: Status,
        bump_attempts: bool = False,
        **values: object,
    ) -> LedgerRow:
        current = self._read(conn, clearing_id)
        if current is None:
            raise KeyError(f"clearing {clearing_id} is not in the booking ledger")
        if current.status not in allowed:
            raise LedgerConflict(
                f"clearing {clearing_id} is {current.status.value}; it cannot become {status.value}"
            )
        if "reason" in values:
            values["reason"] = _clip(values["reason"])  # type: ignore[arg-type]
        attempts = current.attempts + (1 if bump_attempts else 0)
        now = self._clock()
        self._cas(conn, current, status=status.value, attempts=attempts, updated_at=now, **values)
        # The row as written (the compare-and-set succeeded, so nothing else changed it).
        return replace(
            current,
            status=status,
            attempts=attempts,
            version=current.version + 1,
            updated_at=_aware(now),
            **values,  # type: ignore[arg-type]
        )


_POSTABLE = (Status.PLANNED, Status.POSTING, Status.FAILED, Status.BLOCKED)
# Built once: a clearing's row is read several times per clearing, and building the statement
# (and its cache key) each time cost more than running it.
_READ_BOOKING = select(bookings).where(
    and_(
        bookings.c.country == bindparam("country"),
        bookings.c.division == bindparam("division"),
        bookings.c.clearing_id == bindparam("clearing_id"),
    )
)


_CAS_STATEMENTS: dict[tuple[str, ...], Update] = {}


def _cas_statement(columns: tuple[str, ...]) -> Update:
    """The compare-and-set update of these columns, built once per set of columns (building
    a statement and its cache key cost more than running it)."""
    found = _CAS_STATEMENTS.get(columns)
    if found is None:
        found = _CAS_STATEMENTS[columns] = (
            update(bookings)
            .where(
                and_(
                    bookings.c.country == bindparam("w_country"),
                    bookings.c.division == bindparam("w_division"),
                    bookings.c.clearing_id == bindparam("w_clearing_id"),
                    bookings.c.version == bindparam("w_version"),
                )
            )
            .values({name: bindparam(f"v_{name}") for name in (*columns, "version")})
        )
    return found


_KNOWN_LINKS = select(links.c.receivable_id).where(
    and_(
        links.c.country == bindparam("country"),
        links.c.division == bindparam("division"),
        links.c.clearing_id == bindparam("clearing_id"),
    )
)


_LINK_COLUMNS = (
    "country",
    "division",
    "clearing_id",
    "receivable_id",
    "invoice_number",
    "customer_id",
    "amount",
    "currency",
    "posted_at",
)


def _insert_links(conn, rows: list[tuple[object, ...]]) -> None:
    """``conn.execute(insert(links), rows)`` for rows of ``_LINK_COLUMNS``, at a fraction of its
    cost per row (a backfill's clearing has hundreds of links): the statement is compiled once
    per dialect and the rows go to the driver's ``executemany`` as they are. Only ``posted_at``
    needs the column type's conversion, and it is the same in every row."""
    dialect = conn.dialect
    sql, order, names = _links_insert(dialect)
    convert = links.c.posted_at.type.bind_processor(dialect)
    if convert is not None:
        posted_at = convert(rows[0][-1])
        rows = [(*row[:-1], posted_at) for row in rows]
    if names is None:  # positional parameters, in ``order``
        params: list = (
            rows
            if order == tuple(range(len(order)))
            else [tuple(row[i] for i in order) for row in rows]
        )
    else:
        params = [dict(zip(names, (row[i] for i in order), strict=True)) for row in rows]
    conn.exec_driver_sql(sql, params)


_LINKS_INSERTS: dict[tuple[str, str], tuple[str, tuple[int, ...], list[str] | None]] = {}


def _links_insert(dialect) -> tuple[str, tuple[int, ...], list[str] | None]:
    """The links insert for ``dialect``: its SQL, the ``_LINK_COLUMNS`` position of each
    parameter, and the parameter names where the driver takes them by name (else None)."""
    key = (dialect.name, dialect.paramstyle)
    found = _LINKS_INSERTS.get(key)
    if found is None:
        compiled = insert(links).compile(dialect=dialect, column_keys=list(_LINK_COLUMNS))
        names = list(compiled.positiontup or compiled.binds)
        order = tuple(_LINK_COLUMNS.index(compiled.binds[name].key) for name in names)
        found = _LINKS_INSERTS[key] = (
            compiled.string,
            order,
            None if compiled.positional else names,
        )
    return found


def _to_row(m) -> LedgerRow:
    return LedgerRow(
        division=m["division"],
        clearing_id=m["clearing_id"],
        store_key=m["store_key"],
        booking_key=m["booking_key"],
        status=Status(m["status"]),
        reason=m["reason"],
        plan_digest=m["plan_digest"],
        settlement_date=m["settlement_date"],
        entry_id=m["entry_id"],
        entry_number=m["entry_number"],
        attempts=m["attempts"],
        version=m["version"],
        created_at=_aware(m["created_at"]),
        updated_at=_aware(m["updated_at"]),
    )


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone columns; we only ever store UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
