"""A payout is booked only when Pay.'s stated settlement amount equals the sum of its lines.

A clearing's own amount is the sum of its own lines (tap-pay computes it), so the engine's
check "the lines add up to the payout" cannot see a settlement whose stated amount differs from
its lines. This check can: tap-pay's settlement record carries the amount as Pay. stated it and
every line of every clearing in it, also of revenue groups this run does not book, so the
settlement is judged whole even when only some of its clearings are selected. A settlement
that fails blocks every one of its clearings; they wait in the ledger and the bookmark, as any
blocked clearing does, and are judged again on the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

TOTALS_INCONSISTENT = "totals_inconsistent"
AMOUNT_UNIT_IN_DOUBT = "amount_unit_in_doubt"


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None  # a float has lost precision already
    try:
        number = Decimal(str(value)) if isinstance(value, str | int) else value
    except InvalidOperation:
        return None
    return number if isinstance(number, Decimal) and number.is_finite() else None


@dataclass(frozen=True, slots=True)
class Judgement:
    """Why a settlement's clearings must wait, and the amounts the report shows for it."""

    reason: str
    totals: dict[str, Decimal] = field(default_factory=dict)


def settlement_problem(settlement: Mapping[str, Any] | None, clearing_id: str) -> str | None:
    """Why the clearings of ``settlement`` must not be booked, or None when it adds up."""
    found = judge_settlement(settlement, clearing_id)
    return found.reason if found else None


def judge_settlement(settlement: Mapping[str, Any] | None, clearing_id: str) -> Judgement | None:
    """The settlement's verdict for all its clearings; None when it may be booked."""
    found = _judge(settlement, clearing_id)
    if found is None or isinstance(found, Judgement):
        return found
    return Judgement(found)


def _judge(settlement: Mapping[str, Any] | None, clearing_id: str) -> Judgement | str | None:
    if settlement is None:
        return (
            f"{TOTALS_INCONSISTENT}: the settlement record of clearing {clearing_id} did not "
            "arrive, so Pay.'s stated payout cannot be compared with its lines"
        )
    code = settlement.get("code") or "?"
    doubt = settlement.get("amountProblem")
    if isinstance(doubt, str) and doubt:
        return f"{AMOUNT_UNIT_IN_DOUBT}: settlement {code}: {doubt}"
    currency = str(settlement.get("currency") or "")
    stated = _amount(settlement.get("amount"))
    if stated is None:
        return (
            f"{TOTALS_INCONSISTENT}: settlements record {code}: field 'amount' is missing or "
            "not an exact number"
        )
    lines = settlement.get("lines")
    if not isinstance(lines, list):
        return (
            f"{TOTALS_INCONSISTENT}: settlements record {code}: field 'lines' (every clearing "
            "line of the settlement) is missing, so Pay.'s stated payout cannot be checked"
        )
    total = Decimal(0)
    for index, line in enumerate(lines):
        amount = _amount(line.get("amount")) if isinstance(line, Mapping) else None
        if amount is None:
            return (
                f"{TOTALS_INCONSISTENT}: settlements record {code}: field 'lines[{index}].amount' "
                "is missing or not an exact number"
            )
        if line.get("currency") != currency:
            return (
                f"{TOTALS_INCONSISTENT}: settlements record {code}: line "
                f"{line.get('code')} is in {line.get('currency')}, the settlement in {currency}"
            )
        total += amount
    if total != stated:
        clearings = sorted({str(line.get("clearingId")) for line in lines})
        return Judgement(
            f"{TOTALS_INCONSISTENT}: Pay. states that settlement {code} paid {stated} "
            f"{currency}, but the lines of its clearings ({', '.join(clearings) or 'none'}) add "
            f"up to {total} {currency} (difference {stated - total} {currency}); no clearing "
            "of this settlement is booked until they agree",
            {
                "settlement amount stated by Pay.": stated,
                "settlement lines added up": total,
                "difference": stated - total,
            },
        )
    return None
