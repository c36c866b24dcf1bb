"""A rejected entry leaves no trace in the Exact sandbox.

Exact checks a whole entry before it stores any of it. So a POST that fails on the last of several
lines (or on a header field) must not store the entry, a line, a ledger line or an open-item change,
nor use up the entry number or a row id: the state afterwards equals the state before, and the next
valid POST comes out exactly as it would have without the rejected one.

Each test runs two sandboxes on the same frozen clock: ``subject`` gets the rejected POST, ``twin``
does not; both then get the same valid POST and their full admin dumps must be identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests
from pay_exact_sandbox.admin import AdminState
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox

MARCH_10_2026 = 1_773_144_000  # 2026-03-10T12:00:00Z, inside the fixture's open period 2026/3
BANK = "financialtransaction/BankEntries"
BANK_LINES = "financialtransaction/BankEntryLines"
JOURNAL = "generaljournalentry/GeneralJournalEntries"
SALES = "salesentry/SalesEntries"
BAD_GUID = "7ba8fe6e0a-97c5-41e3-b4c0-a0ea087733de"  # one hex digit too many in the first group


def _conversion(prop: str, edm_type: str) -> str:
    """Exact's Dutch text for a value that does not convert to its property's type."""
    return (
        "Fout bij het verwerken van de aanvraag. Fout bij het converteren van de waarde voor "
        f"eigenschap '{prop}' naar type '{edm_type}'"
    )


@dataclass
class Twins:
    subject: ExactSandbox
    twin: ExactSandbox
    account: dict[str, str]
    gl: dict[str, str]
    invoice_number: int  # of ORD00013, open at 12.10 for Jansen BV

    @property
    def both(self) -> tuple[ExactSandbox, ExactSandbox]:
        return self.subject, self.twin


@pytest.fixture
def twins(exact_sandbox_factory: Callable[..., ExactSandbox]) -> Twins:
    def frozen() -> ExactSandbox:
        admin = AdminState()
        admin.clock.freeze(True)
        admin.clock.set(MARCH_10_2026)
        return exact_sandbox_factory(admin=admin)

    subject, twin = frozen(), frozen()
    dump = subject.dump()
    assert dump == twin.dump()  # the comparison below means something only if they start equal
    invoice = next(
        r for r in dump["receivables"] if r["YourRef"] == "ORD00013" and r["TransactionType"] == 20
    )
    return Twins(
        subject=subject,
        twin=twin,
        account={a["Name"]: a["ID"] for a in dump["accounts"]},
        gl={g["Code"]: g["ID"] for g in dump["gl_accounts"]},
        invoice_number=invoice["InvoiceNumber"],
    )


def _post(sandbox: ExactSandbox, path: str, body: dict[str, Any]) -> requests.Response:
    with sandbox.session() as http:
        http.headers["Prefer"] = "return=representation"
        return http.post(f"{sandbox.api_url}/{path}", data=dumps(body), timeout=10)


def _created(sandbox: ExactSandbox, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = _post(sandbox, path, body)
    assert response.status_code == 201, response.text
    return response.json(parse_float=Decimal)["d"]


# -- bodies: the first lines do everything a line can (settle an invoice, book to the ledger) ----
def _bank_lines(books: Twins, last: dict[str, Any]) -> list[dict[str, Any]]:
    day = "2026-03-08T00:00:00"
    return [
        {
            "Date": day,
            "GLAccount": books.gl["1300"],
            "Account": books.account["Jansen BV"],
            "OurRef": books.invoice_number,
            "AmountFC": Decimal("12.10"),
            "Description": "ORD00013",
        },
        {"Date": day, "GLAccount": books.gl["4390"], "AmountFC": Decimal("-0.29")},
        {"Date": day, "GLAccount": books.gl["2050"], "AmountFC": Decimal("-11.81"), **last},
    ]


def _bank_entry(books: Twins, last: dict[str, Any] | None = None, **header: Any) -> dict[str, Any]:
    return {
        "JournalCode": "25",
        "Currency": "EUR",
        "FinancialYear": 2026,
        "FinancialPeriod": 3,
        "OpeningBalanceFC": Decimal(0),
        "ClosingBalanceFC": Decimal(0),
        "BankEntryLines": _bank_lines(books, last or {}),
        **header,
    }


def _journal_entry(
    books: Twins, last: dict[str, Any] | None = None, **header: Any
) -> dict[str, Any]:
    day = "2026-03-08T00:00:00"
    return {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {"Date": day, "GLAccount": books.gl["2050"], "AmountFC": Decimal("20.00")},
            {
                "Date": day,
                "GLAccount": books.gl["1300"],
                "Account": books.account["Jansen BV"],
                "OurRef": books.invoice_number,
                "AmountFC": Decimal("-12.10"),
            },
            {
                "Date": day,
                "GLAccount": books.gl["2090"],
                "AmountFC": Decimal("-7.90"),
                **(last or {}),
            },
        ],
        **header,
    }


def _sales_entry(books: Twins, last: dict[str, Any] | None = None, **header: Any) -> dict[str, Any]:
    line = {"GLAccount": books.gl["8000"], "AmountFC": Decimal("10.00"), "VATCode": "2"}
    return {
        "Journal": "70",
        "Customer": books.account["Jansen BV"],
        "EntryDate": "2026-03-02T00:00:00",
        "YourRef": "ORD00099",
        "SalesEntryLines": [line, dict(line), {**line, **(last or {})}],
        **header,
    }


# Malformed line fields, with the Edm type Exact names in its conversion error.
LINE_FIELDS: dict[str, tuple[Any, str]] = {
    "AmountVATFC": ("21 procent", "Double"),
    "Document": (BAD_GUID, "Guid"),
    "Project": ("project-7", "Guid"),
    "Quantity": ("1,5", "Double"),
}
BANK_LINE_FIELDS: dict[str, tuple[Any, str]] = {
    **LINE_FIELDS,
    "VATPercentage": ("21%", "Double"),
}


def _assert_rejected(sandbox: ExactSandbox, path: str, body: dict[str, Any], text: str) -> None:
    """The POST answers 500 with ``text`` in Exact's error body, and changes nothing at all."""
    before = sandbox.dump()
    response = _post(sandbox, path, body)
    assert response.status_code == 500, response.text
    assert response.json() == {"error": {"code": "", "message": {"lang": "nl-NL", "value": text}}}
    assert sandbox.dump() == before


def _assert_same_next_post(
    books: Twins, path: str, body: dict[str, Any], entry_number: int
) -> None:
    """The next valid POST comes out as if the rejected one never happened."""
    subject, twin = (_created(sandbox, path, body) for sandbox in books.both)
    assert subject["EntryNumber"] == twin["EntryNumber"] == entry_number
    assert subject["EntryID"] == twin["EntryID"]
    assert books.subject.dump() == books.twin.dump()


# -- bank entries ------------------------------------------------------------------------------
@pytest.mark.parametrize("field", sorted(BANK_LINE_FIELDS))
def test_bank_entry_with_a_malformed_field_in_its_last_line_leaves_no_trace(
    twins: Twins, field: str
) -> None:
    value, edm_type = BANK_LINE_FIELDS[field]
    body = _bank_entry(twins, {field: value})
    _assert_rejected(twins.subject, BANK, body, _conversion(field, edm_type))
    _assert_same_next_post(twins, BANK, _bank_entry(twins), 26250001)


@pytest.mark.parametrize(
    ("field", "value", "edm_type"),
    [
        ("BankStatementDocument", BAD_GUID, "Guid"),
        ("BankStatementDocument", 12345, "Guid"),
        ("EntryNumber", "26250001a", "Int32"),
        ("ClosingBalanceFC", "nul", "Double"),
    ],
)
def test_bank_entry_with_a_malformed_header_field_leaves_no_trace(
    twins: Twins, field: str, value: Any, edm_type: str
) -> None:
    body = _bank_entry(twins, **{field: value})
    _assert_rejected(twins.subject, BANK, body, _conversion(field, edm_type))
    _assert_same_next_post(twins, BANK, _bank_entry(twins), 26250001)


def test_a_conversion_error_wins_over_a_business_rule_on_an_earlier_line(twins: Twins) -> None:
    # Exact converts the whole payload first, so the malformed last line is what it reports.
    body = _bank_entry(twins, {"Document": BAD_GUID})
    body["BankEntryLines"][0]["Account"] = None  # a debtors line without a relation
    _assert_rejected(twins.subject, BANK, body, _conversion("Document", "Guid"))


def test_bank_entry_failing_a_business_rule_on_its_last_line_leaves_no_trace(
    twins: Twins,
) -> None:
    body = _bank_entry(twins, {"GLAccount": "6f1e1c1a-0000-4000-8000-000000000001"})
    _assert_rejected(twins.subject, BANK, body, "Ongeldig: Grootboekrekening")
    _assert_same_next_post(twins, BANK, _bank_entry(twins), 26250001)


def test_a_valid_bank_entry_keeps_the_line_fields_it_was_sent(twins: Twins) -> None:
    document = "0f5e3c1a-1111-4222-8333-444455556666"
    project = "AF5E3C1A-1111-4222-8333-444455556666"  # Exact answers GUIDs in lower case
    last = {
        "AmountVATFC": "0.50",
        "Document": document,
        "Project": project,
        "Quantity": Decimal("1.5"),
        "VATPercentage": Decimal("0.21"),
    }
    entry = _created(twins.subject, BANK, _bank_entry(twins, last, BankStatementDocument=document))
    stored = twins.subject.dump()["bank_entries"][0]
    assert entry["BankStatementDocument"] == stored["BankStatementDocument"] == document
    line = stored["BankEntryLines"][-1]
    assert line["AmountVATFC"] == Decimal("0.50")
    assert line["Document"] == document
    assert line["Project"] == project.lower()
    assert line["Quantity"] == Decimal("1.5")
    assert line["VATPercentage"] == Decimal("0.21")


# -- a bank entry line posted on its own ---------------------------------------------------------
@pytest.mark.parametrize("field", sorted(BANK_LINE_FIELDS))
def test_a_malformed_line_posted_on_its_own_leaves_the_entry_as_it_was(
    twins: Twins, field: str
) -> None:
    entries = [_created(sandbox, BANK, _bank_entry(twins)) for sandbox in twins.both]
    entry_id = entries[0]["EntryID"]
    assert entries[1]["EntryID"] == entry_id
    line = {
        "EntryID": entry_id,
        "Date": "2026-03-09T00:00:00",
        "GLAccount": twins.gl["4390"],
        "AmountFC": Decimal("-0.10"),
    }
    value, edm_type = BANK_LINE_FIELDS[field]
    _assert_rejected(
        twins.subject, BANK_LINES, {**line, field: value}, _conversion(field, edm_type)
    )
    added = [_created(sandbox, BANK_LINES, line) for sandbox in twins.both]
    assert added[0]["ID"] == added[1]["ID"]
    assert added[0]["LineNumber"] == 4
    assert added[0]["EntryNumber"] == 26250001
    # The added line moved the journal's end balance, where the next entry opens.
    moved = {"OpeningBalanceFC": Decimal("-0.10"), "ClosingBalanceFC": Decimal("-0.10")}
    _assert_same_next_post(twins, BANK, _bank_entry(twins, **moved), 26250002)


# -- general journal entries ---------------------------------------------------------------------
@pytest.mark.parametrize("field", sorted(LINE_FIELDS))
def test_journal_entry_with_a_malformed_field_in_its_last_line_leaves_no_trace(
    twins: Twins, field: str
) -> None:
    value, edm_type = LINE_FIELDS[field]
    body = _journal_entry(twins, {field: value})
    _assert_rejected(twins.subject, JOURNAL, body, _conversion(field, edm_type))
    _assert_same_next_post(twins, JOURNAL, _journal_entry(twins), 26900001)


@pytest.mark.parametrize(
    ("field", "value", "edm_type"),
    [
        ("EntryNumber", Decimal("2.5"), "Int32"),
        ("ExchangeRate", "een", "Double"),
        ("Reversal", "nee", "Boolean"),
        ("FinancialPeriod", "maart", "Int32"),
    ],
)
def test_journal_entry_with_a_malformed_header_field_leaves_no_trace(
    twins: Twins, field: str, value: Any, edm_type: str
) -> None:
    body = _journal_entry(twins, **{field: value})
    _assert_rejected(twins.subject, JOURNAL, body, _conversion(field, edm_type))
    _assert_same_next_post(twins, JOURNAL, _journal_entry(twins), 26900001)


# -- sales entries -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("last", "header", "prop", "edm_type"),
    [
        ({"Quantity": "twee"}, {}, "Quantity", "Double"),
        ({"VATAmountFC": "2,10"}, {}, "VATAmountFC", "Double"),
        ({}, {"Document": BAD_GUID}, "Document", "Guid"),
        ({}, {"DueDate": "31-03-2026"}, "DueDate", "DateTime"),
    ],
)
def test_sales_entry_with_a_malformed_field_leaves_no_trace(
    twins: Twins, last: dict[str, Any], header: dict[str, Any], prop: str, edm_type: str
) -> None:
    body = _sales_entry(twins, last, **header)
    _assert_rejected(twins.subject, SALES, body, _conversion(prop, edm_type))
    _assert_same_next_post(twins, SALES, _sales_entry(twins), 26700001)
