"""The one place where Pay.'s amounts become exact decimals in major units.

Pay. is not uniform about units (pay-api.md §10): most endpoints send ``{"value": <int cents>,
"currency": "EUR"}``, while ``/invoicelines`` sends decimal euros. Each endpoint's unit is listed
once in :data:`UNIT_BY_ENDPOINT`; parsers ask for it by endpoint and never decide on their own.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import Enum


class AmountUnit(Enum):
    MINOR = "cents"
    MAJOR = "euros"


# Endpoint (as logged, without ids) -> the unit its amounts arrive in.
UNIT_BY_ENDPOINT: dict[str, AmountUnit] = {
    # [I] The settlements docs example pairs value 250 with "Funds: 250.00" (pay-api.md §4.1),
    # so the settlement's own amount may be euros; cents by default, the setting
    # settlement_amount_unit switches it. Its embedded clearing lines are cents either way.
    "/clearings/settlements": AmountUnit.MINOR,
    "/clearings/settlements#clearingLines": AmountUnit.MINOR,
    "/clearings/{clearingId}/records": AmountUnit.MINOR,
    "/invoicelines": AmountUnit.MAJOR,
    "/transactions/{transactionId}": AmountUnit.MINOR,
    # The Order API's amounts are integer values too (labd/paynl-js-sdk connect/openapi.json).
    "/orders/{id}/status": AmountUnit.MINOR,
}

# ISO 4217 exponents that differ from 2; every other currency has two decimals.
_EXPONENT_EXCEPTIONS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


class AmountError(ValueError):
    """An amount that cannot be represented exactly; the caller adds where it came from."""


def minor_unit_exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (2 for EUR)."""
    return _EXPONENT_EXCEPTIONS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency, e.g. ``Decimal("0.01")`` for EUR."""
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def is_currency_code(value: object) -> bool:
    return isinstance(value, str) and len(value) == 3 and value.isascii() and value.isupper()


def to_major(value: object, currency: str, unit: AmountUnit) -> Decimal:
    """Convert one amount as Pay. sent it to a Decimal in major units, exact to the minor unit.

    Raises AmountError for anything that is not a number, and for values that would need
    rounding: a fraction of a cent in a cents field, or more decimals than the currency has.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise AmountError("expected a JSON number")
    exponent = minor_unit_exponent(currency)
    if unit is AmountUnit.MINOR:
        # Only an integer literal is cents: 250.00 is euros sent where cents belong, and
        # reading it as 250 cents would be a silent factor 100.
        if not isinstance(value, int):
            raise AmountError(f"expected a whole number of {currency} minor units (cents)")
        major = Decimal(value).scaleb(-exponent)
    else:
        major = Decimal(value)
        if not major.is_finite():
            raise AmountError("expected a finite number")
    try:
        quantized = major.quantize(quantum(currency))
    except InvalidOperation:
        raise AmountError("is too large to be an amount") from None
    if quantized != major:
        raise AmountError(f"has more decimals than {currency} allows ({exponent})")
    return quantized
