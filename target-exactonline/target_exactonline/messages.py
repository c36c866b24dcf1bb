"""How the target reads Singer messages: msgspec's JSON decoder, on bytes.

The Singer SDK reads every input line with the standard library's ``json`` by default; at a
backfill's size that decoding is a visible share of the target's CPU. The SDK ships a msgspec
reader (``singer_sdk.contrib.msgspec``, the ``msgspec`` extra) behind its documented
``message_reader_class`` hook; it decodes numbers with a fraction as ``Decimal``, as the
default reader does, so amounts never pass through a float. This one reads stdin's bytes, so
the lines are not decoded to text first.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from singer_sdk.contrib.msgspec import MsgSpecReader


class BytesMessageReader(MsgSpecReader):
    """The SDK's msgspec reader, fed stdin's bytes (msgspec decodes bytes directly)."""

    @property
    def default_input(self) -> IO[Any]:  # type: ignore[override]
        # Looked up at read time, not import time, so a replaced stdin is honoured.
        return getattr(sys.stdin, "buffer", sys.stdin)
