"""Builders for engine tests, offered as a fixture (test folders hold no importable helpers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest
from pay_exact_transform import (
    BookingPlan,
    Clearing,
    ClearingLine,
    Direction,
    GLAccounts,
    LineKind,
    OpenItem,
    PaymentRecord,
    PlanLine,
    RecordKind,
    RevenueGroup,
    Settings,
    plan_run,
)

GL = GLAccounts(debtors="1300", psp_costs="4500", payouts="2200", unassigned="2999")


class Kit:
    """Small builders: amounts are strings so tests read like a bank statement."""

    gl = GL

    @staticmethod
    def settings(**kwargs: object) -> Settings:
        return Settings(gl=GL, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def item(
        invoice: str,
        amount: str,
        *,
        customer: str = "C1",
        item_id: str | None = None,
        currency: str = "EUR",
        **kwargs: object,
    ) -> OpenItem:
        return OpenItem(
            item_id=item_id or f"H-{invoice}",
            invoice_number=invoice,
            customer_id=customer,
            amount=Decimal(amount),
            currency=currency,
            **kwargs,  # type: ignore[arg-type]
        )

    @staticmethod
    def pay(
        record_id: str,
        amount: str,
        kind: RecordKind = RecordKind.PAYMENT,
        *,
        currency: str = "EUR",
        **kwargs: object,
    ) -> PaymentRecord:
        return PaymentRecord(
            record_id=record_id,
            kind=kind,
            amount=Decimal(amount),
            currency=currency,
            **kwargs,  # type: ignore[arg-type]
        )

    @staticmethod
    def clearing(
        records: Sequence[PaymentRecord],
        *,
        clearing_id: str = "CLR-1",
        fees: Sequence[str] = (),
        currency: str = "EUR",
        group: str | None = None,
        payout: str | None = None,
        lines: Sequence[ClearingLine] | None = None,
    ) -> Clearing:
        """A clearing whose lines and payout agree with its records, unless overridden."""
        if lines is None:
            built: list[ClearingLine] = []
            for kind, line_kind, direction in (
                (RecordKind.PAYMENT, LineKind.PAYMENTS, Direction.CREDIT),
                (RecordKind.REFUND, LineKind.REFUNDS, Direction.DEBIT),
                (RecordKind.CHARGEBACK, LineKind.CHARGEBACKS, Direction.DEBIT),
            ):
                of_kind = [r for r in records if r.kind is kind]
                if of_kind:
                    total = sum((r.amount for r in of_kind), Decimal(0))
                    built.append(
                        ClearingLine(
                            code=f"L-{line_kind.value}",
                            type_id=None,
                            type_name=line_kind.value,
                            direction=direction,
                            amount=total,
                            kind=line_kind,
                            transactions=len(of_kind),
                        )
                    )
            for n, fee in enumerate(fees, start=1):
                built.append(
                    ClearingLine(
                        code=f"F-{n}",
                        type_id=None,
                        type_name="Transactiekosten",
                        direction=Direction.DEBIT,
                        amount=Decimal(fee),
                        kind=LineKind.FEES,
                    )
                )
            lines = built
        if payout is None:
            net = Decimal(0)
            for line in lines:
                net += line.amount if line.direction is Direction.CREDIT else -line.amount
            payout_amount = net
        else:
            payout_amount = Decimal(payout)
        return Clearing(
            clearing_id=clearing_id,
            settlement_code=f"S-{clearing_id}",
            settlement_date=date(2025, 3, 3),
            currency=currency,
            revenue_group=RevenueGroup(group, f"group {group}") if group else None,
            lines=tuple(lines),
            records=tuple(records),
            payout=payout_amount,
        )

    def plan(
        self,
        records: Sequence[PaymentRecord],
        items: Sequence[OpenItem],
        **settings: object,
    ) -> BookingPlan:
        (plan,) = plan_run([self.clearing(records)], items, self.settings(**settings))
        return plan

    @staticmethod
    def line(plan: BookingPlan, record_id: str) -> PlanLine:
        (found,) = [line for line in plan.lines if line.record_id == record_id]
        return found


@pytest.fixture
def kit() -> Kit:
    return Kit()
