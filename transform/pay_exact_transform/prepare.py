"""Validating a run's clearings and working out each one's effective settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .consistency import Check, check_clearing
from .errors import InputError
from .keys import idempotency_key
from .model import Clearing, ClearingLine, Direction, LineKind, PaymentRecord, RecordKind
from .money import amount_ok, check_amount, quantum
from .plan import BlockReason, Role
from .settings import Settings


@dataclass(slots=True)
class ClearingContext:
    """One clearing, validated, with its effective settings."""

    clearing: Clearing
    key: str
    lines: list[ClearingLine]  # sorted, without repeats
    records: list[PaymentRecord]  # sorted by id, without repeats
    check: Check
    gl: dict[Role, str]
    gl_debtors: str
    gl_unassigned: str
    quantum: Decimal
    journal: str | None
    sales_journal: str | None
    books: bool  # False when blocked: the records still claim open items


def distinct_clearings(clearings: Iterable[Clearing]) -> list[Clearing]:
    """The clearings sorted by id; a clearing delivered twice counts once."""
    by_id: dict[str, Clearing] = {}
    for clearing in clearings:
        if not isinstance(clearing, Clearing):
            got = type(clearing).__name__
            raise InputError("run", "clearings", f"must hold Clearing, got {got}")
        previous = by_id.get(clearing.clearing_id)
        if previous is not None and previous != clearing:
            raise InputError(
                f"clearing {clearing.clearing_id!r}", "clearing_id", "is used by two clearings"
            )
        by_id[clearing.clearing_id] = clearing
    return [by_id[k] for k in sorted(by_id)]


def prepare(clearing: Clearing, settings: Settings) -> ClearingContext:
    """Validate one clearing, check its totals and resolve its revenue-group overrides."""
    key = idempotency_key(clearing.clearing_id)
    where = f"clearing {clearing.clearing_id!r}"
    currency = clearing.currency
    if not currency or not isinstance(currency, str):
        raise InputError(where, "currency", "must be a currency code")
    if not isinstance(clearing.settlement_date, date):
        raise InputError(where, "settlement_date", "must be a date")
    check_amount(clearing.payout, currency, where, "payout", allow_negative=True)
    lines = distinct_lines(clearing, where)
    records = _distinct_records(clearing, where)

    override = None
    group = clearing.revenue_group
    if group is not None:
        override = settings.revenue_group_overrides.get(group.code)
    gl = {
        Role.DEBTORS: settings.gl.debtors,
        Role.PSP_COSTS: settings.gl.psp_costs,
        Role.PAYOUTS: settings.gl.payouts,
        Role.UNASSIGNED: settings.gl.unassigned,
    }
    journal = None
    sales_journal = settings.sales_journal
    if override is not None:
        for role in Role:
            value = getattr(override, role.value)
            if value:
                gl[role] = value
        journal = override.journal
        sales_journal = override.sales_journal or sales_journal

    check = check_clearing(clearing, lines, records, tuple(settings.currencies))
    books = check.problem is None or (
        settings.book_inconsistent_difference
        and check.problem is not BlockReason.CURRENCY_NOT_SUPPORTED
    )
    return ClearingContext(
        clearing,
        key,
        lines,
        records,
        check,
        gl,
        gl[Role.DEBTORS],
        gl[Role.UNASSIGNED],
        quantum(currency),
        journal,
        sales_journal,
        books,
    )


def line_order(line: ClearingLine) -> tuple:
    """A total order on clearing lines, so fee lines come out in the same order every run."""
    return (
        line.code,
        line.type_name,
        line.direction.value,
        line.kind.value,
        line.amount,
        -1 if line.type_id is None else line.type_id,
        -1 if line.transactions is None else line.transactions,
    )


def distinct_lines(clearing: Clearing, where: str) -> list[ClearingLine]:
    """Validated lines in a fixed order; a line delivered twice (same code and content) counts
    once, since a provider line code names one line."""
    seen: set[ClearingLine] = set()
    for line in clearing.lines:
        _validate_line(line, clearing.currency, where)
        seen.add(line)
    return sorted(seen, key=line_order)


def _validate_line(line: ClearingLine, currency: str, where: str) -> None:
    if not isinstance(line, ClearingLine):
        raise InputError(where, "lines", f"must hold ClearingLine, got {type(line).__name__}")
    here = f"{where}, line {line.code!r}"
    if not isinstance(line.code, str) or not line.code:
        raise InputError(here, "code", "must be a non-empty string")
    if not isinstance(line.type_name, str):
        raise InputError(here, "type_name", "must be a string")
    if not isinstance(line.direction, Direction):
        raise InputError(here, "direction", f"must be CREDIT or DEBIT, got {line.direction!r}")
    if not isinstance(line.kind, LineKind):
        raise InputError(here, "kind", f"must be a LineKind, got {line.kind!r}")
    check_amount(line.amount, currency, here, "amount", allow_negative=False)
    if line.transactions is not None and (
        not isinstance(line.transactions, int) or line.transactions < 0
    ):
        raise InputError(here, "transactions", "must be None or a count >= 0")


def _distinct_records(clearing: Clearing, where: str) -> list[PaymentRecord]:
    by_id: dict[str, PaymentRecord] = {}
    quanta: dict[str, Decimal] = {}
    for record in clearing.records:
        if not isinstance(record, PaymentRecord):
            got = type(record).__name__
            raise InputError(where, "records", f"must hold PaymentRecord, got {got}")
        record_id = record.record_id
        previous = by_id.get(record_id)
        if previous is not None:
            if previous == record:
                continue  # the same record delivered twice
            raise InputError(f"{where}, record {record_id!r}", "record_id", "is used twice")
        if not record_id or not isinstance(record_id, str):
            raise InputError(where, "record_id", "must be a non-empty string")
        if record.kind.__class__ is not RecordKind:
            raise InputError(f"{where}, record {record_id!r}", "kind", f"is {record.kind!r}")
        currency = record.currency
        q = quanta.get(currency)
        if q is None:
            if not currency or not isinstance(currency, str):
                raise InputError(f"{where}, record {record_id!r}", "currency", "is missing")
            q = quanta[currency] = quantum(currency)
        if not amount_ok(record.amount, q, allow_negative=False):
            here = f"{where}, record {record_id!r}"
            check_amount(record.amount, currency, here, "amount", allow_negative=False)
        by_id[record_id] = record
    return [by_id[k] for k in sorted(by_id)]
