"""Each run's outcome per customer, so that repeated failures can be told from one bad night.

One row per finished run in ``pay_exact_runs``, in the target's store (``store_url``: the same
database as the booking ledger and the tokens, so a customer's runs can move between machines).
The rows of one customer (store key, Exact country and division) since its last successful run
form the *streak* of failed runs. A streak sends at most one notification: the row of the run
that sent it records when, and a successful run ends the streak.

Only runs that had clearings to book and wrote to Exact count; a dry run or a run without any
clearings in its input leaves the streak as it is (see ``notify.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from target_exactonline.exact_client.countries import DEFAULT_COUNTRY
from target_exactonline.ledger import make_store_engine
from target_exactonline.store_schema import create_tables

SUMMARY_MAX = 4000  # a summary is a few lines of text; keep rows small whatever an error says
KEEP_ROWS = 50  # older rows before the last success are pruned: this is not an audit log
SHOWN_FAILURES = 10  # the newest failures a streak carries (for the notification's text)

metadata = MetaData()

runs = Table(
    "pay_exact_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("store_key", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("division", Integer, nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("summary", Text, nullable=True),
    # Set on the failed run that sent the streak's notification.
    Column("notified_at", DateTime(timezone=True), nullable=True),
    Index("ix_pay_exact_runs_customer", "store_key", "division", "id"),
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    row_id: int
    run_id: str
    finished_at: datetime
    succeeded: bool
    summary: str | None
    notified_at: datetime | None


@dataclass(frozen=True, slots=True)
class Streak:
    """The failed runs since the customer's last successful run."""

    count: int
    recent: tuple[RunOutcome, ...]  # newest first, at most SHOWN_FAILURES
    since: datetime | None  # when the first failed run of the streak finished
    notified_at: datetime | None  # when this streak's notification went out, if it did

    @property
    def notified(self) -> bool:
        return self.notified_at is not None

    @property
    def latest(self) -> RunOutcome | None:
        return self.recent[0] if self.recent else None


class RunHistory:
    """Record run outcomes of one customer and read its current streak."""

    def __init__(
        self,
        engine: Engine,
        *,
        store_key: str,
        division: int,
        country: str = DEFAULT_COUNTRY,
        clock: Callable[[], datetime] = _utcnow,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self.store_key = store_key
        self.country = country
        self.division = division
        self._clock = clock
        self._owns_engine = owns_engine
        create_tables(engine, metadata, country=country)

    @classmethod
    def from_url(
        cls,
        store_url: str,
        *,
        store_key: str,
        division: int,
        country: str = DEFAULT_COUNTRY,
        clock: Callable[[], datetime] = _utcnow,
    ) -> RunHistory:
        return cls(
            make_store_engine(store_url),
            store_key=store_key,
            division=division,
            country=country,
            clock=clock,
            owns_engine=True,
        )

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> RunHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def record(self, *, run_id: str, succeeded: bool, summary: str | None = None) -> Streak:
        """Store one finished run; returns the streak as it stands after it."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(runs).values(
                    store_key=self.store_key,
                    country=self.country,
                    division=self.division,
                    run_id=run_id[:40],
                    finished_at=self._clock(),
                    succeeded=succeeded,
                    summary=_clip(summary),
                    notified_at=None,
                )
            )
            if succeeded:
                self._prune(conn)
        return self.streak()

    def mark_notified(self, streak: Streak) -> None:
        """Remember that ``streak`` sent its notification (on its newest failed run)."""
        latest = streak.latest
        if latest is None:
            raise ValueError("an empty streak has nothing to notify about")
        with self.engine.begin() as conn:
            conn.execute(
                update(runs).where(runs.c.id == latest.row_id).values(notified_at=self._clock())
            )

    # -- reading ------------------------------------------------------------------------------

    def streak(self) -> Streak:
        mine = self._mine()
        with self.engine.connect() as conn:
            last_ok = conn.execute(
                select(func.max(runs.c.id)).where(and_(mine, runs.c.succeeded.is_(True)))
            ).scalar()
            current = and_(mine, runs.c.id > (last_ok or 0))
            count, since, notified_at = conn.execute(
                select(
                    func.count(runs.c.id),
                    func.min(runs.c.finished_at),
                    func.min(runs.c.notified_at),
                ).where(current)
            ).one()
            recent = conn.execute(
                select(runs).where(current).order_by(runs.c.id.desc()).limit(SHOWN_FAILURES)
            ).all()
        return Streak(
            count=int(count or 0),
            recent=tuple(_outcome(r._mapping) for r in recent),
            since=_aware(since),
            notified_at=_aware(notified_at),
        )

    def outcomes(self) -> list[RunOutcome]:
        """Every stored run of this customer, oldest first."""
        mine = self._mine()
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).where(mine).order_by(runs.c.id)).all()
        return [_outcome(r._mapping) for r in rows]

    # -- internals ----------------------------------------------------------------------------

    def _mine(self) -> ColumnElement[bool]:
        return and_(
            runs.c.store_key == self.store_key,
            runs.c.country == self.country,
            runs.c.division == self.division,
        )

    def _prune(self, conn) -> None:  # type: ignore[no-untyped-def]
        """Drop rows older than the newest KEEP_ROWS; they can no longer be part of a streak
        (this is called right after a success)."""
        mine = self._mine()
        cutoff = conn.execute(
            select(runs.c.id).where(mine).order_by(runs.c.id.desc()).offset(KEEP_ROWS).limit(1)
        ).scalar()
        if cutoff is not None:
            conn.execute(delete(runs).where(and_(mine, runs.c.id <= cutoff)))


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone columns; only UTC is ever stored.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _outcome(m) -> RunOutcome:  # type: ignore[no-untyped-def]
    finished = _aware(m["finished_at"])
    assert finished is not None
    return RunOutcome(
        row_id=int(m["id"]),
        run_id=m["run_id"],
        finished_at=finished,
        succeeded=bool(m["succeeded"]),
        summary=m["summary"],
        notified_at=_aware(m["notified_at"]),
    )
