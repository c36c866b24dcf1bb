"""The self-check's latest findings per Exact division, kept in the target's store.

One row per (Exact country, division, probe) in ``pay_exact_probes``: the outcome, what the
probe saw, what to do, and when. Each check replaces the rows of the probes it ran, so fixing
the cause and checking again is what lifts a live run's refusal (``refusal``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
)

from target_exactonline.exact_client.countries import DEFAULT_COUNTRY
from target_exactonline.probes import BLOCKING, PROBE_FACTS, Outcome, ProbeResult
from target_exactonline.store_schema import create_tables

TEXT_MAX = 2000

metadata = MetaData()

probe_results = Table(
    "pay_exact_probes",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("division", Integer, primary_key=True),
    Column("probe", String(60), primary_key=True),
    Column("store_key", String(200), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("seen", Text, nullable=False),
    Column("advice", Text, nullable=True),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class RecordedProbe:
    probe: str
    outcome: Outcome
    seen: str
    advice: str | None
    checked_at: datetime


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


class ProbeStore:
    def __init__(
        self, engine: Engine, *, division: int, store_key: str, country: str = DEFAULT_COUNTRY
    ) -> None:
        self.engine = engine
        self.country = country
        self.division = division
        self.store_key = store_key
        create_tables(engine, metadata, country=country)

    def record(self, results: Iterable[ProbeResult], *, at: datetime | None = None) -> None:
        when = at or datetime.now(UTC)
        results = list(results)
        with self.engine.begin() as conn:
            conn.execute(
                delete(probe_results).where(
                    and_(
                        probe_results.c.country == self.country,
                        probe_results.c.division == self.division,
                        probe_results.c.probe.in_([r.name for r in results]),
                    )
                )
            )
            for result in results:
                conn.execute(
                    insert(probe_results).values(
                        country=self.country,
                        division=self.division,
                        probe=result.name,
                        store_key=self.store_key,
                        outcome=result.outcome.value,
                        seen=_clip(result.seen),
                        advice=_clip(result.advice) if result.advice else None,
                        checked_at=when,
                    )
                )

    def latest(self) -> dict[str, RecordedProbe]:
        query = select(probe_results).where(
            probe_results.c.country == self.country, probe_results.c.division == self.division
        )
        with self.engine.connect() as conn:
            return {
                row.probe: RecordedProbe(
                    probe=row.probe,
                    outcome=Outcome(row.outcome),
                    seen=row.seen,
                    advice=row.advice,
                    checked_at=row.checked_at
                    if row.checked_at.tzinfo
                    else row.checked_at.replace(tzinfo=UTC),
                )
                for row in conn.execute(query)
            }

    def refusal(self, check: str) -> str | None:
        """Why a live run must not book, or None: the probes it depends on that did not hold
        when the division was last checked. ``check`` is the command that checks again."""
        failed = [
            r
            for name, r in sorted(self.latest().items())
            if name in BLOCKING and r.outcome is Outcome.DID_NOT_HOLD
        ]
        if not failed:
            return None
        parts = []
        for r in failed:
            when = r.checked_at.strftime("%Y-%m-%d %H:%M UTC")
            advice = f" ({r.advice})" if r.advice else ""
            fact = PROBE_FACTS.get(r.probe, "")
            parts.append(
                f"{r.probe} did not hold when checked {when} ({fact[:1].lower()}{fact[1:]}); "
                f"seen: {r.seen}{advice}"
            )
        return (
            f"the self-check found facts this product relies on not holding in division "
            f"{self.division}, so nothing is booked: {' | '.join(parts)}. Once the cause is "
            f"fixed, run `{check}` again; a dry run still plans everything"
        )
