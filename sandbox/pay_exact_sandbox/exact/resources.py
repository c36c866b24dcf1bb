"""The entity sets the sandbox serves, where their rows come from and which methods they take."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from . import accounts, posting
from .schema import (
    ACCOUNT,
    BANK_ENTRY,
    BANK_ENTRY_LINE,
    DIVISION,
    FINANCIAL_PERIOD,
    GJ_ENTRY,
    GJ_ENTRY_LINE,
    GL_ACCOUNT,
    HRM_DIVISION,
    JOURNAL,
    RECEIVABLE,
    RECEIVABLES_LIST,
    SALES_ENTRY,
    SALES_ENTRY_LINE,
    SYNC_ACCOUNT,
    SYNC_GL_ACCOUNT,
    SYNC_TRANSACTION_LINE,
    TRANSACTION_LINE,
    EntityType,
)
from .store import ExactStore

Row = dict[str, Any]
Kind = Literal["normal", "bulk", "sync", "read"]

# Filters Exact allows on bulk/Financial/GLAccounts [C] (its reference page, as in
# Pi-Systems/exact-online src/Entity/Bulk/Financial/GLAccounts.php).
_BULK_GL_FILTERS = frozenset(
    {
        "AssimilatedVATBox",
        "BelcotaxType",
        "Code",
        "Costcenter",
        "Costunit",
        "Created",
        "Creator",
        "ID",
        "Modified",
        "Modifier",
        "PrivateGLAccount",
        "SearchCode",
        "Type",
        "VATNonDeductibleGLAccount",
        "YearEndCostGLAccount",
        "YearEndReflectionGLAccount",
    }
)
# Filters Exact allows on bulk/Cashflow/Receivables [C].
_BULK_RECEIVABLE_FILTERS = frozenset(
    {
        "Account",
        "Document",
        "EndDate",
        "EntryDate",
        "EndToEndID",
        "EntryID",
        "GLAccount",
        "ID",
        "InvoiceDate",
        "InvoiceNumber",
        "Source",
        "Status",
        "TransactionID",
        "TransactionType",
    }
)


@dataclass(frozen=True)
class EntitySet:
    path: str  # as the reference writes it, e.g. "financialtransaction/BankEntries"
    entity: EntityType
    rows: Callable[[ExactStore], Iterable[Row]]
    kind: Kind = "normal"
    create: Callable[[ExactStore, Row], Row] | None = None
    delete: Callable[[ExactStore, str], None] | None = None
    update: Callable[[ExactStore, str, Row], None] | None = None
    filterable: frozenset[str] | None = None
    order_key: str | None = None  # sync endpoints page by Timestamp
    # "It is mandatory to provide the $select query option" on the bulk pages that say so [C];
    # bulk TransactionLines and the sync pages do not say it, so they do not demand it.
    select_required: bool = False

    @property
    def methods(self) -> set[str]:
        found = {"GET"}
        if self.create:
            found.add("POST")
        if self.delete:
            found.add("DELETE")
        if self.update:
            found.add("PUT")
        return found

    @property
    def key(self) -> str:
        return self.order_key or self.entity.key


def _lines(table: str, nav: str) -> Callable[[ExactStore], Iterable[Row]]:
    def rows(store: ExactStore) -> Iterable[Row]:
        for entry in getattr(store, table).values():
            if table == "bank_entries" and entry.get("_journal_type") == 16:
                continue
            yield from entry[nav]

    return rows


def _bank_entries(store: ExactStore) -> Iterable[Row]:
    # Entries in type-16 (payment service) journals do not come back from BankEntries [C].
    return (e for e in store.bank_entries.values() if e.get("_journal_type") != 16)


def _receivables(store: ExactStore) -> Iterable[Row]:
    """``cashflow/Receivables`` rows as the configured division shows their amounts."""
    config = store.config
    if config.receivables_sign == "positive" and config.partial_receivable_amount == "original":
        return store.receivables.values()  # [I] the reference's reading: full amount, positive
    return (_receivable_view(row, config.receivables_sign) for row in store.receivables.values())


def _receivable_view(row: Row, sign: str) -> Row:
    # "negative" (one public account): AmountDC is the remaining amount, negative for an
    # invoice; "remaining" keeps the sign and serves what is left after part payments.
    view = dict(row)
    factor = -1 if sign == "negative" else 1
    view["AmountFC"] = factor * row["_open_fc"]
    view["AmountDC"] = factor * row["_open_dc"]
    return view


def _transaction_lines(store: ExactStore) -> Iterable[Row]:
    return store.transaction_lines.values()


def _sync(path: str, entity: EntityType, rows: Callable[[ExactStore], Iterable[Row]]) -> EntitySet:
    """A sync endpoint: filtered on and paged by Timestamp only."""
    return EntitySet(
        path,
        entity,
        rows,
        kind="sync",
        filterable=frozenset({"Timestamp"}),
        order_key="Timestamp",
    )


ENTITY_SETS: tuple[EntitySet, ...] = (
    EntitySet("system/Divisions", DIVISION, lambda s: [s.division]),
    # The division pickers' other source [C]: the divisions of one license.
    EntitySet("hrm/Divisions", HRM_DIVISION, lambda s: [s.division]),
    EntitySet(
        "crm/Accounts",
        ACCOUNT,
        lambda s: s.accounts.values(),
        create=accounts.create_account,
        update=accounts.update_account,
        delete=accounts.delete_account,
    ),
    EntitySet(
        "bulk/CRM/Accounts",
        ACCOUNT,
        lambda s: s.accounts.values(),
        kind="bulk",
        select_required=True,
    ),
    _sync("sync/CRM/Accounts", SYNC_ACCOUNT, lambda s: s.accounts.values()),
    EntitySet("financial/GLAccounts", GL_ACCOUNT, lambda s: s.gl_accounts.values()),
    EntitySet(
        "bulk/Financial/GLAccounts",
        GL_ACCOUNT,
        lambda s: s.gl_accounts.values(),
        kind="bulk",
        filterable=_BULK_GL_FILTERS,
        select_required=True,
    ),
    _sync("sync/Financial/GLAccounts", SYNC_GL_ACCOUNT, lambda s: s.gl_accounts.values()),
    EntitySet("financial/Journals", JOURNAL, lambda s: s.journals.values()),
    EntitySet("financial/FinancialPeriods", FINANCIAL_PERIOD, lambda s: s.periods.values()),
    EntitySet(
        "read/financial/ReceivablesList",
        RECEIVABLES_LIST,
        lambda s: s.receivables_list(),
        kind="read",
    ),
    EntitySet("cashflow/Receivables", RECEIVABLE, _receivables),
    EntitySet(
        "bulk/Cashflow/Receivables",
        RECEIVABLE,
        _receivables,
        kind="bulk",
        filterable=_BULK_RECEIVABLE_FILTERS,
        select_required=True,
    ),
    EntitySet(
        "salesentry/SalesEntries",
        SALES_ENTRY,
        lambda s: s.sales_entries.values(),
        create=posting.post_sales_entry,
        delete=posting.delete_sales_entry,
    ),
    EntitySet(
        "salesentry/SalesEntryLines",
        SALES_ENTRY_LINE,
        _lines("sales_entries", "SalesEntryLines"),
    ),
    EntitySet(
        "financialtransaction/BankEntries",
        BANK_ENTRY,
        _bank_entries,
        create=posting.post_bank_entry,
        delete=posting.delete_bank_entry,
    ),
    EntitySet(
        "financialtransaction/BankEntryLines",
        BANK_ENTRY_LINE,
        _lines("bank_entries", "BankEntryLines"),
        create=posting.add_bank_entry_line,
    ),
    EntitySet(
        "generaljournalentry/GeneralJournalEntries",
        GJ_ENTRY,
        lambda s: s.gj_entries.values(),
        create=posting.post_general_journal_entry,
        delete=posting.delete_general_journal_entry,
    ),
    EntitySet(
        "generaljournalentry/GeneralJournalEntryLines",
        GJ_ENTRY_LINE,
        _lines("gj_entries", "GeneralJournalEntryLines"),
    ),
    EntitySet("financialtransaction/TransactionLines", TRANSACTION_LINE, _transaction_lines),
    EntitySet("bulk/Financial/TransactionLines", TRANSACTION_LINE, _transaction_lines, kind="bulk"),
    _sync("sync/Financial/TransactionLines", SYNC_TRANSACTION_LINE, _transaction_lines),
)

# Service and entity names are matched case-insensitively: Exact's own samples mix
# "read/financial" and "bulk/Financial", and its URL routing is not case-sensitive [I].
BY_PATH: dict[str, EntitySet] = {s.path.lower(): s for s in ENTITY_SETS}
# Where the lines of an entity type live, for the __metadata URIs of expanded lines.
LINE_SETS: dict[str, str] = {
    "SalesEntryLine": "salesentry/SalesEntryLines",
    "BankEntryLine": "financialtransaction/BankEntryLines",
    "GeneralJournalEntryLine": "generaljournalentry/GeneralJournalEntryLines",
}


def find(path: str) -> EntitySet | None:
    return BY_PATH.get(path.lower())
