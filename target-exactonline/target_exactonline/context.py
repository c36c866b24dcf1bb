"""What a run reads from Exact Online, once: journals, GL accounts, periods, open items, accounts,
and the clearings already booked.

Every read asks only for the fields it uses (``$select``) and uses the bulk endpoints (1,000 rows
a page) where Exact has them, so a run costs few calls of the 5,000 a day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from pay_exact_transform import OpenItem, new_open_item, parse_key

from target_exactonline.exact_client.odata import (
    datetime_literal,
    pad_account_code,
    parse_odata_date,
    quote_string,
)
from target_exactonline.receivable_signs import (
    CREDIT_NOTE,
    SALES_ENTRY,
    SignedRow,
    SignReading,
    convention_of,
    read_signs,
    signed_open_amount,
)

if TYPE_CHECKING:
    from target_exactonline.open_item_store import OpenItemStore

JOURNALS = "financial/Journals"
GL_ACCOUNTS = "financial/GLAccounts"  # read through its bulk twin
PERIODS = "financial/FinancialPeriods"
RECEIVABLES = "cashflow/Receivables"  # read through its bulk twin
RECEIVABLES_LIST = "read/financial/ReceivablesList"
# Invoice numbers asked for in one filtered ReceivablesList read (keeps the URL short).
OUTSTANDING_BATCH = 40
ACCOUNTS = "crm/Accounts"
TRANSACTION_LINES = "financialtransaction/TransactionLines"  # read through its bulk twin

RECEIVABLE_OPEN = 20
# Receivables that are invoices (20) or credit notes (21); cash-flow rows (a payment on account)
# are not something a payment can be linked to.
INVOICE_TRANSACTION_TYPES = frozenset({SALES_ENTRY, CREDIT_NOTE})


class ReadClient(Protocol):
    def get_all(
        self,
        entity_path: str,
        *,
        select: Iterable[str] | str,
        filter: str | None = None,
        orderby: str | None = None,
        expand: Iterable[str] | str | None = None,
        top: int | None = None,
        bulk: bool = False,
    ) -> Iterable[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class Journal:
    code: str
    description: str
    type: int | None
    currency: str | None
    allow_variable_currency: bool
    blocked: bool
    gl_account_code: str | None


@dataclass(frozen=True, slots=True)
class GLAccount:
    id: str
    code: str
    description: str
    type: int | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class Period:
    year: int
    number: int
    start: date
    end: date

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    code: str | None
    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class BookedEntry:
    clearing_id: str
    entry_id: str
    entry_number: int | None
    journal: str | None


@dataclass(slots=True)
class ExactContext:
    journals: dict[str, Journal] = field(default_factory=dict)
    gl_accounts: dict[str, GLAccount] = field(default_factory=dict)  # by code
    periods: list[Period] = field(default_factory=list)
    accounts_read: bool = False  # Exact's customers are in the run's open-item store
    receivable_signs: SignReading = field(default_factory=SignReading)  # how amounts were signed

    def period_for(self, day: date) -> Period | None:
        for period in self.periods:
            if period.holds(day):
                return period
        return None


def _or(field_name: str, values: Iterable[str]) -> str:
    terms = [f"{field_name} eq {quote_string(v)}" for v in sorted(set(values))]
    return terms[0] if len(terms) == 1 else "(" + " or ".join(terms) + ")"


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value))


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    return _day_of(str(value))


@lru_cache(maxsize=4096)
def _day_of(text: str) -> date | None:
    # A year's open items carry a few hundred distinct dates: each text is parsed once.
    parsed = parse_odata_date(text)
    # Exact sends dates as midnight of the local day, in epoch milliseconds without a zone.
    return parsed.date() if parsed else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_journals(client: ReadClient, codes: Iterable[str]) -> dict[str, Journal]:
    rows = client.get_all(
        JOURNALS,
        select=("Code,Description,Type,Currency,AllowVariableCurrency,IsBlocked,GLAccountCode"),
        filter=_or("Code", codes),
    )
    found: dict[str, Journal] = {}
    for row in rows:
        code = _text(row.get("Code"))
        if code is None:
            continue
        found[code] = Journal(
            code=code,
            description=_text(row.get("Description")) or "",
            type=_int(row.get("Type")),
            currency=_text(row.get("Currency")),
            allow_variable_currency=bool(row.get("AllowVariableCurrency")),
            blocked=bool(row.get("IsBlocked")),
            gl_account_code=_text(row.get("GLAccountCode")),
        )
    return found


def read_gl_accounts(client: ReadClient, codes: Iterable[str]) -> dict[str, GLAccount]:
    rows = client.get_all(
        GL_ACCOUNTS,
        select="ID,Code,Description,Type,IsBlocked",
        filter=_or("Code", codes),
        bulk=True,
    )
    found: dict[str, GLAccount] = {}
    for row in rows:
        code = _text(row.get("Code"))
        if code is None or not row.get("ID"):
            continue
        found[code] = GLAccount(
            id=str(row["ID"]),
            code=code,
            description=_text(row.get("Description")) or "",
            type=_int(row.get("Type")),
            blocked=bool(row.get("IsBlocked")),
        )
    return found


def read_periods(client: ReadClient, first: date, last: date) -> list[Period]:
    """The financial periods that overlap the run's booking dates.

    [I] Exact's REST API does not say whether a period is closed; a closed period is refused
    when the entry is posted, and reported then.
    """
    rows = client.get_all(
        PERIODS,
        select="FinYear,FinPeriod,StartDate,EndDate",
        filter=(f"EndDate ge {datetime_literal(first)} and StartDate le {datetime_literal(last)}"),
    )
    found = []
    for row in rows:
        year, number = _int(row.get("FinYear")), _int(row.get("FinPeriod"))
        start, end = _day(row.get("StartDate")), _day(row.get("EndDate"))
        if None in (year, number, start, end):
            continue
        found.append(Period(year, number, start, end))  # type: ignore[arg-type]
    return sorted(found, key=lambda p: (p.start, p.year, p.number))


def read_open_items(client: ReadClient) -> list[OpenItem]:
    return read_receivables(client).items


@dataclass(frozen=True, slots=True)
class ReceivablesRead:
    items: list[OpenItem]
    signs: SignReading  # the sign convention seen, and the rows that disagree with it


def read_receivables(client: ReadClient) -> ReceivablesRead:
    """Open sales invoices and credit notes of every journal (``bulk/Cashflow/Receivables``,
    Status 20).

    Items of journals other than the selected sales journal are kept: the engine never links
    them, but it can then tell a bookkeeper "invoice N carries this reference but is in journal
    71, which is not selected" instead of "no open item carries it". Invoice or credit note
    comes from ``TransactionType`` and the open amount from the magnitude
    (``receivable_signs``); rows whose sign disagrees with the rest are named in ``signs``, and
    the run links nothing to them.
    """
    items = []
    served: list[SignedRow] = []
    paid_before: set[int] = set()
    for signed, item, partly_paid in _receivables(client):
        served.append(signed)
        if partly_paid:
            paid_before.add(signed.invoice_number)
        items.append(item)
    signs = read_signs(served)
    if paid_before:
        outstanding = _outstanding(client, paid_before)
        items = [
            kept
            for item in items
            if (kept := _still_open(item, paid_before, outstanding)) is not None
        ]
    return ReceivablesRead(items, signs)


def read_receivables_into(client: ReadClient, store: OpenItemStore) -> SignReading:
    """``read_receivables``, writing the open items into ``store`` page by page as Exact serves
    them, so that no more than a page of them is ever in memory."""
    paid_before: set[int] = set()

    def arriving() -> Iterator[OpenItem]:
        for signed, item, partly_paid in _receivables(client):
            number, kind, amount = signed.invoice_number, signed.kind, signed.amount
            store.note_served(number, kind, amount, convention_of(kind, amount) or "")
            if partly_paid:
                paid_before.add(number)
            yield item

    store.add(arriving())
    if paid_before:
        outstanding = _outstanding(client, paid_before)
        for pos, item in store.items_of_invoices(str(n) for n in sorted(paid_before)):
            store.revise(pos, _still_open(item, paid_before, outstanding))
    return signs_in(store)


def signs_in(store: OpenItemStore) -> SignReading:
    """The sign convention of the rows noted in ``store`` (as ``read_signs`` over them)."""
    counts = store.served_counts()
    positive, negative = counts.get("positive", 0), counts.get("negative", 0)
    reading = SignReading(counts={"positive": positive, "negative": negative})
    if positive > negative:
        reading.convention = "positive"
        aside: tuple[str, ...] = ("negative",)
    elif negative > positive:
        reading.convention = "negative"
        aside = ("positive",)
    else:
        aside = ("positive", "negative")  # a tie: nothing says which rows are right
    reading.disagreeing = [SignedRow(*row) for c in aside for row in store.served_rows(c)]
    return reading


def _receivables(client: ReadClient) -> Iterator[tuple[SignedRow, OpenItem, bool]]:
    """Each receivable row that is an open invoice or credit note: its kind and amount as served,
    the open item, and whether it was partly paid before."""
    rows = client.get_all(
        RECEIVABLES,
        select=(
            "ID,Account,AccountCode,AccountName,AmountFC,Currency,Description,DueDate,"
            "InvoiceDate,InvoiceNumber,Journal,LastPaymentDate,PaymentReference,"
            "TransactionType,YourRef"
        ),
        filter=f"Status eq {RECEIVABLE_OPEN}",
        bulk=True,
    )
    for row in rows:
        number = _int(row.get("InvoiceNumber"))
        account = _text(row.get("Account"))
        amount = _decimal(row.get("AmountFC"))
        kind = _int(row.get("TransactionType"))
        if number is None or account is None or amount is None or amount == 0:
            continue
        if kind not in INVOICE_TRANSACTION_TYPES:
            continue  # a cash-flow row (a payment on account), or a kind we cannot tell
        item = new_open_item(  # OpenItem, built without its __init__: a row per open item
            item_id=str(row.get("ID") or f"{number}"),
            invoice_number=str(number),
            customer_id=account,
            amount=signed_open_amount(kind, amount),
            currency=_text(row.get("Currency")) or "EUR",
            your_ref=_text(row.get("YourRef")),
            description=_text(row.get("Description")),
            payment_reference=_text(row.get("PaymentReference")),
            customer_code=_text(row.get("AccountCode")),
            customer_name=_text(row.get("AccountName")),
            customer_email=None,
            journal=_text(row.get("Journal")),
            invoice_date=_day(row.get("InvoiceDate")),
            due_date=_day(row.get("DueDate")),
        )
        # [I] A partly paid invoice carries a LastPaymentDate on its receivable (reference §4.6).
        yield SignedRow(number, kind, amount), item, bool(row.get("LastPaymentDate"))


def _outstanding(client: ReadClient, paid_before: set[int]) -> dict[tuple[int, str], Decimal]:
    """What is still outstanding of partly paid invoices, by (invoice number, customer).

    A receivable's AmountFC is the invoice's full amount; after a partial payment only
    ReceivablesList's ``Amount`` tells what is left (exact-online-api.md §4.5), so those few
    invoices are read there, by invoice number, in batches.
    """
    outstanding: dict[tuple[int, str], Decimal] = {}
    numbers = sorted(paid_before)
    for start in range(0, len(numbers), OUTSTANDING_BATCH):
        batch = numbers[start : start + OUTSTANDING_BATCH]
        rows = client.get_all(
            RECEIVABLES_LIST,
            select="HID,AccountId,Amount,InvoiceNumber",
            filter=" or ".join(f"InvoiceNumber eq {n}" for n in batch),
        )
        for row in rows:
            number, account = _int(row.get("InvoiceNumber")), _text(row.get("AccountId"))
            amount = _decimal(row.get("Amount"))
            if number is None or account is None or amount is None:
                continue
            key = (number, account)
            # Several rows per invoice (a split payment) add up to what is outstanding.
            outstanding[key] = outstanding.get(key, Decimal("0")) + amount
    return outstanding


def _still_open(
    item: OpenItem, paid_before: set[int], outstanding: dict[tuple[int, str], Decimal]
) -> OpenItem | None:
    """The item with what is left of a partly paid invoice; None when it is no longer open (an
    invoice missing from ReceivablesList)."""
    number = int(item.invoice_number)
    if number not in paid_before:
        return item
    left = outstanding.get((number, item.customer_id))
    if not left:
        return None
    # The kind is known from the receivable (never zero); ReceivablesList gives the size.
    kind = SALES_ENTRY if item.amount > 0 else CREDIT_NOTE
    return replace(item, amount=signed_open_amount(kind, left))


def read_accounts(client: ReadClient) -> Iterator[Account]:
    """Every customer, page by page (a merchant's year can have hundreds of thousands)."""
    rows = client.get_all(ACCOUNTS, select="ID,Code,Name,Email", bulk=True)
    return (_account(row) for row in rows if row.get("ID"))


def read_account_by_code(client: ReadClient, code: str) -> Account | None:
    rows = client.get_all(
        ACCOUNTS,
        select="ID,Code,Name,Email",
        filter=f"Code eq {quote_string(pad_account_code(code))}",
        top=1,
    )
    for row in rows:
        return _account(row)
    return None


def _account(row: Mapping[str, Any]) -> Account:
    return Account(
        id=str(row["ID"]),
        code=_text(row.get("Code")),
        name=_text(row.get("Name")),
        email=_text(row.get("Email")),
    )


def read_booked(
    client: ReadClient,
    journals: Iterable[str],
    since: date,
    *,
    description: str | None = None,
    on: date | None = None,
) -> dict[str, BookedEntry]:
    """Clearings already booked in these bank journals from ``since`` on, found by the key in
    their line descriptions (one paged read of the ledger lines).

    With ``description`` and ``on`` the read looks for one entry only (after a POST whose
    outcome is unknown).
    """
    terms = [_or("JournalCode", journals)]
    if on is not None:
        terms.append(f"Date eq {datetime_literal(on)}")
    else:
        terms.append(f"Date ge {datetime_literal(since)}")
    if description is not None:
        terms.append(f"Description eq {quote_string(description)}")
    rows = client.get_all(
        TRANSACTION_LINES,
        select="EntryID,EntryNumber,JournalCode,Description",
        filter=" and ".join(terms),
        bulk=True,
    )
    found: dict[str, BookedEntry] = {}
    for row in rows:
        clearing_id = parse_key(_text(row.get("Description")))
        entry_id = _text(row.get("EntryID"))
        if clearing_id is None or entry_id is None or clearing_id in found:
            continue
        found[clearing_id] = BookedEntry(
            clearing_id=clearing_id,
            entry_id=entry_id,
            entry_number=_int(row.get("EntryNumber")),
            journal=_text(row.get("JournalCode")),
        )
    return found
