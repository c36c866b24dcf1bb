"""``field[op]=value`` query filters (pay-api.md §3) on the fields each endpoint documents."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from .errors import invalid_parameter

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte")
_FILTER = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*)\[([a-z]+)\]$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


@dataclass(frozen=True, slots=True)
class Field:
    """A filterable field: ``values`` gives the item's values (an item matches if any does)."""

    values: Callable[[dict[str, Any]], Iterable[Any]]
    kind: str = "str"  # "str" | "int" | "date"


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    op: str
    field: Field
    value: Any

    def matches(self, item: dict[str, Any]) -> bool:
        compare = _COMPARE[self.op]
        if self.op == "neq":
            # "not equal" holds when no value equals (so an item in two groups is excluded).
            return all(compare(v, self.value) for v in self.field.values(item) if v is not None)
        return any(compare(v, self.value) for v in self.field.values(item) if v is not None)


def _coerce(name: str, kind: str, raw: str) -> Any:
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise invalid_parameter(name, f"must be a whole number, got {raw!r}") from None
    if kind == "date":
        try:
            if not _DATE.match(raw):
                raise ValueError(raw)
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise invalid_parameter(name, f"must be a date YYYY-MM-DD, got {raw!r}") from None
    return raw


def parse_filters(args: MultiDict[str, str], fields: dict[str, Field]) -> list[Condition]:
    """Every ``field[op]`` parameter as a condition; unknown fields or operators are a 400.

    Parameters without brackets are the endpoint's business (page, limit, ...); others are
    ignored, as HTTP APIs usually do [I].
    """
    conditions: list[Condition] = []
    for key, raw in args.items(multi=True):
        found = _FILTER.match(key)
        if found is None:
            if "[" in key or "]" in key:
                raise invalid_parameter(key, "is not a valid filter; use field[op]=value")
            continue
        name, op = found.groups()
        if name not in fields:
            raise invalid_parameter(
                key, f"unknown filter field '{name}'; known fields: {', '.join(sorted(fields))}"
            )
        if op not in OPERATORS:
            raise invalid_parameter(
                key, f"unknown filter operator '{op}'; use one of {', '.join(OPERATORS)}"
            )
        field = fields[name]
        conditions.append(Condition(name, op, field, _coerce(key, field.kind, raw)))
    return conditions


def apply(items: Iterable[dict[str, Any]], conditions: list[Condition]) -> list[dict[str, Any]]:
    if not conditions:
        return list(items)
    return [item for item in items if all(c.matches(item) for c in conditions)]
