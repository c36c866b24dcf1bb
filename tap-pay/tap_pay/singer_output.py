"""How the tap's streams write SCHEMA messages: once per stream per run, again only on a change.

The SDK writes a stream's SCHEMA every time the stream is synced, and a child stream is synced
once per parent record: a child's schema would be repeated for every settlement, clearing or
payment. Many targets treat a SCHEMA message as a reason to flush what they hold, so the repeats
cost more than bytes. Sending a schema only when it differs from the last one sent under the
same output name keeps the Singer contract (a schema precedes its records and is re-sent when
it changes) and leaves RECORD and STATE messages untouched.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import Stream


class SchemaOncePerStream(Stream):
    """A stream that writes its SCHEMA message only when it is new or has changed."""

    # Per stream instance, i.e. per tap run; keyed by output name (stream maps may alias).
    _schemas_sent: dict[str, dict[str, Any]]

    def _write_schema_message(self) -> None:
        # The SDK's own hook for writing a stream's SCHEMA (called from Stream.sync).
        sent = self.__dict__.setdefault("_schemas_sent", {})
        for message in self._generate_schema_messages():
            body = message.to_dict()
            if sent.get(message.stream) == body:
                continue
            sent[message.stream] = body
            self._tap.write_message(message)
