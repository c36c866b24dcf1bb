"""Phase 3 of a booking run: everything the run reads from Exact, once.

The journals, GL accounts and periods the clearings need; the keys already booked in the bank
journals (one paged read, which also settles clearings whose last POST had no answer); the
open invoices, their customers, and the standard debtor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pay_exact_transform import OpenItem

from target_exactonline import context as ctx
from target_exactonline import kill_points
from target_exactonline.already_booked import settle_found
from target_exactonline.clearing_item import Item, read_or_stop
from target_exactonline.lazy_client import LazyClient
from target_exactonline.ledger import BookingLedger
from target_exactonline.settings import TargetSettings
from target_exactonline.validate import check_sales_journal


@dataclass(slots=True)
class ExactFacts:
    """What the run knows of Exact: read in phase 3, added to as customers are created."""

    context: ctx.ExactContext = field(default_factory=ctx.ExactContext)
    customer_ids: dict[str, str] = field(default_factory=dict)  # engine id -> Exact account id
    customer_names: dict[str, str] = field(default_factory=dict)  # for the report
    problems: list[str] = field(default_factory=list)  # found while reading Exact, run-wide
    journal_problems: dict[str, str] = field(default_factory=dict)  # sales journal -> problem
    standard_problem: str | None = None


def read_context(
    facts: ExactFacts,
    client: LazyClient,
    todo: list[Item],
    *,
    settings: TargetSettings,
    ledger: BookingLedger,
) -> list[Item]:
    """Fill ``facts`` from Exact; the clearings still to book."""
    s = settings
    dates = [i.report.settlement_date for i in todo if i.report.settlement_date]
    groups = {i.group for i in todo}
    bank_journals = {i.journal for i in todo if i.journal}
    sales_journals = s.all_sales_journals()
    gl_codes: dict[str, set[str]] = {}
    for group in groups:
        for role, code in s.gl_for(group).items():
            gl_codes.setdefault(code, set()).add(role)

    c = facts.context
    c.journals = read_or_stop(
        "the journals", lambda: ctx.read_journals(client(), bank_journals | sales_journals)
    )
    c.gl_accounts = read_or_stop(
        "the GL accounts", lambda: ctx.read_gl_accounts(client(), gl_codes)
    )
    c.periods = read_or_stop(
        "the financial periods", lambda: ctx.read_periods(client(), min(dates), max(dates))
    )
    booked = read_or_stop(
        "the entries already booked",
        lambda: ctx.read_booked(client(), bank_journals, min(dates)),
    )
    todo = settle_found(todo, booked, ledger, dry_run=s.dry_run)
    if not todo:
        return todo

    journal_problems = {
        code: problem
        for code in sales_journals
        if (problem := check_sales_journal(code, c.journals.get(code), s.division))
    }
    receivables = read_or_stop("the open invoices", lambda: ctx.read_receivables(client()))
    c.open_items = receivables.items
    c.receivable_signs = receivables.signs
    if receivables.signs.disagreement:
        facts.problems.append(receivables.signs.describe())
    if any(i.has_emails for i in todo):
        # Payments carry e-mails (the tap's enrichment): the open items get their
        # customers' e-mails so e-mail rules can apply, and new relations can be checked
        # against existing customers. One bulk read of the accounts.
        load_accounts(c, client)
        c.open_items = [
            dataclasses.replace(item, customer_email=account.email)
            if (account := c.accounts_by_id.get(item.customer_id)) and account.email
            else item
            for item in c.open_items
        ]
    for item in c.open_items:
        facts.customer_ids.setdefault(item.customer_id, item.customer_id)
        facts.customer_names.setdefault(item.customer_id, _customer_text(item))
    standard_problem = None
    if s.standard_debtor_code:
        account = read_or_stop(
            "the standard debtor",
            lambda: ctx.read_account_by_code(client(), s.standard_debtor_code or ""),
        )
        if account is None:
            standard_problem = (
                f"standard debtor code {s.standard_debtor_code!r} does not exist in "
                f"division {s.division}"
            )
        else:
            facts.customer_ids[s.standard_debtor_code] = account.id
            facts.customer_names[s.standard_debtor_code] = (
                f"standard debtor {s.standard_debtor_code} ({account.name or ''})".replace(
                    " ()", ""
                )
            )

    facts.journal_problems = journal_problems
    facts.standard_problem = standard_problem
    kill_points.reached("context_read")
    return todo


def load_accounts(c: ctx.ExactContext, client: LazyClient) -> None:
    """Exact's customers, read once in bulk when first needed."""
    if not c.accounts_read:
        c.add_accounts(read_or_stop("the customers", lambda: ctx.read_accounts(client())))
        c.accounts_read = True


def _customer_text(item: OpenItem) -> str:
    """A customer as a bookkeeper finds it in Exact: the name with the account code beside it."""
    code = item.customer_code.strip() if item.customer_code else None
    if item.customer_name and code:
        return f"{item.customer_name} ({code})"
    return item.customer_name or code or item.customer_id
