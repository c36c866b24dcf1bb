"""Typed reads from Pay.'s JSON whose errors name the endpoint, the record and the field.

A parser walks a response with :class:`Node` objects. Every read states what it expects, so a
malformed answer stops the run with e.g.::

    Pay. GET /clearings/settlements (page 2) returned a malformed response at
    settlements[3].clearings[0].clearingLines[1].amount.value (settlement AB12-CD34):
    expected a whole number of EUR minor units, got Decimal('12.5')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from tap_pay.dates import DateFormatError, business_date, utc_timestamp
from tap_pay.errors import MalformedResponseError, redact
from tap_pay.money import AmountError, AmountUnit, is_currency_code, to_major

_SHOWN_VALUE_CHARS = 40
_SHOWN_LABEL_CHARS = 120


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a response came from: the endpoint template and, when paged, the page."""

    path: str
    page: int | None = None
    method: str = "GET"
    #: Values never to quote (the API token), in case Pay. echoes one back in a bad field.
    secrets: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.method} {self.path}" + (f" (page {self.page})" if self.page else "")


def show(value: object, secrets: tuple[str, ...] = ()) -> str:
    """A short quote of a value, with any secret replaced before it is cut short."""
    text = redact("null" if value is None else repr(value), list(secrets))
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."


class Node:
    """One JSON value at a path inside one response.

    The path is kept as (parent, key) and spelled out only for an error message: a 10,000-item
    page makes hundreds of thousands of reads, and nearly all of them succeed.
    """

    __slots__ = ("key", "origin", "parent", "record", "value")

    def __init__(
        self,
        value: Any,
        origin: Origin,
        parent: Node | None = None,
        key: str | int | None = None,
        record: str | None = None,
    ) -> None:
        self.value = value
        self.origin = origin
        self.parent = parent
        self.key = key
        self.record = record

    @property
    def path(self) -> str:
        keys: list[str | int] = []
        node: Node | None = self
        while node is not None and node.key is not None:
            keys.append(node.key)
            node = node.parent
        path = ""
        for key in reversed(keys):
            path = f"{path}[{key}]" if isinstance(key, int) else _join(path, key)
        return path

    # -- navigation -------------------------------------------------------------------------

    def fail(
        self, expected: str, got: object | None = None, *, show_value: bool = True
    ) -> NoReturn:
        where = self.path or "the top level"
        if self.record:
            # The record is named by ids Pay. sent: redacted and cut short like a quoted value.
            label = redact(self.record, list(self.origin.secrets))
            if len(label) > _SHOWN_LABEL_CHARS:
                label = label[: _SHOWN_LABEL_CHARS - 3] + "..."
            where += f" ({label})"
        message = (
            f"Pay. {self.origin.describe()} returned a malformed response at {where}: {expected}"
        )
        if show_value:
            message += f", got {show(self.value if got is None else got, self.origin.secrets)}"
        raise MalformedResponseError(message)

    def _child(self, key: str | int, value: Any) -> Node:
        return Node(value, self.origin, self, key, self.record)

    def about(self, record: str) -> Node:
        """The same node, with errors below it naming ``record`` (e.g. "settlement AB12-CD34")."""
        return Node(self.value, self.origin, self.parent, self.key, record)

    def as_object(self) -> Node:
        if not isinstance(self.value, dict):
            self.fail("expected an object")
        return self

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def get(self, key: str, *, required: bool = True) -> Node:
        """The member ``key``; a missing or null required member fails here."""
        self.as_object()
        if key not in self.value:
            if required:
                self._child(key, None).fail("required field is missing", show_value=False)
            return self._child(key, None)
        child = self._child(key, self.value[key])
        if required and child.value is None:
            child.fail("required field is null", show_value=False)
        return child

    def items(self, key: str, *, required: bool = True) -> list[Node]:
        """The elements of the array member ``key`` (missing or null means none when optional)."""
        child = self.get(key, required=required)
        if child.value is None:
            return []
        if not isinstance(child.value, list):
            child.fail("expected an array")
        return [child._child(i, v) for i, v in enumerate(child.value)]

    def object_or_items(self, key: str) -> list[Node]:
        """Pay.'s spec renders some arrays as a single object (pay-api.md §4.5): accept both."""
        child = self.get(key)
        if isinstance(child.value, dict):
            return [child]
        return self.items(key)

    # -- scalars ----------------------------------------------------------------------------

    def text(self, key: str, *, required: bool = False) -> str | None:
        found = self.value.get(key) if isinstance(self.value, dict) else None
        if isinstance(found, str) and (found or not required):
            return found  # the common case, without building a child node
        if found is None and not required and isinstance(self.value, dict):
            return None
        child = self.get(key, required=required)
        if child.value is None:
            return None
        if not isinstance(child.value, str):
            child.fail("expected a string")
        if required and not child.value:
            child.fail("required field is empty", show_value=False)
        return child.value

    def code(self, key: str) -> str:
        """A required, non-empty identifier."""
        value = self.text(key, required=True)
        assert value is not None
        return value

    def integer(self, key: str, *, required: bool = False) -> int | None:
        found = self.value.get(key) if isinstance(self.value, dict) else None
        if type(found) is int:
            return found  # the common case, without building a child node
        child = self.get(key, required=required)
        value = child.value
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            child.fail("expected an integer")
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                child.fail("expected an integer")
            value = int(value)
        return value

    def number(self, key: str, *, required: bool = False) -> Decimal | None:
        """A plain number that is not money (a percentage, a rate); kept exact."""
        child = self.get(key, required=required)
        value = child.value
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            child.fail("expected a number")
        return Decimal(value)

    def boolean(self, key: str, *, required: bool = False) -> bool | None:
        child = self.get(key, required=required)
        if child.value is None:
            return None
        if not isinstance(child.value, bool):
            child.fail("expected true or false")
        return bool(child.value)

    def date(self, key: str, *, required: bool = False) -> str | None:
        child = self.get(key, required=required)
        if child.value is None:
            return None
        try:
            return business_date(child.value)
        except DateFormatError as exc:
            child.fail(str(exc))

    def timestamp(self, key: str, *, required: bool = False) -> str | None:
        child = self.get(key, required=required)
        if child.value is None:
            return None
        try:
            return utc_timestamp(child.value)
        except DateFormatError as exc:
            child.fail(str(exc))

    def currency(self, key: str) -> str:
        child = self.get(key)
        if not is_currency_code(child.value):
            child.fail("expected an ISO-4217 currency code")
        return str(child.value)

    def money(
        self, key: str, unit: AmountUnit, *, value_key: str = "value", required: bool = True
    ) -> tuple[Decimal | None, str | None]:
        """An amount object ``{<value_key>: n, "currency": "EUR"}`` as (major units, currency)."""
        holder = self.get(key, required=required)
        if holder.value is None:
            return None, None
        holder.as_object()
        currency = holder.currency("currency")
        return holder.amount(value_key, currency, unit), currency

    def rate(
        self, key: str, *, value_key: str, required: bool = False
    ) -> tuple[Decimal | None, str | None]:
        """A cost or rate object ``{<value_key>: 0.0195, "currency": "EUR"}``, kept exact.

        Unlike :meth:`money` it keeps every decimal Pay. sent (the spec's own example for an
        invoice line's costs is 0.0195 EUR): it is not an amount that is booked as it is.
        """
        holder = self.get(key, required=required)
        if holder.value is None:
            return None, None
        holder.as_object()
        currency = holder.currency("currency")
        value = holder.number(value_key, required=True)
        assert value is not None
        if not value.is_finite():
            holder.get(value_key).fail("expected a finite number")
        return value, currency

    def amount(self, key: str, currency: str, unit: AmountUnit) -> Decimal:
        child = self.get(key)
        try:
            return to_major(child.value, currency, unit)
        except AmountError as exc:
            child.fail(str(exc))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
