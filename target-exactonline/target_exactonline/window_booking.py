"""Phases 5 and 6 for one window of clearings: planned with the run's claims, checked locally,
and booked (on a dry run: marked as what would be booked)."""

from __future__ import annotations

from pay_exact_transform import RunPlanner

from target_exactonline.booking import Booker
from target_exactonline.clearing_item import Item, Stop
from target_exactonline.input_reading import InputReader
from target_exactonline.plan_check import check
from target_exactonline.progress import Progress
from target_exactonline.report import Outcome, RunReport


def book_window(
    wanted: list[Item],
    *,
    planner: RunPlanner,
    reader: InputReader,
    booker: Booker,
    progress: Progress | None,
    report: RunReport,
) -> None:
    """Plan, check and book the window's clearings still to book; a ``Stop`` while booking
    sets ``report.stopped`` and the rest are planned for the report only."""
    clearings = reader.load(wanted, booker.outcomes)
    for plan in planner.plan(clearings.values()):
        item = next(i for i in wanted if i.clearing_id == plan.clearing_id)
        item.plan = plan
    for item in wanted:
        if item.plan is None:
            continue
        if check(item, booker.facts, booker.settings, booker.outcomes):
            _book(item, booker, progress, report)
        elif progress is not None:
            progress.step(ok=False)


def _book(item: Item, booker: Booker, progress: Progress | None, report: RunReport) -> None:
    if booker.settings.dry_run:
        item.report.outcome = Outcome.WOULD_BOOK
        item.report.reason = None
        return
    if report.stopped:
        return  # not attempted; planned only for the report
    try:
        booker.book(item)
    except Stop as stop:
        report.stopped = stop.reason
        return
    assert progress is not None
    progress.step(ok=item.report.outcome is Outcome.BOOKED)
