"""A generated or loaded merchant: what the Pay. sandbox serves and the truth behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import jsonio

FORMAT = "pay-exact-sandbox/merchant@1"


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    email: str
    country: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email, "country": self.country}


@dataclass(slots=True)
class Order:
    """A webshop order and the Pay. records that paid, refunded or charged it back.

    ``status``: ``paid``, ``refunded`` or ``charged_back`` (as of the last generated day).
    """

    number: str
    platform: str
    revenue_group: str  # CT- code
    customer_id: str
    amount: Decimal
    currency: str
    order_date: date
    pay_order_id: str
    transaction_id: str
    payment_record: str
    refund_records: list[str] = field(default_factory=list)
    chargeback_records: list[str] = field(default_factory=list)
    status: str = "paid"
    shop_ids: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "platform": self.platform,
            "revenueGroup": self.revenue_group,
            "customerId": self.customer_id,
            "amount": self.amount,
            "currency": self.currency,
            "orderDate": self.order_date.isoformat(),
            "payOrderId": self.pay_order_id,
            "transactionId": self.transaction_id,
            "paymentRecord": self.payment_record,
            "refundRecords": self.refund_records,
            "chargebackRecords": self.chargeback_records,
            "status": self.status,
            "shopIds": self.shop_ids,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        return cls(
            number=data["number"],
            platform=data["platform"],
            revenue_group=data["revenueGroup"],
            customer_id=data["customerId"],
            amount=Decimal(data["amount"]),
            currency=data["currency"],
            order_date=date.fromisoformat(data["orderDate"]),
            pay_order_id=data["payOrderId"],
            transaction_id=data["transactionId"],
            payment_record=data["paymentRecord"],
            refund_records=list(data.get("refundRecords", [])),
            chargeback_records=list(data.get("chargebackRecords", [])),
            status=data.get("status", "paid"),
            shop_ids=dict(data.get("shopIds", {})),
        )


@dataclass(slots=True)
class Merchant:
    """``pay`` is exactly the Pay. fixture the sandbox serves (see sandbox/README.md);
    ``customers`` and ``orders`` are the truth the Exact side is seeded from."""

    pay: dict[str, Any]
    customers: list[Customer] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "pay": self.pay,
            "truth": {
                "customers": [c.to_json() for c in self.customers],
                "orders": [o.to_json() for o in self.orders],
            },
        }

    def dumps(self, *, indent: int | None = None) -> str:
        return jsonio.dumps(self.to_json(), indent=indent)

    def write(self, path: str | Path, *, indent: int | None = None) -> None:
        Path(path).write_text(self.dumps(indent=indent) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Merchant:
        """Accept a full merchant file, or a bare Pay. section (a document with ``settlements``)."""
        if "pay" not in data:
            if "settlements" not in data:
                raise ValueError("fixture has neither a 'pay' section nor 'settlements'")
            return cls(pay=data)
        truth = data.get("truth") or {}
        return cls(
            pay=data["pay"],
            customers=[Customer(**c) for c in truth.get("customers", [])],
            orders=[Order.from_json(o) for o in truth.get("orders", [])],
        )

    @classmethod
    def load(cls, path: str | Path) -> Merchant:
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = jsonio.loads(text)
        except ValueError as exc:
            raise ValueError(f"fixture {path} is not valid JSON: {exc}") from exc
        try:
            return cls.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"fixture {path}: {exc}") from exc
