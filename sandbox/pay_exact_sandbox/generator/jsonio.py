"""JSON in and out with Decimal money: numbers parse as Decimal and Decimals print as numbers.

The stdlib encoder cannot emit a Decimal as a bare number, so Decimals go out as a marked string
that is unquoted afterwards; the marker starts with NUL, which no fixture text contains.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\x00dec:"
_MARKED = re.compile(r'"\\u0000dec:(-?[0-9.]+(?:E[-+]?[0-9]+)?)"')


class _DecimalMarker(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            if not o.is_finite():
                raise ValueError(f"cannot write the non-finite amount {o} as JSON")
            return _MARK + str(o)
        return super().default(o)


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Deterministic JSON (insertion order kept); Decimals become JSON numbers."""
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(obj, cls=_DecimalMarker, indent=indent, separators=separators)
    if _MARK[1:] in text:
        text = _MARKED.sub(r"\1", text)
    return text


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)
