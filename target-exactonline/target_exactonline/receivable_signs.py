"""Reading an open item's kind and open amount without trusting the sign of its amount.

Exact's reference does not say which sign ``cashflow/Receivables`` gives an invoice. We read it
as positive [I] (exact-online-api.md §4.6); one public account (TimPelgrim/exactonline-mcp
``specs/003-open-receivables/research.md``) shows ``AmountDC`` as the remaining amount and
negative for an invoice. So the kind comes from ``TransactionType`` (20 sales entry, 21 credit
note: exact-online-api.md §4.11, picqer/exact-php-client ``TransactionLine.php``) and the amount
from its magnitude. The sign is only used to tell which convention the division follows: rows
that follow the other convention than the rest are set aside and reported, never read as
"every invoice is a credit note".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

SALES_ENTRY = 20
CREDIT_NOTE = 21
KINDS = frozenset({SALES_ENTRY, CREDIT_NOTE})

Convention = Literal["positive", "negative"]


def signed_open_amount(kind: int, amount: Decimal) -> Decimal:
    """The engine's sign: an invoice's open amount is positive, a credit note's negative."""
    magnitude = abs(amount)
    return magnitude if kind == SALES_ENTRY else -magnitude


def convention_of(kind: int, amount: Decimal) -> Convention | None:
    """Which convention one row follows (None for a zero amount, which says nothing)."""
    if amount == 0:
        return None
    invoice_positive = (amount > 0) == (kind == SALES_ENTRY)
    return "positive" if invoice_positive else "negative"


@dataclass(frozen=True, slots=True)
class SignedRow:
    invoice_number: int
    kind: int
    amount: Decimal  # as Exact served it


@dataclass(slots=True)
class SignReading:
    """The convention the open items follow, and the rows that disagree with it."""

    convention: Convention | None = None  # None: no row with an amount, or a tie
    counts: dict[Convention, int] = field(default_factory=dict)
    disagreeing: list[SignedRow] = field(default_factory=list)

    @property
    def disagreement(self) -> bool:
        return bool(self.disagreeing)

    @property
    def doubtful_invoices(self) -> frozenset[str]:
        """Invoice numbers (as the engine writes them) no payment may be linked to."""
        return frozenset(str(row.invoice_number) for row in self.disagreeing)

    def blocks(self, links: Iterable[str | None]) -> str | None:
        """Why a plan linking to ``links`` must wait, or None when it links to none of them."""
        doubtful = sorted({link for link in links if link in self.doubtful_invoices})
        if not doubtful:
            return None
        return (
            f"would link to {', '.join(doubtful)}, whose receivable amount has the sign of the "
            "other convention than the division's other open items (see the run's problems); "
            "not booked, retried next run"
        )

    def describe(self) -> str:
        """One line for the run report naming the rows set aside."""
        numbers = sorted({row.invoice_number for row in self.disagreeing})
        shown = ", ".join(str(n) for n in numbers[:10])
        more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
        positive, negative = self.counts.get("positive", 0), self.counts.get("negative", 0)
        if self.convention is None:
            how = f"as many open items show invoices positive ({positive}) as negative ({negative})"
        else:
            how = (
                f"{positive} open items show invoices positive and {negative} negative, so "
                f"the division reads as '{self.convention}'"
            )
        return (
            f"the sign of receivable amounts disagrees with their TransactionType: {how}; "
            f"a clearing that would link to invoice or credit note {shown}{more} waits. Check "
            "those items in Exact (cashflow/Receivables)"
        )


def read_signs(rows: Iterable[SignedRow]) -> SignReading:
    """Tally the convention of each row; the majority is the division's, the rest disagree."""
    by_convention: dict[Convention, list[SignedRow]] = {"positive": [], "negative": []}
    for row in rows:
        convention = convention_of(row.kind, row.amount)
        if convention is not None:
            by_convention[convention].append(row)
    positive, negative = by_convention["positive"], by_convention["negative"]
    reading = SignReading(counts={"positive": len(positive), "negative": len(negative)})
    if len(positive) > len(negative):
        reading.convention = "positive"
        reading.disagreeing = negative
    elif len(negative) > len(positive):
        reading.convention = "negative"
        reading.disagreeing = positive
    elif positive:
        # A tie: nothing says which rows are right, so none of them is trusted.
        reading.disagreeing = positive + negative
    return reading
