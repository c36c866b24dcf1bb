"""Money rules: Decimal only, quantized to the currency's minor unit, never float."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from .errors import InputError

# ISO 4217 minor units that differ from the usual two decimals.
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

ZERO = Decimal(0)
# No single amount reaches a thousand trillion; the bound keeps every sum of a run (even of
# millions of amounts) well inside the exact context below.
MAX_AMOUNT = Decimal(10) ** 15
# Sums and comparisons are exact in this context whatever context the caller has set.
_EXACT = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


@contextmanager
def exact_decimals() -> Iterator[None]:
    """Run the enclosed code with 60 significant digits, so no sum is ever rounded."""
    with localcontext(_EXACT):
        yield


_QUANTUM: dict[int, Decimal] = {places: Decimal(1).scaleb(-places) for places in range(4)}


def minor_units(currency: str) -> int:
    """Number of decimals the currency is booked with (ISO 4217; two unless listed)."""
    return _MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency, e.g. Decimal('0.01') for EUR."""
    return _QUANTUM[minor_units(currency)]


def check_amount(
    value: object, currency: str, where: str, field: str, *, allow_negative: bool
) -> Decimal:
    """Return ``value`` quantized to the currency, or raise naming ``where`` and ``field``.

    Rejects floats (and anything else that is not a Decimal), NaN and infinities, and amounts
    with more decimals than the currency has: rounding them silently would book a different
    amount than the provider paid.
    """
    if value.__class__ is not Decimal:
        raise InputError(where, field, f"must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():  # type: ignore[union-attr]
        raise InputError(where, field, f"must be a finite amount, got {value}")
    if abs(value) >= MAX_AMOUNT:  # type: ignore[arg-type]
        raise InputError(where, field, f"is too large to be an amount: {value}")
    if not allow_negative and value < ZERO:  # type: ignore[operator]
        raise InputError(where, field, f"must not be negative, got {value}")
    q = quantum(currency)
    rounded = value.quantize(q)  # type: ignore[union-attr]
    if rounded != value:
        raise InputError(where, field, f"has more decimals than {currency} allows: {value}")
    return rounded


def amount_ok(value: object, q: Decimal, *, allow_negative: bool) -> bool:
    """The fast test behind ``check_amount``, for loops over a million amounts."""
    try:
        return (
            value.__class__ is Decimal
            and -MAX_AMOUNT < value < MAX_AMOUNT  # type: ignore[operator]
            and (allow_negative or value >= ZERO)  # type: ignore[operator]
            and value.quantize(q) == value  # type: ignore[union-attr]
        )
    except ArithmeticError:  # NaN in a comparison
        return False


def fmt(amount: Decimal, currency: str) -> str:
    """Amount as a bookkeeper reads it in an explanation, e.g. '121.00 EUR'."""
    return f"{amount.quantize(quantum(currency))} {currency}"
