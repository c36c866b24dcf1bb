"""Per-merchant settings: GL accounts per role, journals, fallbacks and the matching profile."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from .errors import InputError

PAYMENT_FIELDS = ("reference", "description", "order_id", "extra1", "extra2", "extra3")
LEDGER_FIELDS = ("your_ref", "payment_reference", "description", "invoice_number")


@dataclass(frozen=True, slots=True)
class GLAccounts:
    """GL account codes per booking role; opaque strings the ledger understands."""

    debtors: str
    psp_costs: str
    payouts: str
    unassigned: str

    def __post_init__(self) -> None:
        for role in ("debtors", "psp_costs", "payouts", "unassigned"):
            value = getattr(self, role)
            if not isinstance(value, str) or not value.strip():
                raise InputError("settings.gl", role, "must be a non-empty GL code")


@dataclass(frozen=True, slots=True)
class MatchProfile:
    """How references are read from a payment and from the ledger.

    ``payment_fields`` are read from each payment record; ``ledger_fields`` from each open
    item. ``regex``, when given, extracts the references from the payment fields (named group
    ``ref``, else group 1, else the whole match) instead of splitting them into words.
    ``strip_leading_zeros`` lets ``00012`` equal ``12`` (never across letter prefixes).
    ``email_amount`` enables the e-mail + amount rule (rule 7) for platforms whose payments
    carry no order number. ``reference_since`` ignores ``reference`` on transactions dated
    before it (Magento 2 sent an internal id there until 2026-01-29).
    """

    name: str = "custom"
    payment_fields: tuple[str, ...] = ("reference", "description")
    ledger_fields: tuple[str, ...] = LEDGER_FIELDS
    regex: str | None = None
    strip_leading_zeros: bool = True
    min_length: int = 3
    require_digit: bool = True
    email_amount: bool = False
    reference_since: date | None = None

    def __post_init__(self) -> None:
        where = f"profile {self.name!r}"
        for name in self.payment_fields:
            if name not in PAYMENT_FIELDS:
                raise InputError(where, "payment_fields", f"has unknown field {name!r}")
        for name in self.ledger_fields:
            if name not in LEDGER_FIELDS:
                raise InputError(where, "ledger_fields", f"has unknown field {name!r}")
        if not self.ledger_fields and self.payment_fields:
            raise InputError(where, "ledger_fields", "is empty while payment fields are set")
        if self.min_length < 1:
            raise InputError(where, "min_length", "must be at least 1")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise InputError(
                    where, "regex", f"is not a valid regular expression: {exc}"
                ) from exc


# The name used in the issue and the docs for a merchant-defined profile.
CustomProfile = MatchProfile


@dataclass(frozen=True, slots=True)
class RevenueGroupOverride:
    """What changes for clearings of one revenue group; None keeps the default.

    ``profile`` lets a group that sells through another webshop read its payments' references
    its own way; the run is still planned as one, so claims on an open item count across
    groups and profiles alike.
    """

    journal: str | None = None  # journal the clearing is booked in
    sales_journal: str | None = None  # journal whose open items this group's payments match
    debtors: str | None = None
    psp_costs: str | None = None
    payouts: str | None = None
    unassigned: str | None = None
    profile: str | MatchProfile | None = None  # a profile name or a custom profile


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the engine needs to know about one merchant's ledger."""

    gl: GLAccounts
    currencies: tuple[str, ...] = ("EUR",)
    sales_journal: str | None = None  # None: open items of any journal are candidates
    standard_debtor: str | None = None
    create_relations: bool = False
    book_inconsistent_difference: bool = False
    revenue_group_overrides: Mapping[str, RevenueGroupOverride] = field(
        default_factory=lambda: MappingProxyType({})
    )
    profile: str | MatchProfile = "generic"  # groups may override it (RevenueGroupOverride)
    date_window_days: int | None = None  # None: no date window on candidates

    def __post_init__(self) -> None:
        if not self.currencies:
            raise InputError("settings", "currencies", "must list at least one currency")
        if self.date_window_days is not None and self.date_window_days < 0:
            raise InputError("settings", "date_window_days", "must not be negative")
        if self.standard_debtor is not None and not self.standard_debtor.strip():
            raise InputError("settings", "standard_debtor", "must be None or a non-empty code")
