"""The Exact Online side of a generated merchant: one division whose open items mirror the
webshop orders that Pay. collected, with the awkward cases a bookkeeper meets.

Each order becomes a sales entry as the platform's Exact connector books it (YourRef,
Description and PaymentReference per webshop-references.md §3 and §5), except where a case says
otherwise. The cases, chosen by seeded chance:

- ``matched``: one open item of exactly the paid amount, in the payment's currency.
- ``partial``: the invoice is larger than what Pay. collected (a gift card paid the rest).
- ``currency_mismatch``: the invoice is in another currency than the payment.
- ``ambiguous``: a second open item carries the same YourRef (a duplicate import, or another
  customer's order with the same number).
- ``unknown_customer``: the customer has no Exact account and the order no invoice.
- refunds: a credit note (``credit_note``) or none (``refund_without_credit_note``);
  chargebacks never get one (``chargeback``) [I].
- ``paid_elsewhere``: extra invoices that Pay. never sees; some are already settled by a bank
  transfer booked in the real bank journal, the rest stay open.

The ``truth`` section records which order is which case, with invoice numbers and amounts, so
end-to-end tests can compute the expected bookings.
"""

from __future__ import annotations

import gc
import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pay_exact_sandbox.exact.data import ExactData

from .model import Merchant, Order

CENT = Decimal("0.01")
# Chart and journals of a typical Dutch division [I] (reference §4.3/§4.4).
GL_BANK, GL_PAY, GL_DEBTORS, GL_VAT = "1050", "1100", "1300", "1500"
GL_TRANSIT, GL_UNASSIGNED, GL_PSP_COSTS, GL_REVENUE = "2050", "2090", "4390", "8000"
JOURNAL_BANK, JOURNAL_PAY, JOURNAL_SALES, JOURNAL_GENERAL = "20", "25", "70", "90"
VAT_HIGH, VAT_NONE = "2", "0"
# Fixed rates into EUR for foreign-currency items [I].
EXCHANGE_RATES = {"USD": Decimal("0.92"), "GBP": Decimal("1.17"), "CHF": Decimal("1.05")}


@dataclass(frozen=True, slots=True)
class ExactSideParams:
    """Shares are per paid order (``paid_elsewhere_share``: extra invoices per paid order)."""

    seed: int = 1
    division_code: int = 123456
    closed_periods_before: int = 1
    partial_share: float = 0.05
    currency_mismatch_share: float = 0.02
    ambiguous_share: float = 0.03
    unknown_customer_share: float = 0.04
    credit_note_share: float = 0.8
    paid_elsewhere_share: float = 0.05
    paid_elsewhere_settled_share: float = 0.5
    vat_rate: Decimal = Decimal("0.21")
    sales_journal_per_group: bool = False
    lightspeed_invoice_numbers: bool = False

    def validate(self) -> None:
        problems = []
        for name in (
            "partial_share",
            "currency_mismatch_share",
            "ambiguous_share",
            "unknown_customer_share",
            "credit_note_share",
            "paid_elsewhere_share",
            "paid_elsewhere_settled_share",
        ):
            share = getattr(self, name)
            if not 0 <= share <= 1:
                problems.append(f"{name} must be between 0 and 1, got {share}")
        if self.partial_share + self.currency_mismatch_share + self.ambiguous_share > 1:
            problems.append("partial + currency_mismatch + ambiguous shares must not exceed 1")
        if self.closed_periods_before < 0:
            problems.append("closed_periods_before must not be negative")
        if not 0 < self.division_code < 2**31:
            problems.append(f"division_code must be a positive Int32, got {self.division_code}")
        if problems:
            raise ValueError("invalid Exact side params: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Presentation:
    """How a platform's Exact connector writes an order into a sales entry."""

    your_ref: str
    description: str
    payment_reference: str | None


def presentation(
    order: Order, *, invoice_number: str | None = None, lightspeed_invoices: bool = False
) -> Presentation:
    """YourRef, Description and PaymentReference per platform (webshop-references.md §3, §5)."""
    n = order.number
    platform = order.platform
    if platform == "magento2":
        # webwinkelfacturen: "Bestelnummer <o>, factuurnummer <f>", PaymentReference = invoice [C].
        invoice = invoice_number or n
        return Presentation(n, f"Bestelnummer {n}, factuurnummer {invoice}", invoice)
    if platform == "woocommerce":
        return Presentation(n, n, n)  # YourRef = order number [C wwf]
    if platform == "lightspeed":
        number = order.shop_ids.get("invoiceNumber", n) if lightspeed_invoices else n
        return Presentation(number, number, number)  # ORD… or INV… per connector setting [C]
    if platform == "prestashop":
        # Exact holds the shop's order reference, never the cart id Pay. sees [I].
        order_id = order.shop_ids.get("orderId", n)
        return Presentation(n, f"Bestelling {order_id}", None)
    if platform == "shopify":
        return Presentation(n, f"Order {n}", None)  # the order name, e.g. #1001 [I]
    if platform == "plugandpay":
        return Presentation(n, f"Factuur {n}", n)
    if platform == "shopware6":
        return Presentation(n, f"Bestelnummer {n}", n)  # [I]
    if platform == "mijnwebwinkel":
        return Presentation(n, f"Bestelling {n}", n)  # [I]
    return Presentation(n, f"Order {n}", n)  # ccvshop and others [I]


def _record_index(merchant: Merchant) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for record in merchant.pay.get("clearingRecords", []):
        index[record["reportingId"]] = record
    return index


def _record_day(record: dict[str, Any] | None, fallback: date) -> date:
    if record is None or not record.get("transactionDate"):
        return fallback
    return date.fromisoformat(str(record["transactionDate"])[:10])


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


class _Numbers:
    """Exact entry numbers per journal and year, as the sandbox assigns them (YY JJ NNNN) [I]."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def take(self, journal: str, year: int) -> int:
        key = (journal, year)
        base = (year % 100) * 1_000_000 + (int(journal) % 100) * 10_000
        number = self._next.get(key, base) + 1
        self._next[key] = number
        return number


class _Builder:
    def __init__(self, merchant: Merchant, params: ExactSideParams) -> None:
        self.m = merchant
        self.p = params
        merchant_info = (merchant.pay.get("merchants") or [{}])[0]
        self.merchant_code = merchant_info.get("code", "")
        self.name = merchant_info.get("name") or "Webwinkel"
        self.rng = random.Random(f"exact-side:{params.seed}:{self.merchant_code}")
        self.numbers = _Numbers()
        self.records = _record_index(merchant)
        self.sales: list[dict[str, Any]] = []
        self.bank: list[dict[str, Any]] = []
        self.truth_orders: dict[str, dict[str, Any]] = {}
        self.truth_records: dict[str, dict[str, Any]] = {}
        self.paid_elsewhere: list[dict[str, Any]] = []
        self.invoice_seq = 1 + self.rng.randrange(0, 500)
        groups = []
        for order in merchant.orders:
            if order.revenue_group not in groups:
                groups.append(order.revenue_group)
        for group in merchant.pay.get("turnoverGroups", []):
            if group["code"] not in groups:
                groups.append(group["code"])
        self.groups = groups
        self.group_names = {g["code"]: g["name"] for g in merchant.pay.get("turnoverGroups", [])}
        self.revenue_gl = {code: str(8000 + 10 * i) for i, code in enumerate(groups)}
        self.sales_journal = {
            code: str(70 + i) if params.sales_journal_per_group else JOURNAL_SALES
            for i, code in enumerate(groups)
        }

    # -- master data -------------------------------------------------------------------------
    def gl_accounts(self) -> list[dict[str, Any]]:
        gls = [
            {"Code": GL_BANK, "Description": "Bank", "Type": 12},
            {"Code": GL_PAY, "Description": "Pay. tussenrekening", "Type": 12},
            {"Code": GL_DEBTORS, "Description": "Debiteuren", "Type": 20},
            {"Code": GL_VAT, "Description": "Te betalen btw hoog", "Type": 24},
            # Payouts in transit are a general balance account here [I].
            {"Code": GL_TRANSIT, "Description": "Pay. uitbetalingen onderweg", "Type": 90},
            {"Code": GL_UNASSIGNED, "Description": "Nog te verwerken betalingen", "Type": 90},
            {"Code": GL_PSP_COSTS, "Description": "Kosten betaalprovider", "Type": 120},
        ]
        for code in self.groups:
            name = self.group_names.get(code, code)
            gls.append({"Code": self.revenue_gl[code], "Description": f"Omzet {name}", "Type": 110})
        return gls

    def journals(self) -> list[dict[str, Any]]:
        journals = [
            {"Code": JOURNAL_BANK, "Description": "Bank", "Type": 12, "GLAccountCode": GL_BANK},
            {"Code": JOURNAL_PAY, "Description": "Pay.", "Type": 12, "GLAccountCode": GL_PAY},
            {"Code": JOURNAL_GENERAL, "Description": "Memoriaal", "Type": 90},
        ]
        for code in sorted(set(self.sales_journal.values())):
            journals.append(
                {
                    "Code": code,
                    "Description": "Verkoopboek"
                    if code == JOURNAL_SALES
                    else f"Verkoopboek {code}",
                    "Type": 20,
                    "AllowVariableCurrency": True,
                }
            )
        return journals

    def financial_years(self, days: list[date]) -> list[dict[str, Any]]:
        first = min(days)
        last = max(days)
        closed: set[tuple[int, int]] = set()
        year, month = first.year, first.month
        for _ in range(self.p.closed_periods_before):
            month -= 1
            if month == 0:
                year, month = year - 1, 12
            closed.add((year, month))
        years = range(min([first.year, *(y for y, _ in closed)]), last.year + 2)
        return [
            {"year": y, "closed_periods": sorted(m for cy, m in closed if cy == y)} for y in years
        ]

    # -- sales -------------------------------------------------------------------------------
    def sale(
        self,
        *,
        account_code: str,
        group: str,
        day: date,
        amount: Decimal,
        currency: str,
        shown: Presentation,
        credit_note: bool = False,
    ) -> int:
        journal = self.sales_journal.get(group, JOURNAL_SALES)
        number = self.numbers.take(journal, day.year)
        gross = abs(amount)
        net = _money(gross / (1 + self.p.vat_rate))
        entry: dict[str, Any] = {
            "Journal": journal,
            "CustomerCode": account_code,
            "EntryDate": day.isoformat(),
            "EntryNumber": number,
            "YourRef": shown.your_ref,
            "Description": shown.description,
            "Currency": currency,
            "SalesEntryLines": [
                {
                    "GLAccountCode": self.revenue_gl.get(group, GL_REVENUE),
                    "AmountFC": net,
                    "VATCode": VAT_HIGH,
                    "VATAmountFC": gross - net,
                    "Description": shown.description,
                }
            ],
        }
        if shown.payment_reference is not None:
            entry["PaymentReference"] = shown.payment_reference
        if credit_note:
            entry["Type"] = 21
            entry["Description"] = f"Creditnota {shown.description}"
        self.sales.append(entry)
        return number

    def build(self) -> ExactData:
        p, rng = self.p, self.rng
        customers = self.m.customers
        unknown = {c.id for c in customers if rng.random() < p.unknown_customer_share}
        codes: dict[str, str] = {}
        accounts = []
        for index, customer in enumerate(customers):
            if customer.id in unknown:
                continue
            code = str(10001 + index)
            codes[customer.id] = code
            accounts.append(
                {
                    "Code": code,
                    "Name": customer.name,
                    "Email": customer.email,
                    "Country": customer.country,
                    "SearchCode": customer.id[-10:],
                }
            )
        known = [c.id for c in customers if c.id in codes]
        for order in self.m.orders:
            self.order(order, codes, known)
        days = [o.order_date for o in self.m.orders] or [date.today()]  # noqa: DTZ011
        self.paid_elsewhere_items(codes, known, min(days), max(days))
        truth = {
            "division": p.division_code,
            "journals": {
                "bank": JOURNAL_BANK,
                "pay": JOURNAL_PAY,
                "sales": sorted(set(self.sales_journal.values())),
                "general": JOURNAL_GENERAL,
            },
            "gl_accounts": {
                "bank": GL_BANK,
                "pay": GL_PAY,
                "debtors": GL_DEBTORS,
                "vat": GL_VAT,
                "transit": GL_TRANSIT,
                "unassigned": GL_UNASSIGNED,
                "psp_costs": GL_PSP_COSTS,
                "revenue": self.revenue_gl,
            },
            "accounts": codes,
            "orders": self.truth_orders,
            "reversals": self.truth_records,
            "paid_elsewhere": self.paid_elsewhere,
            "counts": self.counts(),
        }
        return ExactData(
            division={
                "Code": p.division_code,
                "Description": self.name,
                "Currency": "EUR",
                "Country": "NL",
            },
            user={"FullName": "Boekhouding", "Email": "boekhouding@example.invalid"},
            gl_accounts=self.gl_accounts(),
            journals=self.journals(),
            financial_years=self.financial_years(days),
            vat_codes=[
                {
                    "Code": VAT_HIGH,
                    "Description": "Btw hoog",
                    "Percentage": str(p.vat_rate),
                    "GLAccountCode": GL_VAT,
                },
                {"Code": VAT_NONE, "Description": "Geen btw", "Percentage": "0"},
            ],
            exchange_rates={k: str(v) for k, v in EXCHANGE_RATES.items()},
            accounts=accounts,
            sales_entries=self.sales,
            bank_entries=self.bank,
            truth={"exact": truth},
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for fact in self.truth_orders.values():
            counts[fact["case"]] = counts.get(fact["case"], 0) + 1
        for fact in self.truth_records.values():
            counts[fact["case"]] = counts.get(fact["case"], 0) + 1
        counts["paid_elsewhere"] = len(self.paid_elsewhere)
        return counts

    def order(self, order: Order, codes: dict[str, str], known: list[str]) -> None:
        p, rng = self.p, self.rng
        fact: dict[str, Any] = {
            "platform": order.platform,
            "revenue_group": order.revenue_group,
            "customer_id": order.customer_id,
            "account_code": codes.get(order.customer_id),
            "paid_amount": order.amount,
            "currency": order.currency,
            "payment_record": order.payment_record,
            "invoice_numbers": [],
        }
        key = f"{order.revenue_group}/{order.number}"
        self.truth_orders[key] = fact
        if order.customer_id not in codes:
            fact["case"] = "unknown_customer"
            self.reversals(order, codes, fact, shown=None)
            return
        invoice = None
        if order.platform == "magento2":
            invoice = f"{self.invoice_seq:09d}"
            self.invoice_seq += 1
        shown = presentation(
            order, invoice_number=invoice, lightspeed_invoices=p.lightspeed_invoice_numbers
        )
        fact.update(
            {
                "your_ref": shown.your_ref,
                "description": shown.description,
                "payment_reference": shown.payment_reference,
            }
        )
        roll = rng.random()
        amount, currency, case = order.amount, order.currency, "matched"
        if roll < p.partial_share:
            case = "partial"
            amount = order.amount + _money(Decimal(rng.randrange(195, 2500)) / 100)
        elif roll < p.partial_share + p.currency_mismatch_share:
            case = "currency_mismatch"
            currency = rng.choice(sorted(c for c in EXCHANGE_RATES if c != order.currency))
        elif roll < p.partial_share + p.currency_mismatch_share + p.ambiguous_share:
            case = "ambiguous"
        account = codes[order.customer_id]
        number = self.sale(
            account_code=account,
            group=order.revenue_group,
            day=order.order_date,
            amount=amount,
            currency=currency,
            shown=shown,
        )
        fact.update(
            {
                "case": case,
                "invoice_numbers": [number],
                "invoice_amount": amount,
                "invoice_currency": currency,
            }
        )
        if case == "ambiguous":
            # Same YourRef again: a duplicate import (same customer and amount) or another
            # customer's order that happens to carry the same number.
            duplicate = rng.random() < 0.5 or len(known) < 2
            other = account if duplicate else self.other_account(account, known, codes)
            other_amount = (
                amount if duplicate else _money(amount + Decimal(rng.randrange(100, 900)) / 100)
            )
            second = self.sale(
                account_code=other,
                group=order.revenue_group,
                day=order.order_date,
                amount=other_amount,
                currency=currency,
                shown=shown,
            )
            fact["invoice_numbers"].append(second)
            fact["ambiguous_with"] = {
                "account_code": other,
                "invoice_number": second,
                "amount": other_amount,
                "duplicate": duplicate,
            }
        self.reversals(order, codes, fact, shown=shown)

    def other_account(self, account: str, known: list[str], codes: dict[str, str]) -> str:
        while True:
            candidate = codes[self.rng.choice(known)]
            if candidate != account:
                return candidate

    def reversals(
        self,
        order: Order,
        codes: dict[str, str],
        fact: dict[str, Any],
        *,
        shown: Presentation | None,
    ) -> None:
        for reporting_id in order.refund_records:
            record = self.records.get(reporting_id)
            day = _record_day(record, order.order_date)
            truth: dict[str, Any] = {
                "kind": "refund",
                "order": f"{order.revenue_group}/{order.number}",
                "amount": -order.amount,
                "account_code": codes.get(order.customer_id),
            }
            if shown is not None and self.rng.random() < self.p.credit_note_share:
                number = self.sale(
                    account_code=codes[order.customer_id],
                    group=order.revenue_group,
                    day=day,
                    amount=-order.amount,
                    currency=fact.get("invoice_currency", order.currency),
                    shown=shown,
                    credit_note=True,
                )
                truth.update({"case": "credit_note", "credit_note_number": number})
                fact["credit_note_number"] = number
            else:
                truth["case"] = "refund_without_credit_note"
            self.truth_records[reporting_id] = truth
        for reporting_id in order.chargeback_records:
            self.truth_records[reporting_id] = {
                "kind": "chargeback",
                "case": "chargeback",
                "order": f"{order.revenue_group}/{order.number}",
                "amount": -order.amount,
                "account_code": codes.get(order.customer_id),
            }

    # -- invoices Pay. never sees --------------------------------------------------------------
    def paid_elsewhere_items(
        self, codes: dict[str, str], known: list[str], first: date, last: date
    ) -> None:
        orders = [o for o in self.m.orders if o.customer_id in codes]
        if not orders or not known:
            return
        rng = self.rng
        wanted = int(len(self.m.orders) * self.p.paid_elsewhere_share + rng.random())
        taken = {(o.platform, o.number) for o in self.m.orders}
        span = (last - first).days
        for _ in range(wanted):
            template = rng.choice(orders)
            number = self.fresh_number(template, taken)
            taken.add((template.platform, number))
            day = first + timedelta(days=rng.randrange(0, span + 1))
            amount = _money(Decimal(rng.randrange(495, 25000)) / 100)
            account = codes[rng.choice(known)]
            fake = Order(
                number=number,
                platform=template.platform,
                revenue_group=template.revenue_group,
                customer_id="",
                amount=amount,
                currency=template.currency,
                order_date=day,
                pay_order_id="",
                transaction_id="",
                payment_record="",
                # Lightspeed numbers an order's invoice like the order: ORD00042 -> INV00042.
                shop_ids={"invoiceNumber": "INV" + number[3:]} if number.startswith("ORD") else {},
            )
            invoice = None
            if template.platform == "magento2":
                invoice = f"{self.invoice_seq:09d}"
                self.invoice_seq += 1
            shown = presentation(
                fake, invoice_number=invoice, lightspeed_invoices=self.p.lightspeed_invoice_numbers
            )
            invoice_number = self.sale(
                account_code=account,
                group=template.revenue_group,
                day=day,
                amount=amount,
                currency=template.currency,
                shown=shown,
            )
            settled = rng.random() < self.p.paid_elsewhere_settled_share
            item = {
                "platform": template.platform,
                "your_ref": shown.your_ref,
                "account_code": account,
                "invoice_number": invoice_number,
                "amount": amount,
                "date": day.isoformat(),
                "settled": settled,
            }
            if settled:
                paid_on = min(day + timedelta(days=rng.randrange(1, 6)), last)
                self.bank.append(
                    {
                        "JournalCode": JOURNAL_BANK,
                        "BankEntryLines": [
                            {
                                "Date": paid_on.isoformat(),
                                "GLAccountCode": GL_DEBTORS,
                                "AccountCode": account,
                                "OurRef": invoice_number,
                                "AmountFC": amount,
                                "Description": f"Overboeking {shown.your_ref}",
                            }
                        ],
                    }
                )
                item["paid_on"] = paid_on.isoformat()
            self.paid_elsewhere.append(item)

    def fresh_number(self, template: Order, taken: set[tuple[str, str]]) -> str:
        """An order number in the template's shape that no Pay. order carries."""
        rng = self.rng
        text = template.number
        head = text.rstrip(string.digits)
        digits = text[len(head) :]
        # Numbers well above the merchant's own: 50,000 up, further for a merchant with more
        # orders than that (a backfill of hundreds of thousands would leave no free number).
        reach = max(50_000, 2 * len(self.m.orders))
        for _ in range(1000):
            if digits:
                value = int(digits) + reach + rng.randrange(0, reach)
                candidate = f"{head}{value:0{len(digits)}d}"
            else:
                candidate = "".join(rng.choice(string.ascii_uppercase) for _ in text)
            if (template.platform, candidate) not in taken:
                return candidate
        raise RuntimeError("no free order number found")  # pragma: no cover


def build_exact_data(merchant: Merchant, params: ExactSideParams | None = None) -> ExactData:
    """The Exact division of ``merchant``; the same merchant and params give the same data."""
    params = params or ExactSideParams()
    params.validate()
    # Many small long-lived objects: cyclic GC passes only cost time here (as in build.py).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Builder(merchant, params).build()
    finally:
        if was_enabled:
            gc.enable()


def combined_fixture(merchant: Merchant, data: ExactData) -> dict[str, Any]:
    """One fixture document for both sandboxes: ``pay``, ``exact`` and the merged ``truth``."""
    document = merchant.to_json()
    document["exact"] = data.to_dict()
    document["truth"] = {**document.get("truth", {}), **data.truth}
    return document
