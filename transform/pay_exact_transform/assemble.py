"""Pass 3: a clearing's booking plan from its record lines, fee lines and payout."""

from __future__ import annotations

from .consistency import signed_line
from .describe import NOTES_SEPARATOR, clean, line_description
from .model import LineKind
from .money import ZERO, fmt, quantum
from .plan import FLAGGED, BookingPlan, CustomerKind, NewRelation, PlanLine, Reason, Role, Status
from .prepare import ClearingContext


def assemble(
    ctx: ClearingContext, record_lines: list[PlanLine], relations: dict[str, NewRelation]
) -> BookingPlan:
    clearing = ctx.clearing
    check = ctx.check
    currency = clearing.currency
    q = quantum(currency)
    key = ctx.key
    settlement = clearing.settlement_code or clearing.clearing_id
    description = line_description(key, "payout", (settlement,))
    group = clearing.revenue_group.code if clearing.revenue_group else None
    if not ctx.books:
        return BookingPlan(
            clearing_id=clearing.clearing_id,
            key=key,
            status=Status.BLOCKED,
            blocked_reason=check.problem,
            entry_date=clearing.settlement_date,
            currency=currency,
            revenue_group=group,
            journal=ctx.journal,
            description=description,
            lines=(),
            relations=(),
            totals=check.totals,
            flags=(check.problem.value,) if check.problem else (),
            explanation=f"{check.explanation} It is retried on the next run.",
        )

    lines = list(record_lines)
    for line in ctx.lines:
        if line.kind not in (LineKind.FEES, LineKind.OTHER) or line.amount == ZERO:
            continue
        signed = signed_line(line.direction, line.amount).quantize(q)
        if line.kind is LineKind.FEES:
            role, reason = Role.PSP_COSTS, Reason.FEE
            text = f"Clearing line {line.code} ({line.type_name}): provider fees, on PSP costs."
        else:
            role, reason = Role.UNASSIGNED, Reason.OTHER_LINE
            text = (
                f"Clearing line {line.code} ({line.type_name}) is neither a payment nor a fee: "
                f"booked on the unassigned account for review."
            )
        lines.append(
            PlanLine(
                role=role,
                gl=ctx.gl[role],
                amount=signed,
                description=line_description(key, "", (line.code,), line.type_name),
                reason=reason,
                explanation=text,
                flagged=reason in FLAGGED,
                notes=NOTES_SEPARATOR.join(
                    p for p in (f"clearing line {line.code}", clean(line.type_name)) if p
                ),
            )
        )
    flags: list[str] = []
    if check.problem is not None:
        # Booking despite the problem was allowed: the difference waits on unassigned.
        flags.append(f"booked_despite_{check.problem.value}")
        difference = check.totals.difference.quantize(q)
        if difference != ZERO:
            lines.append(
                PlanLine(
                    role=Role.UNASSIGNED,
                    gl=ctx.gl[Role.UNASSIGNED],
                    amount=difference,
                    description=line_description(key, "difference", (), "clearing does not add up"),
                    reason=Reason.INCONSISTENT_DIFFERENCE,
                    explanation=(
                        f"{check.explanation} The settings allow booking it: the difference "
                        f"{fmt(difference, currency)} is on the unassigned account."
                    ),
                    flagged=True,
                )
            )
    payout = clearing.payout.quantize(q)
    if payout != ZERO:
        lines.append(
            PlanLine(
                role=Role.PAYOUTS,
                gl=ctx.gl[Role.PAYOUTS],
                amount=-payout,
                description=line_description(key, "payout", (settlement,)),
                reason=Reason.PAYOUT,
                notes=f"payout {settlement}",
                explanation=(
                    f"Payout {settlement} of {fmt(payout, currency)}: waits on the transit "
                    f"account for the bank line."
                ),
            )
        )
    new = CustomerKind.NEW_RELATION
    used = sorted({line.customer for line in lines if line.customer_kind is new and line.customer})
    flags.extend(sorted({line.reason.value for line in lines if line.flagged}))
    linked = sum(1 for line in lines if line.link is not None)
    records = len(record_lines)
    return BookingPlan(
        clearing_id=clearing.clearing_id,
        key=key,
        status=Status.READY,
        blocked_reason=None,
        entry_date=clearing.settlement_date,
        currency=currency,
        revenue_group=group,
        journal=ctx.journal,
        description=description,
        lines=tuple(lines),
        relations=tuple(relations[t] for t in used),
        totals=check.totals,
        flags=tuple(flags),
        explanation=f"{check.explanation} {linked} of {records} records linked.",
    )
