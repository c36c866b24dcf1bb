"""Phase 3 of a booking run: everything the run reads from Exact, once.

The journals, GL accounts and periods the clearings need; the keys already booked in the bank
journals (one paged read, which also settles clearings whose last POST had no answer); the
open invoices, their customers, and the standard debtor. The open invoices and Exact's customers
go page by page into the run's open-item store (a private SQLite file), not into memory: a
year's backfill meets as many open invoices as it has payments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pay_exact_transform import MatchProfile

from target_exactonline import context as ctx
from target_exactonline import kill_points
from target_exactonline.already_booked import settle_found
from target_exactonline.clearing_item import Item, read_or_stop
from target_exactonline.engine_settings import profile_of
from target_exactonline.known_customers import CustomerIds, CustomerNames
from target_exactonline.lazy_client import LazyClient
from target_exactonline.ledger import BookingLedger
from target_exactonline.open_item_store import OpenItemStore
from target_exactonline.settings import TargetSettings
from target_exactonline.validate import check_sales_journal


@dataclass(slots=True)
class ExactFacts:
    """What the run knows of Exact: read in phase 3, added to as customers are created."""

    context: ctx.ExactContext = field(default_factory=ctx.ExactContext)
    customer_ids: CustomerIds = field(default_factory=CustomerIds)  # engine id -> Exact account
    customer_names: CustomerNames = field(default_factory=CustomerNames)  # for the report
    open_items: OpenItemStore | None = None  # the open invoices and Exact's customers
    problems: list[str] = field(default_factory=list)  # found while reading Exact, run-wide
    journal_problems: dict[str, str] = field(default_factory=dict)  # sales journal -> problem
    standard_problem: str | None = None

    def store(self, profiles: Iterable[MatchProfile] = ()) -> OpenItemStore:
        """The run's open-item store, made on first use (``profiles``: see ``OpenItemStore``)."""
        if self.open_items is None:
            self.open_items = OpenItemStore(profiles)
            self.customer_ids.store = self.customer_names.store = self.open_items
        return self.open_items

    def close(self) -> None:
        """Delete the open-item store's file (the end of the run)."""
        if self.open_items is not None:
            self.open_items.close()


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
    # Every profile the run may read references with files its keys as the items arrive.
    profiles = {profile_of(s, None), *(profile_of(s, group) for group in s.overrides)}
    store = facts.store(sorted(profiles, key=lambda p: p.name))
    signs = read_or_stop("the open invoices", lambda: ctx.read_receivables_into(client(), store))
    c.receivable_signs = signs
    if signs.disagreement:
        facts.problems.append(signs.describe())
    if any(i.has_emails for i in todo):
        # Payments carry e-mails (the tap's enrichment): the open items get their
        # customers' e-mails so e-mail rules can apply, and new relations can be checked
        # against existing customers. One bulk read of the accounts.
        load_accounts(facts, client)
        store.give_items_their_customers_emails()
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


def load_accounts(facts: ExactFacts, client: LazyClient) -> None:
    """Exact's customers, read once in bulk when first needed, into the open-item store."""
    c = facts.context
    if not c.accounts_read:
        store = facts.store()
        read_or_stop(
            "the customers",
            lambda: store.add_accounts(
                (a.id, a.code, a.name, a.email) for a in ctx.read_accounts(client())
            ),
        )
        c.accounts_read = True
