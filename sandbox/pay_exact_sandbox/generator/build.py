"""The deterministic merchant generator: payments, refunds, chargebacks and fees, paid out in
clearings and settlements whose sums agree, plus the webshop orders and customers behind them.

Amounts are integer cents throughout; invoice lines carry decimal euros as Pay. sends them.
"""

from __future__ import annotations

import gc
import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any

from . import catalog
from .ids import IdFactory
from .model import Customer, Merchant, Order
from .names import COUNTRIES, FIRST_NAMES, LAST_NAMES
from .params import GeneratorParams
from .platforms import OrderNumbering, PlatformOrder
from .timefmt import amsterdam_timestamp

PAY_BASE_IBAN = "NL66RABO0311245478"  # [I] the Pay. account money leaves from
PLUGIN_OBJECTS = {
    "woocommerce": "woocommerce 4.0.3",
    "magento2": "magento2 4.1.2",
    "shopware6": "shopware6 2.3.1",
    "prestashop": "prestashop 4.18.0",
    "lightspeed": "lightspeed app",
    "shopify": "shopify payments app",
    "mijnwebwinkel": "mijnwebwinkel",
    "ccvshop": "ccvshop app",
    "plugandpay": "unknown",
}
_STATUS = {
    "paid": {"code": 100, "action": "PAID", "phase": "APPROVED"},
    "refunded": {"code": -81, "action": "REFUND", "phase": "APPROVED"},  # [I] phase
    "charged_back": {"code": -71, "action": "CHARGEBACK", "phase": "APPROVED"},  # [I] phase
}
_UNIT_TRANSACTION = {"id": 11, "name": "transaction"}  # [I] id
_UNIT_PERCENTAGE = {"id": 12, "name": "percentage"}
_LINE_UNIT = {"id": 1, "name": "amount"}  # [I] clearing lines' unitType is undocumented
_CENT = Decimal("0.01")
_DAY_SECONDS = 24 * 3600
_COUNTRY_CODES = [code for code, _ in COUNTRIES]
_COUNTRY_CUMULATIVE = list(accumulate(weight for _, weight in COUNTRIES))


def generate(params: GeneratorParams | None = None) -> Merchant:
    """Make a merchant; the same params always give the same (byte-identical) merchant."""
    params = params or GeneratorParams()
    params.validate()
    # Hundreds of thousands of small, long-lived objects: cyclic GC passes only cost time here.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Builder(params).build()
    finally:
        if was_enabled:
            gc.enable()


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _euros(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@dataclass(slots=True)
class _Group:
    code: str
    name: str
    platform: str
    bank: dict[str, Any]
    service: str
    numbering: OrderNumbering
    ref: dict[str, str]  # {"code", "name"} as records and lines carry it


@dataclass(slots=True)
class _Debit:
    """Something that lowers a payout: a refund or chargeback record, or a fee invoice."""

    kind: str  # "refund" | "chargeback" | "invoice"
    cents: int
    group: _Group
    record: dict[str, Any] | None = None
    customer_id: str = ""
    invoice_lines: list[dict[str, Any]] = field(default_factory=list)
    paid: _Payment | None = None  # the payment a refund or chargeback reverses


@dataclass(slots=True)
class _Payment:
    record: dict[str, Any]
    order: Order
    transaction: dict[str, Any]
    group: _Group
    method: str
    cents: int


class _Builder:
    def __init__(self, params: GeneratorParams) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.ids = IdFactory(self.rng, params.start_date.year)
        self.currency = params.currency
        rng = self.rng
        merchant_code = self.ids.object_code("M")
        self.merchant_full = {
            "code": merchant_code,
            "name": params.merchant_name,
            "status": "ACTIVE",
            "incorporationCountry": "NL",
            "contractPackage": "Business",
        }
        self.merchant_line = {
            "code": merchant_code,
            "name": params.merchant_name,
            "contractPackage": "Business",
        }
        self.merchant_short = {"code": merchant_code, "contractPackage": "Business"}
        self.account_code = self.ids.object_code("A")
        main_bank = self._bank_account()
        self.groups: list[_Group] = []
        for spec in params.revenue_groups:
            code = self.ids.object_code("CT")
            self.groups.append(
                _Group(
                    code=code,
                    name=spec.name,
                    platform=spec.platform,
                    bank=self._bank_account() if spec.own_bank_account else main_bank,
                    service=self.ids.object_code("SL"),
                    numbering=OrderNumbering(spec.platform, rng, self.ids, params.merchant_name),
                    ref={"code": code, "name": spec.name},
                )
            )
        if params.split_by_revenue_group:
            self.partitions = [[g] for g in self.groups]
        else:
            self.partitions = [list(self.groups)]
        methods = [m for m, _ in params.payment_methods]
        unknown = [m for m in methods if m not in catalog.PAYMENT_METHODS]
        if unknown:
            raise ValueError(
                f"invalid generator params: payment_methods {unknown} are not among "
                f"{sorted(catalog.PAYMENT_METHODS)}"
            )
        self.methods = methods
        self.method_cumulative = list(accumulate(w for _, w in params.payment_methods))
        self.method_total = self.method_cumulative[-1]
        self.customer_json: dict[str, dict[str, Any]] = {}
        self.customers: list[Customer] = []
        self.orders: list[Order] = []
        self.records: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []
        self.settlements: list[dict[str, Any]] = []
        self.invoice_lines: list[dict[str, Any]] = []
        # Per partition: orders paid on earlier days that may still be refunded or charged back.
        self.refundable: list[list[_Payment]] = [[] for _ in self.partitions]
        self.pending: list[list[_Debit]] = [[] for _ in self.partitions]
        # (day, group code, method) -> [transactions, volume cents, payer ids]; fees are per day.
        self.fee_stats: dict[tuple[date, str, str], list[Any]] = {}
        self.invoiced: set[tuple[date, str, str]] = set()

    # ----- reference data -------------------------------------------------------------
    def _bank_account(self) -> dict[str, Any]:
        return {
            "code": self.ids.object_code("BA"),
            "status": "APPROVED",
            "method": "iban",
            "iban": {
                "iban": self.ids.iban("BANK"),
                "bic": "BANKNL2A",
                "owner": self.p.merchant_name,
            },
        }

    def _turnover_groups(self) -> list[dict[str, Any]]:
        created = amsterdam_timestamp(self.p.start_date - timedelta(days=400), 9 * 3600)
        return [
            {
                "code": g.code,
                "name": g.name,
                "default": index == 0,
                "description": f"{g.platform} webshop",
                "paymentDescription": None,
                "merchant": {
                    "code": self.merchant_full["code"],
                    "status": "ACTIVE",
                    "name": self.p.merchant_name,
                },
                "bankAccount": g.bank,
                "createdAt": created,
                "createdBy": self.account_code,
                "modifiedAt": None,
                "modifiedBy": None,
                "deletedAt": None,
                "deletedBy": None,
            }
            for index, g in enumerate(self.groups)
        ]

    def _tokens(self) -> list[dict[str, Any]]:
        merchants = [self.merchant_full["code"]]
        return [
            {
                "code": self.ids.object_code("AT"),
                "token": self.ids.token(),
                "permissions": ["clearing", "transactions"],
                "merchants": merchants,
            },
            {
                # A token Pay. has not yet given the clearing permission group (gets 403).
                "code": self.ids.object_code("AT"),
                "token": self.ids.token(),
                "permissions": ["transactions"],
                "merchants": merchants,
            },
        ]

    # ----- customers and payments -------------------------------------------------------
    def _customer(self) -> Customer:
        rng = self.rng
        if self.customers and rng.random() < 0.4:
            return self.customers[int(rng.random() * len(self.customers))]
        first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
        number = len(self.customers) + 1
        country = _COUNTRY_CODES[
            bisect(_COUNTRY_CUMULATIVE, rng.random() * _COUNTRY_CUMULATIVE[-1])
        ]
        local = _ascii(f"{first}.{last}".lower().replace(" ", ""))
        customer = Customer(
            id=f"CUST-{number:06d}",
            name=f"{first} {last}",
            email=f"{local}{number}@example.{'com' if country == 'DE' else country.lower()}",
            country=country,
        )
        self.customers.append(customer)
        first_name, _, last_name = customer.name.partition(" ")
        # One shared object per customer: transactions never change it.
        self.customer_json[customer.id] = {
            "email": customer.email,
            "firstName": first_name,
            "lastName": last_name,
            "locale": "de_DE" if country == "DE" else "nl_NL",
            "company": None,
        }
        return customer

    def _amount_cents(self) -> int:
        rng = self.rng
        if rng.random() < 0.05:
            return 25_000 + int(rng.random() * 225_000)
        return 495 + int(rng.random() * 24_500)

    def _payment(self, group: _Group, day: date, second: int) -> _Payment:
        rng = self.rng
        customer = self._customer()
        placed: PlatformOrder = group.numbering.next_order(day, customer.email)
        method = self.methods[bisect(self.method_cumulative, rng.random() * self.method_total)]
        method_type = catalog.PAYMENT_METHODS[method]
        cents = self._amount_cents()
        money = {"value": cents, "currency": self.currency}
        order_id = self.ids.order_id()
        transaction_id = self.ids.transaction_id()
        stamp = amsterdam_timestamp(day, second)
        payment_method = {"id": method_type.id, "subId": None, "name": method}
        record = {
            "reportingId": self.ids.reporting_id(),
            "settlementCode": None,
            "clearingId": None,
            "orderId": order_id,
            "description": placed.description,
            "reference": placed.reference,
            "currencyAmount": money,
            "amount": money,
            "paymentMethod": payment_method,
            "turnoverGroup": group.ref,
            "merchant": self.merchant_full,
            "transactionDate": stamp,
        }
        transaction = {
            "id": transaction_id,
            "serviceId": group.service,
            "description": placed.description,
            "reference": placed.reference,
            "manualTransferCode": self.ids.manual_transfer_code(),
            "orderId": order_id,
            "amount": money,
            "amountConverted": money,
            "amountPaid": money,
            "amountRefunded": {"value": 0, "currency": self.currency},
            "paymentMethod": payment_method,
            "status": _STATUS["paid"],
            "integration": {"testMode": False},
            "customer": self.customer_json[customer.id],
            "order": {"countryCode": customer.country, "products": []},
            "stats": {
                "info": "",
                "tool": "",
                "object": PLUGIN_OBJECTS[group.platform],
                "extra1": placed.extra1,
                "extra2": placed.extra2,
                "extra3": placed.extra3,
                "domainId": None,
            },
            "type": "ECOM",
            "transferData": [],
            "created": stamp,
            "modified": stamp,
            "expire": amsterdam_timestamp(day, min(second + 900, _DAY_SECONDS - 1)),
        }
        order = Order(
            number=placed.number,
            platform=group.platform,
            revenue_group=group.code,
            customer_id=customer.id,
            amount=_euros(cents),
            currency=self.currency,
            order_date=day,
            pay_order_id=order_id,
            transaction_id=transaction_id,
            payment_record=record["reportingId"],
            shop_ids=placed.shop_ids,
        )
        self.orders.append(order)
        self.transactions.append(transaction)
        stats = self.fee_stats.get((day, group.code, method))
        if stats is None:
            stats = self.fee_stats[(day, group.code, method)] = [0, 0, set()]
        stats[0] += 1
        stats[1] += cents
        stats[2].add(customer.id)
        return _Payment(record, order, transaction, group, method, cents)

    def _reversal(self, paid: _Payment, kind: str, day: date, second: int) -> _Debit:
        """A refund or chargeback of an earlier payment: a negative record [I] on the same
        Pay. order id. It takes effect (order and transaction status) once a clearing holds it."""
        money = {"value": -paid.cents, "currency": self.currency}
        record = {
            **paid.record,
            "reportingId": self.ids.reporting_id(),
            "settlementCode": None,
            "clearingId": None,
            "currencyAmount": money,
            "amount": money,
            "transactionDate": amsterdam_timestamp(day, second),
        }
        return _Debit(
            kind,
            paid.cents,
            paid.group,
            record=record,
            customer_id=paid.order.customer_id,
            paid=paid,
        )

    def _apply_reversal(self, item: _Debit) -> None:
        paid, record = item.paid, item.record
        assert paid is not None
        assert record is not None
        order = paid.order
        if item.kind == "refund":
            order.refund_records.append(record["reportingId"])
            order.status = "refunded"
            paid.transaction["amountRefunded"] = {"value": paid.cents, "currency": self.currency}
            paid.transaction["status"] = _STATUS["refunded"]
        else:
            order.chargeback_records.append(record["reportingId"])
            order.status = "charged_back"
            paid.transaction["status"] = _STATUS["charged_back"]
        paid.transaction["modified"] = record["transactionDate"]

    # ----- fees --------------------------------------------------------------------------
    def _invoice(self, keys: list[tuple[date, str, str]], state: str) -> _Debit | None:
        """Turn a day, group and method set of fee stats into one Pay. invoice (decimal euros)."""
        keys = [k for k in keys if k not in self.invoiced]
        if not keys:
            return None
        invoice_id = self.ids.invoice_id() if state != "OPEN" else None
        lines = []
        total_cents = 0
        for key in keys:
            self.invoiced.add(key)
            lines.append(self._invoice_line(key, state, invoice_id))
            total_cents += int(lines[-1]["totalCosts"]["totalCosts"].scaleb(2))
        group = next(g for g in self.groups if g.code == keys[0][1])
        return _Debit("invoice", total_cents, group, invoice_lines=lines)

    def _invoice_line(
        self, key: tuple[date, str, str], state: str, invoice_id: str | None
    ) -> dict[str, Any]:
        day, group_code, method = key
        count, volume_cents, payers = self.fee_stats[key]
        fee = self.p.fees.fee_for(method)
        group = next(g for g in self.groups if g.code == group_code)
        type_id = catalog.PAYMENT_METHODS[method].id
        processed = (day + timedelta(days=1)).isoformat()
        sub_lines = []
        total = Decimal(0)
        if fee.fixed_cents:
            costs = _euros(fee.fixed_cents * count)
            total += costs
            sub_lines.append(
                {
                    "code": self.ids.finance_line_code(),
                    "unitType": _UNIT_TRANSACTION,
                    "amount": _euros(fee.fixed_cents),
                    "costs": {"revenue": costs, "currency": self.currency},
                    "processedDate": processed,
                }
            )
        if fee.percentage:
            costs = (_euros(volume_cents) * fee.percentage / 100).quantize(_CENT, ROUND_HALF_UP)
            total += costs
            sub_lines.append(
                {
                    "code": self.ids.finance_line_code(),
                    "unitType": _UNIT_PERCENTAGE,
                    "amount": fee.percentage,
                    "costs": {"revenue": costs, "currency": self.currency},
                    "processedDate": processed,
                }
            )
        line = {
            "code": f"{day.isoformat()}_{group_code}-{type_id}",
            "merchant": self.merchant_short,
            "turnoverGroup": group.ref,
            "billingLineType": {"id": type_id, "name": method},
            "volume": {"amount": _euros(volume_cents), "currency": self.currency},
            "totalCosts": {"totalCosts": total.quantize(_CENT), "currency": self.currency},
            "transactions": count,
            "payers": len(payers),
            "vatPercentage": 21,
            "date": day.isoformat(),
            "valueDate": day.isoformat(),
            "paymentDate": None,
            "state": state,
            "invoiceID": invoice_id,
            "lines": sub_lines,
        }
        self.invoice_lines.append(line)
        return line

    def _fee_keys(self, partition: list[_Group], before: date, on: date | None = None) -> list:
        codes = {g.code for g in partition}
        return [
            k
            for k in self.fee_stats
            if k[1] in codes and k not in self.invoiced and (k[0] == on if on else k[0] < before)
        ]

    # ----- clearings and settlements -------------------------------------------------------
    def _clearing_line(
        self,
        line_type: catalog.LineType,
        group: _Group,
        cents: int,
        *,
        transactions: int,
        payers: int,
        value_day: date,
        settle_day: date,
    ) -> dict[str, Any]:
        settled = settle_day.isoformat()
        return {
            "code": self.ids.finance_line_code(),
            "clearingDate": settled,
            "settlementDate": settled,
            "valueDate": value_day.isoformat(),
            "processedDate": settled,
            "state": "SETTLED",
            "turnoverGroup": group.ref,
            "clearingLineType": {
                "id": line_type.id,
                "name": line_type.name,
                "direction": line_type.direction,
                "collecting": True,
            },
            "unitType": _LINE_UNIT,
            "amount": {"value": cents, "currency": self.currency},
            "merchant": self.merchant_line,
            "transactions": transactions,
            "uniquePayers": payers,
        }

    def _clear(
        self,
        index: int,
        payments: list[_Payment],
        value_day: date,
        settle_day: date,
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int] | None:
        """Compose one clearing from payments and the pending debits that fit in its payout."""
        credit = sum(pay.cents for pay in payments)
        if credit <= 0:
            return None
        included: list[_Debit] = []
        carried: list[_Debit] = []
        debit = 0
        for item in self.pending[index]:
            # A payout never goes to zero or below; what does not fit waits for the next one.
            if credit - debit - item.cents > 0:
                included.append(item)
                debit += item.cents
            else:
                carried.append(item)
        self.pending[index] = carried
        clearing_id = self.ids.clearing_id()
        lines: list[dict[str, Any]] = []
        by_type: dict[tuple[str, str], list[Any]] = {}
        for pay in payments:
            key = (pay.group.code, pay.method)
            agg = by_type.get(key)
            if agg is None:
                agg = by_type[key] = [pay.group, catalog.PAYMENT_METHODS[pay.method], 0, 0, set()]
            agg[2] += pay.cents
            agg[3] += 1
            agg[4].add(pay.order.customer_id)
        debit_kinds = {"refund": catalog.REFUND, "chargeback": catalog.CHARGEBACK}
        for item in included:
            if item.kind in debit_kinds:
                key = (item.group.code, item.kind)
                agg = by_type.get(key)
                if agg is None:
                    agg = by_type[key] = [item.group, debit_kinds[item.kind], 0, 0, set()]
                agg[2] += item.cents
                agg[3] += 1
                agg[4].add(item.customer_id)
        for group, line_type, cents, count, payers in by_type.values():
            lines.append(
                self._clearing_line(
                    line_type,
                    group,
                    cents,
                    transactions=count,
                    payers=len(payers),
                    value_day=value_day,
                    settle_day=settle_day,
                )
            )
        records = [pay.record for pay in payments]
        for item in included:
            if item.kind == "invoice":
                lines.append(
                    self._clearing_line(
                        catalog.INVOICE_SETTLEMENT,
                        item.group,
                        item.cents,
                        transactions=0,
                        payers=0,
                        value_day=value_day,
                        settle_day=settle_day,
                    )
                )
                for line in item.invoice_lines:
                    line["state"] = "PAID"
                    line["paymentDate"] = settle_day.isoformat()
            else:
                assert item.record is not None
                records.append(item.record)
                self._apply_reversal(item)
        for record in records:
            record["clearingId"] = clearing_id
        self.records.extend(records)
        return {"clearingId": clearing_id, "clearingLines": lines}, records, credit - debit

    def _settle(
        self, clearings: list[tuple[_Group, dict[str, Any], list[dict[str, Any]], int]], day: date
    ) -> None:
        """One settlement (bank transfer) per bank account, holding that account's clearings."""
        by_bank: dict[str, list[tuple[_Group, dict[str, Any], list[dict[str, Any]], int]]] = {}
        for item in clearings:
            by_bank.setdefault(item[0].bank["code"], []).append(item)
        for items in by_bank.values():
            code = self.ids.settlement_code()
            payout = sum(item[3] for item in items)
            bank = items[0][0].bank
            ids = ", ".join(item[1]["clearingId"] for item in items)
            for _group, _clearing, records, _payout in items:
                for record in records:
                    record["settlementCode"] = code
            self.settlements.append(
                {
                    "code": code,
                    "description": f"Clearing: {ids}/ Funds: {_euros(payout)}",
                    "settlementDate": day.isoformat(),
                    "confirmationDate": day.isoformat(),
                    "amount": {"value": payout, "currency": self.currency},
                    "baseAccountIban": PAY_BASE_IBAN,
                    "clearingAccount": {"method": bank["method"], "iban": bank["iban"]},
                    "clearings": [item[1] for item in items],
                }
            )

    def build(self) -> Merchant:
        p = self.p
        rng = self.rng
        low, high = p.payment_range
        windows = p.clearings_per_day
        window_seconds = _DAY_SECONDS // windows
        mode = p.fees.invoice_settlement
        tokens = self._tokens()
        turnover_groups = self._turnover_groups()
        for offset in range(p.days):
            day = p.start_date + timedelta(days=offset)
            settle_day = day + timedelta(days=1)
            if mode in ("weekly", "none") and offset > 0 and day.weekday() == 0:
                for index, partition in enumerate(self.partitions):
                    invoice = self._invoice(self._fee_keys(partition, before=day), "PAYABLE")
                    if invoice is not None and mode == "weekly":
                        self.pending[index].append(invoice)
            for window in range(windows):
                start = window * window_seconds
                cleared = []
                for index, partition in enumerate(self.partitions):
                    count = rng.randint(low, high)
                    seconds = sorted(
                        start + int(rng.random() * window_seconds) for _ in range(count)
                    )
                    payments = [
                        self._payment(
                            partition[0] if len(partition) == 1 else rng.choice(partition),
                            day,
                            second,
                        )
                        for second in seconds
                    ]
                    self._reversals(index, count, day, start, window_seconds)
                    if mode == "per_clearing" and window == windows - 1:
                        invoice = self._invoice(
                            self._fee_keys(partition, before=day, on=day), "PAYABLE"
                        )
                        if invoice is not None:
                            self.pending[index].append(invoice)
                    made = self._clear(index, payments, day, settle_day)
                    # Payments become refundable only from the next day: a refund never shares
                    # a clearing with its payment, so clearingId + orderId stays unique.
                    self.refundable[index].extend(payments)
                    if made is not None:
                        clearing, records, payout = made
                        cleared.append((partition[0], clearing, records, payout))
                if cleared:
                    self._settle(cleared, settle_day)
        # Fees not yet invoiced at the end of the window are still open.
        for partition in self.partitions:
            self._invoice(self._fee_keys(partition, before=date.max), "OPEN")
        return self._merchant(tokens, turnover_groups)

    def _reversals(self, index: int, payments: int, day: date, start: int, span: int) -> None:
        rng = self.rng
        pool = self.refundable[index]
        for kind, share in (
            ("refund", self.p.refund_share),
            ("chargeback", self.p.chargeback_share),
        ):
            wanted = int(payments * share + rng.random())  # stochastic rounding keeps the mean
            for _ in range(wanted):
                eligible = len(pool)
                # Only orders paid on an earlier day are refundable (pool is in payment order).
                while eligible and pool[eligible - 1].order.order_date >= day:
                    eligible -= 1
                if not eligible:
                    break
                paid = pool.pop(rng.randrange(eligible))
                second = rng.randrange(start, start + span)
                self.pending[index].append(self._reversal(paid, kind, day, second))

    def _merchant(self, tokens: list[dict[str, Any]], groups: list[dict[str, Any]]) -> Merchant:
        p = self.p
        settlements = self.settlements
        late: list[dict[str, Any]] = []
        if p.late_settlements and settlements:
            last_date = max(s["settlementDate"] for s in settlements)
            candidates = [s for s in settlements if s["settlementDate"] < last_date]
            late = candidates[-p.late_settlements :] if candidates else []
            late_codes = {s["code"] for s in late}
            settlements = [s for s in settlements if s["code"] not in late_codes]
        pay = {
            "settlementAmountUnit": p.settlement_amount_unit,
            "merchants": [self.merchant_full],
            "tokens": tokens,
            "turnoverGroups": groups,
            "clearingLineTypes": catalog.clearing_line_type_groups(),
            "settlements": settlements,
            "lateSettlements": late,
            "clearingRecords": self.records,
            "invoiceLines": sorted(self.invoice_lines, key=lambda line: line["code"]),
            "transactions": self.transactions,
        }
        return Merchant(pay=pay, customers=self.customers, orders=self.orders)
