"""JSON text with Decimals written as JSON numbers (Exact sends amounts as numbers)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from .values import format_date


def dumps(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        text = format(value, "f")
        out.append(text)
    elif isinstance(value, datetime):
        out.append(json.dumps(format_date(value)))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("floats never reach the sandbox's JSON: amounts are Decimal")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
