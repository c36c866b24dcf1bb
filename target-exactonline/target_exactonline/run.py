"""One booking run: the collected clearings in, bank entries in Exact and a report out.

Order of work (DESIGN §4, §6, §7), each step over the clearings one window at a time, so the
run holds one window of payments, whatever the size of the backfill:
1. read: convert every clearing once (its facts and whether it can be booked); skip revenue
   groups not selected; block unreadable ones and those of a settlement that is not bookable;
2. drop what the booking ledger already holds as posted (a rerun costs no Exact calls); a live
   run stops here, before any Exact call, while the self-check found a fact it relies on not
   holding (``refusal``; a dry run goes on and says so);
3. read the Exact context once, and the keys already booked in the bank journals (one paged
   read), which also settles clearings whose last POST had no answer;
4. count: every record's candidates, as claims on open items across the whole run (the
   engine's ``RunPlanner``, pass 1);
5. plan, check and book window by window (pass 2): create the relations a plan needs, then
   post one bank entry per clearing, recording each step in the ledger before and after; a POST
   whose outcome is unknown is looked up before it is ever sent again;
6. report each clearing as it is decided (``ReportWriter``), the summary at the end.
Steps 4 and 5 read the clearings again from the collector's spool; the plans are exactly those
of one engine call over the whole run (see the engine's ``RunPlanner``).

This module only conducts; each step is a module of its own: ``input_reading`` (1),
``already_booked`` (2, and what step 3 finds in Exact), ``context_reading`` (3), ``claims`` (4),
``window_booking`` with ``plan_check`` and ``booking`` (5), ``report`` (6).
"""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pay_exact_transform import RunPlanner, without_cyclic_gc

from target_exactonline.already_booked import drop_posted
from target_exactonline.booking import Booker
from target_exactonline.claims import count_claims
from target_exactonline.clearing_item import (
    Item,
    Outcomes,
    Stop,
    earliest_unbooked,
    not_attempted,
    windows,
)
from target_exactonline.collector import Collector
from target_exactonline.context_reading import ExactFacts, read_context
from target_exactonline.input_reading import InputReader
from target_exactonline.lazy_client import LazyClient
from target_exactonline.ledger import BookingLedger
from target_exactonline.progress import Progress
from target_exactonline.report import Outcome, ReportWriter, RunReport
from target_exactonline.settings import TargetSettings
from target_exactonline.window_booking import book_window

# Clearings converted, planned and booked together: the run holds the records of at most this
# many clearings at a time (a day's payout per revenue group is one clearing), and of at most
# WINDOW_RECORDS payment records unless one clearing alone has more, so that what a window holds
# does not grow with the size of a large merchant's clearings either.
WINDOW = 16
WINDOW_RECORDS = 2000


class ClearingsNotBooked(RuntimeError):
    """Raised after the run when any clearing was not booked (the others were)."""

    def __init__(self, report: RunReport) -> None:
        self.report = report
        failed = report.failed
        shown = ", ".join(c.clearing_id for c in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        super().__init__(
            f"{len(failed)} of {len(report.clearings)} clearings were not booked ({shown}{more}); "
            "they are retried on the next run. See the run report for the reasons."
        )


@dataclass(slots=True)
class RunResult:
    report: RunReport
    earliest_unbooked: date | None
    progress_lines: list[str] = field(default_factory=list)
    report_paths: tuple[Path, Path] | None = None  # the JSON lines and the HTML page


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BookingRun:
    def __init__(
        self,
        settings: TargetSettings,
        *,
        client_factory: Callable[[], Any],
        ledger: BookingLedger,
        logger: logging.Logger,
        now: Callable[[], datetime] = _utcnow,
        run_id: str | None = None,
        refusal: str | None = None,
    ) -> None:
        self.settings = settings
        # Why the self-check says not to book (probe_store.ProbeStore.refusal), or None.
        self.refusal = refusal
        self.client = LazyClient(client_factory)
        self.ledger = ledger
        self.log = logger
        self.now = now
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.facts = ExactFacts()
        self.outcomes = Outcomes(ledger, logger, settings.dry_run)
        self.progress: Progress | None = None

    def execute(self, collector: Collector, *, report_dir: Path | None = None) -> RunResult:
        """Book what ``collector`` holds; with ``report_dir``, write the report there as the
        run goes (each clearing once it is decided) and finish it at the end."""
        s = self.settings
        report = RunReport(
            run_id=self.run_id, started_at=self.now(), division=s.division, dry_run=s.dry_run
        )
        writer = ReportWriter(report, report_dir) if report_dir is not None else None
        try:
            # The run's objects form no reference cycles worth a collector scanning them over and
            # over; what a window leaves behind is collected once it is done (``_plan_and_book``).
            with without_cyclic_gc():
                result = self._execute(collector, report, writer)
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        finally:
            self.facts.close()
        if writer is not None:
            result.report_paths = writer.finish()
        return result

    def _execute(
        self, collector: Collector, report: RunReport, writer: ReportWriter | None
    ) -> RunResult:
        # 1. read and convert
        report.problems.extend(p.describe() for p in collector.unattributed_problems())
        reader = InputReader(self.settings, collector, self.log)
        items = reader.scan(WINDOW, WINDOW_RECORDS)
        report.problems.extend(reader.problems)
        report.clearings = [item.report for item in items]

        # 2. what the ledger holds as posted; a refused live run stops before any Exact call
        todo = drop_posted(items, self.ledger, self.outcomes)
        planner = None
        if todo and self.refusal:
            if self.settings.dry_run:
                report.problems.append(f"A live run would not book: {self.refusal}")
            else:
                report.stopped = self.refusal
                not_attempted(todo, self.refusal)
                self.log.error("Not booking: %s", self.refusal)
                todo = []

        # 3. the Exact context, and 4. the claims on open items across the run
        if todo:
            try:
                todo = read_context(
                    self.facts, self.client, todo, settings=self.settings, ledger=self.ledger
                )
                planner = count_claims(
                    todo,
                    self.facts.store(),
                    settings=self.settings,
                    reader=reader,
                    outcomes=self.outcomes,
                    window_size=WINDOW,
                    window_records=WINDOW_RECORDS,
                )
                todo = [i for i in todo if i.report.outcome is Outcome.NOT_ATTEMPTED]
            except Stop as stop:
                report.stopped = stop.reason
                not_attempted(todo, stop.reason)
                todo = []
        report.problems.extend(self.facts.problems)

        # 5. and 6. plan, check, book and report window by window
        self._plan_and_book(
            items, todo, planner=planner, reader=reader, report=report, writer=writer
        )

        # the run's figures
        client = self.client.made
        if client is not None:
            report.api_calls = client.calls_made
            report.api_remaining_today = client.remaining_today()
        report.finished_at = self.now()
        return RunResult(
            report=report,
            earliest_unbooked=earliest_unbooked(items),
            progress_lines=self.progress.lines if self.progress else [],
        )

    def _plan_and_book(
        self,
        items: list[Item],
        todo: list[Item],
        *,
        planner: RunPlanner | None,
        reader: InputReader,
        report: RunReport,
        writer: ReportWriter | None,
    ) -> None:
        """Step 5 and 6, window by window: plan, check, book, report, and let go."""
        pending = {i.clearing_id for i in todo}
        if todo and not self.settings.dry_run:
            self.progress = Progress(
                self.log,
                len(todo),
                calls_made=lambda: self.client().calls_made,
                remaining_today=self.client().remaining_today,
            )
        booker = Booker(
            self.settings,
            client=self.client,
            ledger=self.ledger,
            facts=self.facts,
            outcomes=self.outcomes,
        )
        for window in windows(items, WINDOW, WINDOW_RECORDS):
            wanted = [i for i in window if i.clearing_id in pending]
            if wanted and planner is not None:
                book_window(
                    wanted,
                    planner=planner,
                    reader=reader,
                    booker=booker,
                    progress=self.progress,
                    report=report,
                )
            self.ledger.flush()  # the window's posted marks, before its report is written
            for item in window:
                if report.stopped and item.report.outcome is Outcome.NOT_ATTEMPTED:
                    item.report.reason = report.stopped
                if writer is not None:
                    writer.add(item.report)
                item.plan = None  # the window is done: its plans go
            gc.collect(0)  # and whatever cycles its requests and transactions left
