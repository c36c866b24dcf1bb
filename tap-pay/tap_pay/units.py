"""The unit of a settlement's own amount, decided from what Pay. itself says about the payout.

Pay.'s docs pair ``"amount": {"value": 250}`` with the text "Funds: 250.00" (pay-api.md §4.1,
§10), so the settlement amount may be cents or whole euros. The setting
``settlement_amount_unit`` says which one the merchant expects, but it is not trusted alone:
every settlement carries its own evidence,

- its clearing lines, whose sum is the payout (cents, pay-api.md §4.1 [C]),
- the "Funds: 1523.40" text in its description, a decimal in major units that needs no unit,

and the amount is read in the unit that agrees with that evidence. When the evidence points at
another unit than the setting, or the amount contradicts its own "Funds:" text, the settlement
carries a problem that names the setting, and a target must not book it. A stated amount that
only differs from its lines (no unit explains it) is a different fault: the totals do not add
up, which a target judges from the lines the settlement record carries.

Pure functions: no I/O, so the tap, its tests and a self-check probe share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tap_pay.money import AmountError, AmountUnit, minor_unit_exponent, quantum

SETTING = "settlement_amount_unit"

# "Clearing: CLEARING-20250300123/ Funds: 1523.40" (pay-api.md §4.1). [I] Pay. localises some
# texts (an optional locale header, pay-api.md §3), so "1,523.40" and "1.523,40" are read too.
_FUNDS = re.compile(r"Funds:\s*(-?\d[\d.,]*)")
_DECIMALS = re.compile(r"[.,](\d{1,2})$")


def funds_in_description(description: str | None) -> Decimal | None:
    """The amount written in a settlement's description ("Funds: 1523.40"), if any.

    The decimal separator is the last "." or "," followed by one or two digits at the end;
    any other separator groups thousands. A text that reads no way is no evidence (None).
    """
    if not description:
        return None
    found = _FUNDS.search(description)
    if not found:
        return None
    text = found.group(1).rstrip(".,")
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("-")
    decimals = _DECIMALS.search(digits)
    whole = digits[: decimals.start()] if decimals else digits
    groups = re.split(r"[.,]", whole)
    if not groups[0] or any(len(g) != 3 for g in groups[1:]):
        return None  # e.g. "1.52.3": not a number written any usual way
    number = sign + "".join(groups) + (f".{decimals.group(1)}" if decimals else "")
    return Decimal(number)


def readings(value: int | Decimal, currency: str) -> dict[AmountUnit, Decimal]:
    """The amount in major units for each unit it can be in (exact readings only).

    An integer can be cents or whole euros; a decimal with at most the currency's decimals can
    only be euros. Raises AmountError when no reading is exact.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise AmountError("expected a JSON number")
    number = Decimal(value)
    if not number.is_finite():
        raise AmountError("expected a finite number")
    found: dict[AmountUnit, Decimal] = {}
    if number == number.to_integral_value():
        found[AmountUnit.MINOR] = number.scaleb(-minor_unit_exponent(currency)).quantize(
            quantum(currency)
        )
    try:
        major = number.quantize(quantum(currency))
    except InvalidOperation:
        raise AmountError("is too large to be an amount") from None
    if major == number:
        found[AmountUnit.MAJOR] = major
    if not found:
        raise AmountError(f"has more decimals than {currency} allows")
    return found


@dataclass(frozen=True, slots=True)
class UnitDecision:
    """How a settlement's amount was read, and why it must not be booked (if it must not)."""

    unit: AmountUnit
    amount: Decimal  # the stated amount in major units, read in ``unit``
    lines_total: Decimal | None  # its clearing lines' sum in major units (lines are cents)
    funds: Decimal | None  # the "Funds:" amount of its description
    problem: str | None  # names the setting; None when the unit is not in doubt

    @property
    def agrees(self) -> bool:
        """The stated amount equals its lines (or there are no lines to judge by)."""
        return self.lines_total is None or self.lines_total == self.amount


def _unit_word(unit: AmountUnit) -> str:
    return unit.value


def decide_unit(
    value: int | Decimal,
    currency: str,
    setting: AmountUnit,
    line_amounts: Iterable[Decimal] | None,
    description: str | None,
) -> UnitDecision:
    """Read a settlement's amount in the unit its own evidence supports.

    ``line_amounts`` are its clearing lines' signed amounts in major units (cents converted);
    None or empty when it has none. Raises AmountError when the value has no exact reading.
    """
    options = readings(value, currency)
    lines = list(line_amounts or [])
    lines_total = sum(lines, Decimal(0)).quantize(quantum(currency)) if lines else None
    funds = funds_in_description(description)
    evidence = {
        name: amount
        for name, amount in (("its clearing lines", lines_total), ("its 'Funds:' text", funds))
        if amount is not None
    }
    fits = [u for u, reading in options.items() if all(e == reading for e in evidence.values())]
    shown = f"{value} {currency}"

    if setting in fits:
        return UnitDecision(setting, options[setting], lines_total, funds, None)
    if fits and evidence:
        unit = fits[0]
        agreeing = " and ".join(evidence)
        problem = (
            f"the settlement amount {shown} is read in {_unit_word(setting)} by the setting "
            f"{SETTING}, but {agreeing} agree with reading it in {_unit_word(unit)} "
            f"({options[unit]} {currency}): Pay. sends this amount in {_unit_word(unit)}, so set "
            f"{SETTING} to {_unit_word(unit)!r}"
        )
        return UnitDecision(unit, options[unit], lines_total, funds, problem)

    unit = setting if setting in options else next(iter(options))
    amount = options[unit]
    parts: list[str] = []
    if unit is not setting:
        parts.append(f"a decimal cannot be {_unit_word(setting)}, as the setting {SETTING} says")
    if funds is not None and funds != amount:
        parts.append(f"its 'Funds:' text says {funds} {currency}")
    if lines_total is not None and lines_total != 0 and lines_total * 100 == amount:
        parts.append(
            f"its clearing lines add up to {lines_total} {currency}, exactly 1/100 of it: the "
            "lines would be in euros where cents are documented"
        )
    if not parts:
        # Only the lines disagree and no unit explains it: the totals do not add up, which a
        # target judges from the lines the settlement carries (not a unit question).
        return UnitDecision(unit, amount, lines_total, funds, None)
    problem = (
        f"the settlement amount {shown} reads as {amount} {currency} in {_unit_word(unit)}, but "
        + "; ".join(parts)
        + f". Pay.'s amounts disagree on their unit: check the setting {SETTING} "
        f"(now {_unit_word(setting)!r}) against the payout on the bank statement"
    )
    return UnitDecision(unit, amount, lines_total, funds, problem)
