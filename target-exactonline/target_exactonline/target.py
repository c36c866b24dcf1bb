"""target-exactonline: books tap-pay's clearings into Exact Online, each exactly once.

How it fits the Singer SDK (0.54.9) and Meltano:
- Sinks only collect records. Booking happens once, when the input has ended, because a
  clearing can only be booked when all of its records have arrived and open invoices must be
  matched across the whole run.
- The SDK writes state to stdout at every full drain (also every 5 minutes mid-run). Meltano
  stores each such line as the new bookmark, so this target holds state back until the run's
  bookings are durable in Exact and in the booking ledger, and then emits it once, with the Pay.
  bookmarks clamped to the earliest clearing that is not booked (see ``state.py``): a failed or
  blocked clearing is read and tried again on the next run.
- stdout carries state only; progress, the summary and errors go to stderr (the SDK's logger).
- Any clearing not booked makes the process exit non-zero, after the others are booked and the
  state covering them is emitted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from singer_sdk import Target
from singer_sdk.sinks import Sink

from target_exactonline import kill_points
from target_exactonline.collector import PAY_STREAMS, Collector
from target_exactonline.commands import check_command
from target_exactonline.exact_client.settings import ExactSettings
from target_exactonline.ledger import BookingLedger
from target_exactonline.messages import BytesMessageReader
from target_exactonline.notify import notifications, with_notification_settings
from target_exactonline.probe_store import ProbeStore
from target_exactonline.run import BookingRun, ClearingsNotBooked, RunResult
from target_exactonline.run_lock import run_lock
from target_exactonline.settings import TargetSettings, config_jsonschema
from target_exactonline.sinks import IgnoredStreamSink, PaySink
from target_exactonline.state import clamp_state


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TargetExactOnline(Target):
    """Books Pay. clearings as bank entries in Exact Online and settles matched invoices."""

    name = "target-exactonline"
    config_jsonschema = with_notification_settings(config_jsonschema())
    default_sink_class = PaySink
    message_reader_class = BytesMessageReader

    def __init__(
        self,
        *,
        config: Any = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_reader: Any = None,
        client_factory: Callable[[TargetSettings], Any] | None = None,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            message_reader=message_reader,
        )
        self.collector = Collector()
        self._client_factory = client_factory
        self._now = now
        self._bookings_done = False
        self._earliest_unbooked = None
        self.result: RunResult | None = None
        self.emitted_states: list[dict] = []

    # -- sinks ---------------------------------------------------------------------------------

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return PaySink if stream_name in PAY_STREAMS else IgnoredStreamSink

    def add_sink(
        self, stream_name: str, schema: dict, key_properties: list[str] | None = None
    ) -> Sink:
        sink = super().add_sink(stream_name, schema, key_properties)
        sink.collector = self.collector  # type: ignore[attr-defined]
        return sink

    # -- state ---------------------------------------------------------------------------------

    def _write_state_message(self, state: dict) -> None:
        if not self._bookings_done:
            # A mid-run drain: nothing is booked yet, so this state must not reach Meltano.
            self.logger.debug("State held back until the bookings it covers are durable")
            return
        if self.config.get("dry_run"):
            # A dry run books nothing, so it must not move the bookmarks either: the first live
            # run has to read the same clearings again.
            self.logger.info("Dry run: no state emitted, the bookmarks stay where they were")
            return
        clamped = clamp_state(state, self._earliest_unbooked)
        self.emitted_states.append(clamped)
        super()._write_state_message(clamped)

    # -- the run -------------------------------------------------------------------------------

    def listen(self, file_input: Any = None) -> None:
        # Every run's outcome is recorded per customer; repeated failures send one e-mail.
        with notifications(
            dict(self.config),
            logger=self.logger,
            result=lambda: self.result,
            has_clearings=lambda: self.collector.has_clearing_data,
        ):
            try:
                super().listen(file_input)
            finally:
                self.collector.close()  # the spooled records go, whatever happened

    def process_endofpipe(self) -> None:
        result = self._run_bookings()
        kill_points.reached("before_state")
        self._bookings_done = True
        self._earliest_unbooked = result.earliest_unbooked if result else None
        super().process_endofpipe()  # drains (nothing left) and emits the state, clamped
        if result is not None and result.report.failed:
            raise ClearingsNotBooked(result.report)

    def _client(self, settings: TargetSettings) -> Any:
        if self._client_factory is not None:
            return self._client_factory(settings)
        return ExactSettings.from_config(dict(self.config)).client()

    def _run_bookings(self) -> RunResult | None:
        collector = self.collector
        for stream, count in sorted(collector.ignored.items()):
            self.logger.info("Ignored %d records of stream '%s'", count, stream)
        for stream, count in sorted(collector.duplicates.items()):
            self.logger.info("%d repeated records of '%s' were merged", count, stream)
        if not collector.has_clearing_data:
            self.logger.info("No Pay. clearings in the input: nothing to book")
            return None

        settings = TargetSettings.from_config(dict(self.config))
        with (
            run_lock(settings.store_url, division=settings.division, logger=self.logger),
            BookingLedger.from_url(
                settings.store_url, division=settings.division, store_key=settings.store_key
            ) as ledger,
        ):
            refusal = ProbeStore(
                ledger.engine, division=settings.division, store_key=settings.store_key
            ).refusal(check_command())
            run = BookingRun(
                settings,
                client_factory=lambda: self._client(settings),
                ledger=ledger,
                logger=self.logger,
                now=self._now,
                refusal=refusal,
            )
            result = run.execute(collector, report_dir=settings.report_dir)
        self.result = result
        report = result.report
        assert result.report_paths is not None
        jsonl_path, html_path = result.report_paths
        level = logging.ERROR if report.failed else logging.INFO
        mode = "Dry run (nothing written to Exact): " if settings.dry_run else ""
        self.logger.log(level, "%s%s", mode, report.summary())
        stopped = [c.clearing_id for c in report.failed if c.reason == report.stopped]
        for clearing in report.failed:
            if clearing.reason != report.stopped:
                self.logger.log(
                    level, "Not booked: %s: %s", clearing.clearing_id, clearing.reason or "-"
                )
        if stopped:
            self.logger.log(level, "Not attempted (%s): %s", report.stopped, ", ".join(stopped))
        self.logger.info("Report: %s (and %s)", html_path, jsonl_path.name)
        return result
