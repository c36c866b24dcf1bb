"""A clearing's plan, checked locally before anything is sent, and shown in its report."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from pay_exact_transform import (
    CustomerKind,
    NewRelation,
    PlanLine,
    Reason,
    RecordKind,
    Role,
    Status,
)

from target_exactonline.clearing_item import Item, Outcomes
from target_exactonline.context_reading import ExactFacts
from target_exactonline.report import new_report_line
from target_exactonline.settings import TargetSettings
from target_exactonline.validate import check_plan

ATTENTION = {
    Reason.AMBIGUOUS: "Ambiguous: several open invoices fit; not linked",
    Reason.CLAIMED_TWICE: "Ambiguous: several payments point at one invoice; not linked",
    Reason.AMOUNT_MISMATCH: "Partial or over-payment; not linked",
    Reason.EMAIL_CUSTOMER: "Customer known by e-mail only; not linked",
    Reason.STANDARD_DEBTOR: "Unknown customer: booked on the standard debtor",
    Reason.NEW_RELATION: "Unknown customer: booked on a new customer",
    Reason.UNASSIGNED: "Unknown customer: booked on the unassigned account",
    Reason.CHARGEBACK_UNMATCHED: "Chargeback",
    Reason.CURRENCY_MISMATCH: "Invoice in another currency: booked on the customer, not linked",
    Reason.OTHER_LINE: "Unrecognised clearing line: booked on the unassigned account",
    Reason.INCONSISTENT_DIFFERENCE: "The clearing does not add up: difference on unassigned",
}


def check(item: Item, facts: ExactFacts, settings: TargetSettings, outcomes: Outcomes) -> bool:
    """Fill the report from the plan and check it locally; whether it may be posted."""
    plan = item.plan
    assert plan is not None
    facts.customer_names.prefetch(line.customer for line in plan.lines if line.customer)
    fill_report(item, facts.customer_names)
    if plan.status is Status.BLOCKED:
        outcomes.block(item, plan.explanation)
        return False
    doubtful = facts.context.receivable_signs.blocks(line.link for line in plan.lines)
    if doubtful:
        outcomes.block(item, doubtful)
        return False
    problems = check_plan(
        plan,
        journal_code=item.journal or settings.bank_journal,
        context=facts.context,
        division=settings.division,
        sales_journal_problems=_sales_journal_problems(item, settings, facts.journal_problems),
    )
    if facts.standard_problem and any(
        line.customer_kind is CustomerKind.STANDARD_DEBTOR for line in plan.lines
    ):
        problems.insert(0, facts.standard_problem)
    if problems:
        outcomes.block(item, "; ".join(problems))
        return False
    return True


def _sales_journal_problems(
    item: Item, settings: TargetSettings, problems: dict[str, str]
) -> list[str]:
    override = settings.overrides.get(item.group or "")
    code = (override.sales_journal if override else None) or settings.sales_journal
    return [problems[code]] if code in problems else []


def fill_report(item: Item, customer_names: dict[str, str]) -> None:
    plan = item.plan
    assert plan is not None
    report = item.report
    relations = {r.temp_id: r for r in plan.relations}
    # Every figure of the plan's totals, so figures the engine adds show up by themselves.
    report.totals = {
        name: value
        for name, value in dataclasses.asdict(plan.totals).items()
        if isinstance(value, Decimal)
    }
    report.blocked_reason = plan.blocked_reason.value if plan.blocked_reason else None
    report.lines = [
        new_report_line(
            role=line.role.value,
            gl=line.gl,
            amount=line.amount,
            description=line.description,
            reason=line.reason.value,
            explanation=line.explanation,
            customer=_customer_label(line, relations, customer_names),
            invoice=line.link,
            record_id=line.record_id,
            candidates=line.candidates,
            attention=_attention(line),
            record_kind=line.record_kind.value if line.record_kind else None,
            booked_on=_booked_on(line),
        )
        for line in plan.lines
    ]
    report.keep_figures()
    if plan.status is Status.BLOCKED:
        report.reason = plan.explanation


def _customer_label(
    line: PlanLine, relations: dict[str, NewRelation], customer_names: dict[str, str]
) -> str | None:
    if line.customer is None:
        return None
    if line.customer_kind is CustomerKind.NEW_RELATION:
        relation = relations.get(line.customer)
        if relation is not None:
            email = f" <{relation.email}>" if relation.email else ""
            return f"new customer {relation.name}{email}"
    return customer_names.get(line.customer, line.customer)


def _attention(line: PlanLine) -> str | None:
    if line.record_kind is RecordKind.CHARGEBACK:
        return ATTENTION[Reason.CHARGEBACK_UNMATCHED] if line.link is None else "Chargeback"
    return ATTENTION.get(line.reason)


def _booked_on(line: PlanLine) -> str | None:
    if line.customer_kind is CustomerKind.STANDARD_DEBTOR:
        return "standard_debtor"
    if line.customer_kind is not None:
        return "customer" if line.customer_kind is CustomerKind.EXISTING else "new_relation"
    return "unassigned" if line.role is Role.UNASSIGNED else None
