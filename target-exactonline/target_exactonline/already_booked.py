"""Clearings already booked: by the booking ledger (phase 2) or found in Exact (phase 3).

A rerun costs no Exact calls for what the ledger holds as posted; what Exact holds by its key
(a lost ledger, a POST whose answer was lost) is recorded, not booked again.
"""

from __future__ import annotations

from target_exactonline import context as ctx
from target_exactonline.clearing_item import Item, Outcomes
from target_exactonline.ledger import BookingLedger
from target_exactonline.report import Outcome


def drop_posted(items: list[Item], ledger: BookingLedger, outcomes: Outcomes) -> list[Item]:
    """Clearings the ledger holds as posted are done, whatever this run's copy looks like;
    the clearings still to book."""
    rows = ledger.rows(i.clearing_id for i in items)
    todo = []
    for item in items:
        row = item.ledger_row = rows.get(item.clearing_id)
        if row is not None and row.is_posted:
            item.report.outcome = Outcome.ALREADY_BOOKED
            item.report.entry_number = row.entry_number
            item.report.entry_id = row.entry_id
            item.report.reason = None
        elif item.report.outcome is Outcome.BLOCKED:
            if row is not None and row.outcome_unknown:
                # Posted once without an answer, and this run's copy cannot be read: only
                # a person can tell whether Exact holds it.
                item.report.reason = (
                    f"{item.report.reason}; an earlier attempt to book it had no answer, so "
                    f"check Exact for lines starting with {row.booking_key} before fixing it"
                )
            if not outcomes.dry_run:
                outcomes.ledger_blocked(item, item.report.reason or "not bookable")
            outcomes.log.warning("Clearing %s not booked: %s", item.clearing_id, item.report.reason)
        elif item.report.outcome is Outcome.NOT_ATTEMPTED:
            todo.append(item)
    return todo


def settle_found(
    todo: list[Item],
    booked: dict[str, ctx.BookedEntry],
    ledger: BookingLedger,
    *,
    dry_run: bool,
) -> list[Item]:
    """Clearings Exact already holds (a lost ledger, a POST whose answer was lost)."""
    remaining = []
    for item in todo:
        entry = booked.get(item.clearing_id)
        row = item.ledger_row
        if entry is not None:
            if not dry_run:
                ledger.record_posted_elsewhere(
                    item.clearing_id,
                    booking_key=item.report.key or "",
                    settlement_date=item.report.settlement_date,
                    entry_id=entry.entry_id,
                    entry_number=entry.entry_number,
                )
            item.report.outcome = Outcome.ALREADY_BOOKED
            item.report.entry_id = entry.entry_id
            item.report.entry_number = entry.entry_number
            item.report.attention.append(
                "found already booked in Exact by its key (the booking ledger did not know)"
                if row is None or not row.outcome_unknown
                else "the previous run's POST had no answer; Exact holds the entry"
            )
            continue
        if row is not None and row.outcome_unknown and not dry_run:
            # The POST never reached Exact: it may be planned and sent again.
            ledger.mark_failed(
                item.clearing_id, "the previous attempt had no answer and is not in Exact"
            )
        remaining.append(item)
    return remaining
