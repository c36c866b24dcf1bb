"""tap-pay's records → the engine's model, one clearing at a time.

Every problem names the clearing, the record and the field, and blocks only that clearing.
Field names are tap-pay's (camelCase, flattened): see ``tap-pay/tap_pay/schemas/``.

- The payout is the clearing's ``amount`` (tap-pay sums the clearing's signed lines into it).
- Clearing lines arrive signed (DEBIT negative); the engine wants a magnitude plus direction.
- Clearing records arrive signed: a negative amount is a refund, or a chargeback when the
  optional ``transactions`` enrichment says so (status -70/-71).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pay_exact_transform import (
    Clearing,
    ClearingLine,
    Direction,
    InputError,
    LineKind,
    PaymentRecord,
    RevenueGroup,
    classify_line,
    record_from_signed,
)
from pay_exact_transform.money import quantum

from target_exactonline.collector import ClearingBundle

PAY_ZONE = ZoneInfo("Europe/Amsterdam")


class ConversionError(ValueError):
    """A clearing whose records cannot be turned into a bookable clearing."""

    def __init__(self, clearing_id: str, problems: list[str]) -> None:
        self.clearing_id = clearing_id
        self.problems = problems
        super().__init__(f"clearing {clearing_id}: " + "; ".join(problems))


@dataclass(slots=True)
class Converted:
    clearing: Clearing
    settlement_code: str | None
    notes: list[str] = field(default_factory=list)  # facts for the report, not problems
    mixed_groups: tuple[str, ...] = ()  # the revenue groups of a clearing that mixes several


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, field_name: str, problem: str) -> None:
        self.items.append(f"{where}: field '{field_name}' {problem}")


def _text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _decimal(
    record: Mapping[str, Any], name: str, where: str, problems: _Problems
) -> Decimal | None:
    value = record.get(name)
    if value is None:
        problems.add(where, name, "is missing")
        return None
    if isinstance(value, bool | float):
        # JSON numbers reach the target as Decimal; a float means precision is already lost.
        problems.add(where, name, f"must be an exact number, got {value!r}")
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            problems.add(where, name, f"must be a finite number, got {value}")
            return None
        return value
    # Text is refused even when it reads as a number: tap-pay sends amounts as JSON numbers, so
    # text means the record is not what its schema says (this is the target's only check of it).
    problems.add(where, name, f"is not a number: {value!r}")
    return None


def _date(record: Mapping[str, Any], name: str, where: str, problems: _Problems) -> date | None:
    value = record.get(name)
    if isinstance(value, datetime):
        return _local_date(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    problems.add(where, name, "is missing" if value is None else f"is not a date: {value!r}")
    return None


def _timestamp(
    record: Mapping[str, Any], name: str, where: str, problems: _Problems
) -> datetime | None:
    """An optional date-time: parsed here when the SDK's validation (which parses it) is off."""
    value = record.get(name)
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(where, name, f"is not a date-time: {value!r}")
    return None


def _count(record: Mapping[str, Any], name: str, where: str, problems: _Problems) -> int | None:
    """An optional whole number (a count or a type id)."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, name, f"must be a whole number, got {value!r}")
        return None
    return value


def _local_date(value: datetime) -> date:
    if value.tzinfo is None:
        return value.date()  # [I] a zone-less Pay. timestamp is Amsterdam time already
    return value.astimezone(PAY_ZONE).date()


def _money(amount: Decimal, currency: str, where: str, name: str, problems: _Problems) -> Decimal:
    q = quantum(currency)
    if amount.quantize(q) != amount:
        problems.add(where, name, f"has more decimals than {currency} allows: {amount}")
    return amount.quantize(q)


def _currency(record: Mapping[str, Any], where: str, problems: _Problems) -> str | None:
    value = _text(record, "currency")
    if value is None or len(value) != 3 or not value.isalpha():
        problems.add(where, "currency", f"must be a three-letter code, got {value!r}")
        return None
    return value.upper()


def convert_bundle(
    bundle: ClearingBundle,
    *,
    transactions: Mapping[str, Mapping[str, Any]],
    group_names: Mapping[str, str],
) -> Converted:
    """The engine's Clearing for one bundle, or ConversionError naming every problem found."""
    cid = bundle.clearing_id
    problems = _Problems()
    for bad in bundle.problems:
        problems.items.append(bad.describe())

    head = bundle.clearing
    if head is None:
        if not any(p.stream == "clearings" for p in bundle.problems):
            problems.items.append(
                "the clearings record for this clearing did not arrive (its lines or records "
                "did); the clearing is incomplete"
            )
        raise ConversionError(cid, problems.items)
    where = f"clearings record {cid}"
    currency = _currency(head, where, problems) or "EUR"
    settlement_date = _date(head, "settlementDate", where, problems)
    payout = _decimal(head, "amount", where, problems)
    settlement_code = _text(head, "settlementCode")

    group_code = _text(head, "turnoverGroupCode")
    codes = head.get("turnoverGroupCodes") or []
    if group_code is None and isinstance(codes, list) and len(codes) > 1:
        group: RevenueGroup | None = None
        mixed = tuple(str(c) for c in codes)
        notes = [f"the clearing mixes revenue groups {', '.join(mixed)}"]
    else:
        if group_code is None and isinstance(codes, list) and len(codes) == 1:
            group_code = str(codes[0])
        name = _text(head, "turnoverGroupName") or (group_names.get(group_code or "") or None)
        group = RevenueGroup(group_code, name) if group_code else None
        notes = []
        mixed = ()

    expected_lines = _count(head, "lineCount", where, problems)
    if expected_lines is not None and len(bundle.lines) < expected_lines:
        problems.items.append(
            f"the clearing announces {expected_lines} clearing lines; "
            f"{len(bundle.lines)} arrived (incomplete)"
        )

    lines: list[ClearingLine] = []
    for raw in sorted(bundle.lines, key=lambda r: str(r.get("code"))):
        code = _text(raw, "code") or "?"
        lw = f"clearing_lines record {code}"
        amount = _decimal(raw, "amount", lw, problems)
        line_currency = _currency(raw, lw, problems)
        if line_currency and line_currency != currency:
            problems.add(lw, "currency", f"is {line_currency}; the clearing is in {currency}")
        direction_text = _text(raw, "direction")
        if amount is None:
            continue
        if direction_text is None:
            direction = Direction.DEBIT if amount < 0 else Direction.CREDIT
        elif direction_text.upper() in ("CREDIT", "DEBIT"):
            direction = Direction(direction_text.upper())
        else:
            problems.add(lw, "direction", f"must be CREDIT or DEBIT, got {direction_text!r}")
            continue
        magnitude = _money(abs(amount), currency, lw, "amount", problems)
        type_id = _count(raw, "clearingLineTypeId", lw, problems)
        type_name = _text(raw, "clearingLineTypeName") or ""
        transactions_count = _count(raw, "transactions", lw, problems)
        lines.append(
            ClearingLine(
                code=code,
                type_id=type_id,
                type_name=type_name,
                direction=direction,
                amount=magnitude,
                kind=classify_line(type_id, type_name, direction),
                transactions=transactions_count,
            )
        )

    records: list[PaymentRecord] = []
    seen: dict[str, int] = {}
    ordered = sorted(
        bundle.records,
        key=lambda r: (str(r.get("orderId")), str(r.get("reportingId")), str(r.get("amount"))),
    )
    for raw in ordered:
        order_id = _text(raw, "orderId")
        base_id = _text(raw, "reportingId") or order_id or "?"
        rw = f"clearing_records record {base_id}"
        if order_id is None:
            problems.add(rw, "orderId", "is missing")
        amount = _decimal(raw, "amount", rw, problems)
        record_currency = _currency(raw, rw, problems)
        if amount is None or record_currency is None:
            continue
        amount = _money(amount, record_currency, rw, "amount", problems)
        # The same order can appear twice in one clearing (a payment and its refund).
        n = seen.get(base_id, 0) + 1
        seen[base_id] = n
        record_id = base_id if n == 1 else f"{base_id}#{n}"
        tx = transactions.get(order_id or "") or {}
        status = tx.get("statusCode")
        posted_at = _timestamp(raw, "transactionDate", rw, problems)
        try:
            records.append(
                record_from_signed(
                    record_id,
                    amount,
                    record_currency,
                    status_code=status if isinstance(status, int) else None,
                    reference=_text(raw, "reference") or _text(tx, "reference"),
                    description=_text(raw, "description") or _text(tx, "description"),
                    order_id=order_id,
                    transaction_date=_local_date(posted_at) if posted_at else None,
                    extra1=_text(tx, "extra1"),
                    extra2=_text(tx, "extra2"),
                    extra3=_text(tx, "extra3"),
                    customer_email=_text(tx, "customerEmail"),
                    customer_name=_customer_name(tx),
                )
            )
        except InputError as exc:
            problems.items.append(f"{rw}: {exc}")

    notes.extend(_merge_unknown_chargebacks(lines, records, bundle.records, transactions))

    if problems.items or settlement_date is None or payout is None:
        raise ConversionError(cid, problems.items or ["the clearing cannot be read"])
    payout = _money(payout, currency, where, "amount", problems)
    if problems.items:
        raise ConversionError(cid, problems.items)
    return Converted(
        clearing=Clearing(
            clearing_id=cid,
            settlement_code=settlement_code,
            settlement_date=settlement_date,
            currency=currency,
            revenue_group=group,
            lines=tuple(lines),
            records=tuple(records),
            payout=payout,
        ),
        settlement_code=settlement_code,
        notes=notes,
        mixed_groups=mixed,
    )


def _merge_unknown_chargebacks(
    lines: list[ClearingLine],
    records: list[PaymentRecord],
    raw_records: list[dict[str, Any]],
    transactions: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Count chargeback lines as refund lines when the records cannot say which is which.

    A clearing record carries no status: only the tap's per-transaction enrichment tells a
    chargeback (-70/-71) from a refund. Without it every negative record reads as a refund,
    and a clearing with a chargeback line would look incomplete for ever. Then the chargeback
    lines join the refund lines, so the totals are still checked, and the report says so.
    """
    chargeback_lines = [i for i, line in enumerate(lines) if line.kind is LineKind.CHARGEBACKS]
    if not chargeback_lines:
        return []
    negative = [r for r in raw_records if _is_negative(r.get("amount"))]
    known = all(
        isinstance((transactions.get(str(r.get("orderId"))) or {}).get("statusCode"), int)
        for r in negative
    )
    if known:
        return []
    for i in chargeback_lines:
        lines[i] = dataclasses.replace(lines[i], kind=LineKind.REFUNDS)
    count = sum(lines[i].transactions or 0 for i in chargeback_lines) or len(chargeback_lines)
    del records  # the records stay refunds: nothing tells which of them are chargebacks
    return [
        f"the clearing holds {count} chargeback(s) that cannot be told apart from refunds "
        "without the tap's transaction details (enrich_transactions); booked as refunds"
    ]


def _is_negative(value: object) -> bool:
    try:
        return Decimal(str(value)) < 0
    except InvalidOperation:
        return False


def _customer_name(tx: Mapping[str, Any]) -> str | None:
    company = _text(tx, "companyName")
    if company:
        return company
    parts = [p for p in (_text(tx, "customerFirstName"), _text(tx, "customerLastName")) if p]
    return " ".join(parts) or None


def transactions_by_order(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The optional per-transaction enrichment, looked up by order id."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        order_id = _text(row, "orderId")
        if order_id:
            found[order_id] = row
    return found
