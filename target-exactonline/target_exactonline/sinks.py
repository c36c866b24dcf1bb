"""Sinks only collect: booking happens once the input has ended (see ``target.py``).

A record of a Pay. stream that fails its schema does not stop the run: it becomes a problem of
the clearing it belongs to, which is then not booked, while the other clearings are.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from singer_sdk import RecordSink
from singer_sdk.exceptions import InvalidRecord

from target_exactonline.collector import Collector


class PaySink(RecordSink):
    """Hands every record of a tap-pay stream to the run's collector."""

    collector: Collector

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._problem: str | None = None

    @cached_property
    def validate_schema(self) -> bool:
        # The conversion (``convert.py``) reads every field it uses and names the record and the
        # field when one is wrong, so a second, generic JSON-schema pass over every record only
        # costs CPU (about 70 % of the target's at a 300k backfill). ``validate_records: true``
        # turns the SDK's validation back on (the benchmark's baseline).
        return bool(self.config.get("validate_records", False))

    def _validate_and_parse(self, record: dict) -> dict:
        self._problem = None
        if self._validator is None:
            # Without validation, timestamps stay strings too: the conversion parses the few
            # date fields it reads, instead of the SDK walking every field of every record.
            return record
        try:
            if self._validator is not None:
                self._validator.validate(record)
            self._parse_timestamps_in_record(
                record=record, schema=self.schema, treatment=self.datetime_error_treatment
            )
        except InvalidRecord as exc:
            self._problem = _schema_problem(exc)
        except ValueError as exc:
            self._problem = f"has a value that cannot be read: {exc}"
        return record

    def _singer_validate_message(self, record: dict) -> None:
        missing = [k for k in self.key_properties if k not in record]
        if missing and self._problem is None:
            self._problem = f"key field(s) {', '.join(missing)} missing"

    def process_record(self, record: dict, context: dict) -> None:
        if self._problem is not None:
            self.collector.reject(self.stream_name, record, self.key_properties, self._problem)
            self.logger.warning(
                "Record of %s does not match its schema and is not used: %s",
                self.stream_name,
                self._problem,
            )
            return
        self.collector.add(self.stream_name, record, self.key_properties)


class IgnoredStreamSink(RecordSink):
    """Streams this target does not book (other taps' streams, lookups): read and dropped."""

    collector: Collector

    def setup(self) -> None:
        self.logger.info(
            "Stream '%s' is not one this target books; its records are ignored", self.stream_name
        )

    def process_record(self, record: dict, context: dict) -> None:
        self.collector.add(self.stream_name, record, self.key_properties)


def _schema_problem(exc: InvalidRecord) -> str:
    cause = exc.__cause__
    path = ".".join(str(p) for p in getattr(cause, "absolute_path", None) or [])
    if path:
        return f"field '{path}': {exc.error_message}"
    return f"does not match its schema: {exc.error_message}"
