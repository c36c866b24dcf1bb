"""Output model: a booking plan per clearing, one explained line per booking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .model import RecordKind


class Role(StrEnum):
    """Which GL account a line books on; the settings map roles to codes."""

    DEBTORS = "debtors"
    PSP_COSTS = "psp_costs"
    PAYOUTS = "payouts"
    UNASSIGNED = "unassigned"


class CustomerKind(StrEnum):
    """Where a line's ``customer`` comes from."""

    EXISTING = "existing"  # the customer id of an open item
    STANDARD_DEBTOR = "standard_debtor"  # the standard debtor code from the settings
    NEW_RELATION = "new_relation"  # temp id of a NewRelation in the plan


class Reason(StrEnum):
    """Machine-readable reason of a plan line (published in the package README)."""

    # Linked to an open item.
    MATCHED = "matched"
    SHOPIFY_EMAIL_AMOUNT = "shopify_email_amount"
    # Booked on a customer, not linked.
    AMOUNT_MISMATCH = "amount_mismatch"
    AMBIGUOUS = "ambiguous"
    CLAIMED_TWICE = "claimed_twice"
    EMAIL_CUSTOMER = "email_customer"
    # No candidate: where the money went (rule 6). ``cause`` says why there was none.
    STANDARD_DEBTOR = "standard_debtor"
    NEW_RELATION = "new_relation"
    UNASSIGNED = "unassigned"
    CHARGEBACK_UNMATCHED = "chargeback_unmatched"
    # Why there was no candidate (used as ``cause``).
    NO_REFERENCE = "no_reference"
    NO_CANDIDATE = "no_candidate"
    CURRENCY_MISMATCH = "currency_mismatch"
    # Lines that do not come from a payment record.
    FEE = "fee"
    OTHER_LINE = "other_line"
    PAYOUT = "payout"
    INCONSISTENT_DIFFERENCE = "inconsistent_difference"


LINK_REASONS = frozenset({Reason.MATCHED, Reason.SHOPIFY_EMAIL_AMOUNT})
# Lines a person should look at: they are booked, but something is off.
FLAGGED = frozenset(
    {
        Reason.CHARGEBACK_UNMATCHED,
        Reason.CLAIMED_TWICE,
        Reason.OTHER_LINE,
        Reason.INCONSISTENT_DIFFERENCE,
    }
)


class Status(StrEnum):
    READY = "ready"
    BLOCKED = "blocked"


class BlockReason(StrEnum):
    TOTALS_INCONSISTENT = "totals_inconsistent"
    RECORDS_INCOMPLETE = "records_incomplete"
    CURRENCY_NOT_SUPPORTED = "currency_not_supported"


MAX_CANDIDATES = 10  # candidates stored per line; ``candidate_count`` has the full number
MAX_DESCRIPTION = 60  # ledger line descriptions hold 60 characters


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One booking line. Money in is positive; the lines of a plan sum to zero.

    ``link`` (the invoice number) and ``open_item`` are set only when the line settles that
    open item exactly (reasons ``matched`` and ``shopify_email_amount``). ``candidates`` are
    the invoice numbers considered (sorted, at most 10; ``candidate_count`` is the total).
    ``description`` holds the key and the identifying codes that fit whole in 60 characters;
    ``notes`` names every identifying field in full, for the ledger line's notes.
    """

    role: Role
    gl: str
    amount: Decimal
    description: str
    reason: Reason
    explanation: str
    customer: str | None = None
    customer_kind: CustomerKind | None = None
    link: str | None = None
    open_item: str | None = None
    cause: Reason | None = None
    record_id: str | None = None
    record_kind: RecordKind | None = None
    candidates: tuple[str, ...] = ()
    candidate_count: int = 0
    hints: tuple[str, ...] = ()
    flagged: bool = False
    notes: str = ""  # what identifies the line in full, including what the description lacks


@dataclass(frozen=True, slots=True)
class NewRelation:
    """A customer the ledger should create before booking; lines refer to ``temp_id``."""

    temp_id: str
    name: str
    email: str | None
    record_ids: tuple[str, ...]  # 'clearing_id/record_id' of the records that need it


@dataclass(frozen=True, slots=True)
class Totals:
    """What the clearing says, in its currency; refunds, chargebacks and fees as magnitudes."""

    payments: Decimal
    refunds: Decimal
    chargebacks: Decimal
    fees: Decimal  # signed sum of fee and other lines, as money out (positive = deducted)
    payout: Decimal
    lines_net: Decimal  # signed sum of all clearing lines (CREDIT +, DEBIT -)
    difference: Decimal  # payout - (payments - refunds - chargebacks - fees)


@dataclass(frozen=True, slots=True)
class BookingPlan:
    """The plan for one clearing: ready to book, or blocked with the reason."""

    clearing_id: str
    key: str
    status: Status
    blocked_reason: BlockReason | None
    entry_date: date
    currency: str
    revenue_group: str | None
    journal: str | None  # journal override of the revenue group; None = the default journal
    description: str
    lines: tuple[PlanLine, ...]
    relations: tuple[NewRelation, ...]
    totals: Totals
    flags: tuple[str, ...]
    explanation: str

    @property
    def balance(self) -> Decimal:
        """Sum of the lines; zero for every ready plan."""
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def linked(self) -> tuple[PlanLine, ...]:
        return tuple(line for line in self.lines if line.link is not None)
