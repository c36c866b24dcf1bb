"""Local checks of a booking plan against what Exact holds, before anything is posted.

Exact blocks an app for an hour after 10 refused calls per endpoint, so everything Exact would
refuse that can be known in advance is refused here, in plain words: the journal (exists, bank
type, currency), the GL accounts (exist, not blocked, a type that fits their role), the period,
the balance, the key in every description, the invoice numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pay_exact_transform import BookingPlan, Role

from target_exactonline.context import ExactContext, GLAccount, Journal

BANK_JOURNAL_TYPE = 12
SALES_JOURNAL_TYPE = 20
DESCRIPTION_MAX = 60
INT32_MAX = 2**31 - 1

JOURNAL_TYPES = {
    10: "cash",
    12: "bank",
    16: "payment service",
    20: "sales",
    21: "return invoice",
    22: "purchase",
    23: "received return invoice",
    90: "general journal",
}

GL_TYPES = {
    10: "Cash",
    12: "Bank",
    14: "Credit card",
    16: "Payment services",
    20: "Accounts receivable",
    21: "Prepayment accounts receivable",
    22: "Accounts payable",
    24: "VAT",
    25: "Employees payable",
    26: "Prepaid expenses",
    27: "Accrued expenses",
    29: "Income taxes payable",
    30: "Fixed assets",
    32: "Other assets",
    35: "Accumulated depreciation",
    40: "Inventory",
    50: "Capital stock",
    52: "Retained earnings",
    55: "Long-term debt",
    60: "Current portion of debt",
    90: "General",
    100: "Tax payable",
    110: "Revenue",
    111: "Cost of goods",
    120: "Other costs",
    121: "Sales, general administrative expenses",
    122: "Depreciation costs",
    123: "Research and development",
    125: "Employee costs",
    126: "Employment costs",
    130: "Exceptional costs",
    140: "Exceptional income",
    150: "Income taxes",
    160: "Interest income",
}

# Which GL types fit each role. Debtors must be the receivables account so invoices settle;
# fees are costs; payouts and unassigned are balance-sheet suspense/transit accounts that need
# no customer (accounts receivable/payable lines require one).
_BALANCE_SUSPENSE = frozenset({10, 12, 14, 16, 26, 27, 32, 90})
ROLE_GL_TYPES: dict[str, frozenset[int]] = {
    "debtors": frozenset({20}),
    "psp_costs": frozenset({111, 120, 121, 122, 123, 125, 126, 130}),
    "payouts": _BALANCE_SUSPENSE,
    "unassigned": _BALANCE_SUSPENSE,
}
ROLE_NAMES = {
    "debtors": "debtors",
    "psp_costs": "PSP costs",
    "payouts": "payouts (transit)",
    "unassigned": "unassigned",
}
_SUSPENSE_TYPES = "type 90 General, 16, 12, 10, 14, 26, 27 or 32"
ROLE_NEEDS = {
    "debtors": "an accounts receivable account (type 20)",
    "psp_costs": "a cost account (type 111, 120-126 or 130)",
    "payouts": f"a balance-sheet transit account ({_SUSPENSE_TYPES})",
    "unassigned": f"a balance-sheet suspense account ({_SUSPENSE_TYPES})",
}


def describe_gl_type(gl_type: int | None) -> str:
    if gl_type is None:
        return "of unknown type"
    name = GL_TYPES.get(gl_type)
    return f"type {gl_type} ({name})" if name else f"type {gl_type}"


def describe_journal_type(journal_type: int | None) -> str:
    if journal_type is None:
        return "of unknown type"
    name = JOURNAL_TYPES.get(journal_type)
    return f"a {name} journal (type {journal_type})" if name else f"type {journal_type}"


def check_bank_journal(code: str, journal: Journal | None, division: int) -> str | None:
    if journal is None:
        return f"bank journal {code!r} does not exist in division {division}"
    if journal.type != BANK_JOURNAL_TYPE:
        return (
            f"journal {code!r} is {describe_journal_type(journal.type)}; the bank journal must be "
            f"a bank journal (type {BANK_JOURNAL_TYPE})"
        )
    if journal.blocked:
        return f"bank journal {code!r} is blocked in Exact"
    return None


def check_sales_journal(code: str, journal: Journal | None, division: int) -> str | None:
    if journal is None:
        return f"sales journal {code!r} does not exist in division {division}"
    if journal.type != SALES_JOURNAL_TYPE:
        return (
            f"journal {code!r} is {describe_journal_type(journal.type)}; the sales journal must "
            f"be a sales journal (type {SALES_JOURNAL_TYPE})"
        )
    return None


def check_gl(code: str, role: str, gl: GLAccount | None, division: int) -> str | None:
    label = ROLE_NAMES.get(role, role)
    if gl is None:
        return f"GL account {code!r} ({label}) does not exist in division {division}"
    if gl.blocked:
        return f"GL account {code!r} ({label}) is blocked in Exact"
    allowed = ROLE_GL_TYPES.get(role)
    if allowed is not None and gl.type not in allowed:
        return (
            f"GL account {code!r} ({gl.description}) is {describe_gl_type(gl.type)}; the "
            f"{label} GL must be {ROLE_NEEDS[role]}"
        )
    return None


def check_plan(
    plan: BookingPlan,
    *,
    journal_code: str,
    context: ExactContext,
    division: int,
    sales_journal_problems: Iterable[str] = (),
) -> list[str]:
    """Everything wrong with this plan, in plain words; empty when it can be posted."""
    problems: list[str] = list(sales_journal_problems)
    journal = context.journals.get(journal_code)
    journal_problem = check_bank_journal(journal_code, journal, division)
    if journal_problem:
        problems.append(journal_problem)
    elif journal is not None:
        accepted = journal.currency
        if accepted and plan.currency != accepted and not journal.allow_variable_currency:
            problems.append(
                f"the clearing is in {plan.currency} but bank journal {journal_code!r} only "
                f"accepts {accepted}"
            )

    seen_gl: set[tuple[str, str]] = set()
    for line in plan.lines:
        role = line.role.value
        if (line.gl, role) in seen_gl:
            continue
        seen_gl.add((line.gl, role))
        problem = check_gl(line.gl, role, context.gl_accounts.get(line.gl), division)
        if problem:
            problems.append(problem)

    if context.period_for(plan.entry_date) is None:
        problems.append(
            f"there is no financial period in Exact for {plan.entry_date.isoformat()} "
            "(create the financial year first)"
        )

    total = sum((line.amount for line in plan.lines), Decimal(0))
    if total != 0:
        problems.append(f"the lines add up to {total}, not to zero")
    if not plan.lines:
        problems.append("the plan has no lines")

    for number, line in enumerate(plan.lines, start=1):
        where = f"line {number}"
        if not line.description.startswith(plan.key):
            problems.append(f"{where}: the description does not start with the key {plan.key}")
        if len(line.description) > DESCRIPTION_MAX:
            problems.append(f"{where}: the description is longer than {DESCRIPTION_MAX} characters")
        if line.role is Role.DEBTORS and not line.customer:
            problems.append(f"{where}: a debtors line needs a customer")
        if line.link is not None:
            try:
                number_value = int(line.link)
            except ValueError:
                number_value = -1
            if not 0 < number_value <= INT32_MAX:
                problems.append(
                    f"{where}: invoice number {line.link!r} cannot be sent as Exact's OurRef "
                    "(a whole number)"
                )
    return _unique(problems)


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
