"""What the merchant generator takes: sizes, revenue groups, the mix of cases and fee settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

PLATFORMS = (
    "woocommerce",
    "magento2",
    "shopware6",
    "prestashop",
    "lightspeed",
    "shopify",
    "mijnwebwinkel",
    "ccvshop",
    "plugandpay",
)

INVOICE_SETTLEMENTS = ("per_clearing", "weekly", "none")
SETTLEMENT_AMOUNT_UNITS = ("cents", "euros")


@dataclass(frozen=True, slots=True)
class RevenueGroup:
    """A Pay. turnover group (CT-) and the webshop platform whose Pay. plugin feeds it.

    ``own_bank_account``: the group pays out to a bank account of its own, so its clearings come
    in settlements of their own (pay-api.md §7 [I]).
    """

    name: str
    platform: str
    own_bank_account: bool = False


@dataclass(frozen=True, slots=True)
class MethodFee:
    """Pay.'s price for one payment method: a fixed fee per transaction plus a percentage."""

    fixed_cents: int = 0
    percentage: Decimal = Decimal(0)


DEFAULT_METHOD_FEES: tuple[tuple[str, MethodFee], ...] = (
    ("iDEAL", MethodFee(fixed_cents=29)),
    ("Bancontact", MethodFee(fixed_cents=25, percentage=Decimal("1.40"))),
    ("Visa Mastercard", MethodFee(fixed_cents=25, percentage=Decimal("1.75"))),
    ("PayPal", MethodFee(fixed_cents=10, percentage=Decimal("2.90"))),
    ("Klarna", MethodFee(fixed_cents=30, percentage=Decimal("2.99"))),
    ("Apple Pay", MethodFee(fixed_cents=25, percentage=Decimal("1.75"))),
)


@dataclass(frozen=True, slots=True)
class FeeSettings:
    """Fees per payment method, and how Pay.'s fee invoices are paid.

    ``invoice_settlement``: ``per_clearing`` settles each day's fees against the balance in the
    clearing that pays that day out (one DEBIT line); ``weekly`` settles a week's invoice in the
    first clearing of the next week; ``none`` never settles fees against the balance (the
    merchant pays the invoices separately).
    """

    per_method: tuple[tuple[str, MethodFee], ...] = DEFAULT_METHOD_FEES
    invoice_settlement: str = "per_clearing"

    def fee_for(self, method: str) -> MethodFee:
        for name, fee in self.per_method:
            if name == method:
                return fee
        return MethodFee()


DEFAULT_PAYMENT_METHODS: tuple[tuple[str, int], ...] = (
    ("iDEAL", 70),
    ("Visa Mastercard", 12),
    ("Bancontact", 8),
    ("PayPal", 6),
    ("Klarna", 4),
)


@dataclass(frozen=True, slots=True)
class GeneratorParams:
    """Everything that shapes a generated merchant; the same params give byte-identical output.

    ``clearings_per_day``: payout runs per day; each run pays out one slice of the previous day's
    payments, in one clearing per revenue group when ``split_by_revenue_group`` (Pay.'s
    "payout per revenue group"), else in one clearing for all groups.
    ``payments_per_clearing``: a fixed count or an inclusive ``(low, high)`` range.
    ``late_settlements``: how many settlements are held back at start and revealed later
    (they keep their earlier settlement date), so a look-back can be tested.
    """

    seed: int = 1
    start_date: date = date(2025, 3, 3)
    days: int = 7
    clearings_per_day: int = 1
    payments_per_clearing: int | tuple[int, int] = (5, 20)
    revenue_groups: tuple[RevenueGroup, ...] = (RevenueGroup("Webshop", "woocommerce"),)
    split_by_revenue_group: bool = True
    refund_share: float = 0.05
    chargeback_share: float = 0.01
    fees: FeeSettings = field(default_factory=FeeSettings)
    payment_methods: tuple[tuple[str, int], ...] = DEFAULT_PAYMENT_METHODS
    currency: str = "EUR"
    late_settlements: int = 0
    merchant_name: str = "Voorbeeld Webwinkel BV"
    settlement_amount_unit: str = "cents"

    @property
    def payment_range(self) -> tuple[int, int]:
        if isinstance(self.payments_per_clearing, int):
            return self.payments_per_clearing, self.payments_per_clearing
        low, high = self.payments_per_clearing
        return low, high

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        problems: list[str] = []
        if self.days < 1:
            problems.append(f"days must be at least 1, got {self.days}")
        if self.clearings_per_day < 1:
            problems.append(f"clearings_per_day must be at least 1, got {self.clearings_per_day}")
        low, high = self.payment_range
        if low < 0 or high < low:
            problems.append(f"payments_per_clearing must be 0 <= low <= high, got {low}..{high}")
        if not self.revenue_groups:
            problems.append("revenue_groups must name at least one group")
        names = [g.name for g in self.revenue_groups]
        if len(set(names)) != len(names):
            problems.append(f"revenue_groups names must be unique, got {names}")
        for group in self.revenue_groups:
            if group.platform not in PLATFORMS:
                problems.append(
                    f"revenue_groups[{group.name!r}].platform {group.platform!r} is not one of "
                    f"{', '.join(PLATFORMS)}"
                )
        for name in ("refund_share", "chargeback_share"):
            share = getattr(self, name)
            if not 0 <= share <= 1:
                problems.append(f"{name} must be between 0 and 1, got {share}")
        if self.refund_share + self.chargeback_share > 1:
            problems.append("refund_share + chargeback_share must not exceed 1")
        if self.fees.invoice_settlement not in INVOICE_SETTLEMENTS:
            problems.append(
                f"fees.invoice_settlement must be one of {INVOICE_SETTLEMENTS}, "
                f"got {self.fees.invoice_settlement!r}"
            )
        if not self.payment_methods or any(w <= 0 for _, w in self.payment_methods):
            problems.append("payment_methods must list methods with positive weights")
        if len(self.currency) != 3 or not self.currency.isupper():
            problems.append(f"currency must be an ISO-4217 code, got {self.currency!r}")
        if self.late_settlements < 0:
            problems.append(f"late_settlements must not be negative, got {self.late_settlements}")
        if self.settlement_amount_unit not in SETTLEMENT_AMOUNT_UNITS:
            problems.append(
                f"settlement_amount_unit must be one of {SETTLEMENT_AMOUNT_UNITS}, "
                f"got {self.settlement_amount_unit!r}"
            )
        if problems:
            raise ValueError("invalid generator params: " + "; ".join(problems))
