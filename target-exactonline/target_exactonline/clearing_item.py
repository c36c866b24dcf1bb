"""One clearing as it moves through a booking run, and the outcomes any phase can give it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from pay_exact_transform import BookingPlan

from target_exactonline.exact_client.errors import ExactError
from target_exactonline.ledger import BookingLedger, LedgerConflict, LedgerRow
from target_exactonline.report import ClearingReport, Outcome


@dataclass(slots=True)
class Item:
    """One clearing as it moves through the run: its facts, not its records."""

    clearing_id: str
    report: ClearingReport
    group: str | None = None  # the revenue group of the converted clearing
    has_emails: bool = False  # some payment carries the customer's e-mail (enrichment)
    plan: BookingPlan | None = None  # while its window is planned and booked
    journal: str | None = None
    ledger_row: LedgerRow | None = None
    records: int = 0  # its payment records: what a window holds of it while it is planned


def windows(items: list[Item], clearings: int, records: int) -> Iterator[list[Item]]:
    """Consecutive windows of at most ``clearings`` clearings and, unless one clearing alone
    is larger, at most ``records`` payment records: what a window holds in memory follows both."""
    window: list[Item] = []
    held = 0
    for item in items:
        if window and (len(window) >= clearings or held + item.records > records):
            yield window
            window, held = [], 0
        window.append(item)
        held += item.records
    if window:
        yield window


class Stop(Exception):
    """Ends the posting loop: every clearing not yet handled is reported as not attempted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_or_stop(what: str, call: Callable[[], Any]) -> Any:
    """A read the run cannot do without: when Exact fails it, the run stops."""
    try:
        return call()
    except ExactError as exc:
        raise Stop(f"reading {what} from Exact failed: {exc}") from None


@dataclass(slots=True)
class Outcomes:
    """Marks a clearing failed or blocked, in its report and (on a live run) the ledger."""

    ledger: BookingLedger
    log: logging.Logger
    dry_run: bool

    def fail(self, item: Item, reason: str) -> None:
        item.report.outcome = Outcome.FAILED
        item.report.reason = reason
        row = self.ledger.get(item.clearing_id)
        if row is not None and not row.is_posted:
            self.ledger.mark_failed(item.clearing_id, reason)
        self.log.error("Clearing %s not booked: %s", item.clearing_id, reason)

    def block(self, item: Item, reason: str) -> None:
        item.report.outcome = Outcome.BLOCKED
        item.report.reason = reason
        if not self.dry_run:
            self.ledger_blocked(item, reason)
        self.log.warning("Clearing %s not booked: %s", item.clearing_id, reason)

    def ledger_blocked(self, item: Item, reason: str) -> None:
        try:
            self.ledger.mark_blocked(
                item.clearing_id,
                reason,
                booking_key=item.report.key or f"?{item.clearing_id}",
                settlement_date=item.report.settlement_date,
                plan_digest=plan_digest(item.plan) if item.plan else None,
            )
        except LedgerConflict as exc:
            self.log.warning("Clearing %s: %s", item.clearing_id, exc)


def not_attempted(items: Iterable[Item], reason: str) -> None:
    for item in items:
        if item.report.outcome is Outcome.NOT_ATTEMPTED:
            item.report.reason = reason


def earliest_unbooked(items: list[Item]) -> date | None:
    known = [i.report.settlement_date for i in items if i.report.settlement_date]
    dates = []
    for item in items:
        if item.report.outcome.is_problem:
            dates.append(item.report.settlement_date or (min(known) if known else None))
    dates = [d for d in dates if d is not None]
    return min(dates) if dates else None


def plan_digest(plan: BookingPlan) -> str:
    lines = [
        [line.gl, str(line.amount), line.customer, line.link, line.description]
        for line in plan.lines
    ]
    text = json.dumps([plan.key, str(plan.entry_date), plan.currency, plan.journal, lines])
    return hashlib.sha256(text.encode()).hexdigest()
