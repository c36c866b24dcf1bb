"""Bank entries in the Exact sandbox: settlement of open items, validation as Exact answers it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
from pay_exact_sandbox.exact import ExactData
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.exact.pytest_fixtures import DEFAULT_FIXTURE, ExactSandbox

KEY = "PX:CLEARING-20260300123"
ANY_GUID = "11111111-1111-1111-1111-111111111111"


class Books:
    """IDs from the small fixture, looked up once per test."""

    def __init__(self, sandbox: ExactSandbox) -> None:
        dump = sandbox.dump()
        self.account = {a["Name"]: a["ID"] for a in dump["accounts"]}
        self.gl = {g["Code"]: g["ID"] for g in dump["gl_accounts"]}
        self.invoice = {
            (r["YourRef"], r["TransactionType"]): r
            for r in dump["receivables"]
            if r["TransactionType"] in (20, 21)
        }

    def number(self, your_ref: str, kind: int = 20) -> int:
        return self.invoice[(your_ref, kind)]["InvoiceNumber"]

    def debtor_line(self, amount: str, customer: str, **fields: Any) -> dict[str, Any]:
        """A line on the debtors G/L for ``customer`` (money in is positive)."""
        return _line(self.gl["1300"], amount, Account=self.account[customer], **fields)


@pytest.fixture
def books(exact_sandbox: ExactSandbox) -> Books:
    return Books(exact_sandbox)


def _line(gl: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {"Date": "2026-03-08T00:00:00", "GLAccount": gl, "AmountFC": Decimal(amount), **fields}


def _post(sandbox: ExactSandbox, body: dict[str, Any], *, prefer: bool = True) -> requests.Response:
    with sandbox.session() as http:
        if prefer:
            http.headers["Prefer"] = "return=representation"
        return http.post(
            f"{sandbox.api_url}/financialtransaction/BankEntries",
            data=_json(body),
            timeout=10,
        )


def _book(sandbox: ExactSandbox, books: Books, *lines: dict[str, Any]) -> None:
    """Posts one clearing with ``lines`` (and its payout line), which must be accepted."""
    response = _post(sandbox, _clearing(books, *lines))
    assert response.status_code == 201, response.text


def _json(body: Any) -> str:
    return dumps(body)


def _open_items(sandbox: ExactSandbox) -> dict[str, Decimal]:
    with sandbox.session() as http:
        rows = http.get(
            f"{sandbox.api_url}/read/financial/ReceivablesList?$select=YourRef,Amount,InvoiceNumber"
            "&$filter=InvoiceNumber ne null",
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
    return {f"{r['YourRef']}#{r['InvoiceNumber']}": r["Amount"] for r in rows}


def _clearing(books: Books, *lines: dict[str, Any]) -> dict[str, Any]:
    total = sum((line["AmountFC"] for line in lines), Decimal(0))
    payout = _line(books.gl["2050"], str(-total), Description=f"{KEY} payout")
    return {
        "JournalCode": "25",
        "Currency": "EUR",
        "FinancialYear": 2026,
        "FinancialPeriod": 3,
        "OpeningBalanceFC": Decimal(0),
        "ClosingBalanceFC": Decimal(0),
        "BankEntryLines": [*lines, payout],
    }


def test_exact_amount_with_account_and_ourref_settles_the_invoice(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    number = books.number("ORD00013")
    body = _clearing(
        books,
        books.debtor_line(
            "12.10",
            "Jansen BV",
            OurRef=number,
            Description=f"{KEY} ORD00013",
            Notes="paynl:record:1",
        ),
    )
    before = _open_items(exact_sandbox)
    response = _post(exact_sandbox, body)
    assert response.status_code == 201, response.text
    created = response.json(parse_float=Decimal)["d"]
    assert created["Status"] == 20
    assert created["EntryNumber"] == 26250001  # year 26, journal 25, first entry
    assert created["BankEntryLines"]["__deferred"]["uri"].endswith("/BankEntryLines")
    after = _open_items(exact_sandbox)
    assert f"ORD00013#{number}" in before
    assert f"ORD00013#{number}" not in after
    assert len(after) == len(before) - 1
    with exact_sandbox.session() as http:
        receivable = http.get(
            f"{exact_sandbox.api_url}/cashflow/Receivables?$filter=InvoiceNumber eq {number}"
            "&$select=Status,IsFullyPaid,EndDate",
            timeout=10,
        ).json()["d"]["results"]
    assert receivable == [
        {
            "__metadata": receivable[0]["__metadata"],
            "Status": 50,
            "IsFullyPaid": True,
            "EndDate": "/Date(1772928000000)/",
        }
    ]


def test_lines_are_findable_by_description_on_lines_and_ledger(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    body = _clearing(
        books,
        books.debtor_line(
            "12.10",
            "Jansen BV",
            OurRef=books.number("ORD00013"),
            Description=f"{KEY} ORD00013",
        ),
        _line(books.gl["4390"], "-0.29", Description=f"{KEY} fees"),
    )
    entry = _post(exact_sandbox, body).json()["d"]
    with exact_sandbox.session() as http:
        lines = http.get(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntryLines",
            params={
                "$filter": f"Description eq '{KEY} fees'",
                "$select": "ID,EntryID,AmountFC,LineNumber",
            },
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
        ledger = http.get(
            f"{exact_sandbox.api_url}/financialtransaction/TransactionLines",
            params={
                "$filter": f"substringof('{KEY}', Description) eq true and JournalCode eq '25' "
                "and Date ge datetime'2026-03-01T00:00:00'",
                "$select": "EntryID,Description,AmountFC,GLAccountCode,InvoiceNumber,YourRef",
            },
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
        by_entry = http.get(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries(guid'{entry['EntryID']}')"
            "/BankEntryLines?$select=Description",
            timeout=10,
        ).json()["d"]["results"]
    assert [(line["EntryID"], line["AmountFC"], line["LineNumber"]) for line in lines] == [
        (entry["EntryID"], Decimal("-0.29"), 2)
    ]
    assert len(ledger) == 3
    assert {line["EntryID"] for line in ledger} == {entry["EntryID"]}
    debtor = next(line for line in ledger if line["GLAccountCode"] == "1300")
    # Ledger sign: money received credits the debtors account.
    assert debtor["AmountFC"] == Decimal("-12.10")
    assert debtor["InvoiceNumber"] == books.number("ORD00013")
    assert debtor["YourRef"] == "ORD00013"  # a line matched with one invoice takes its YourRef
    assert len(by_entry) == 3


def test_partial_payment_lowers_the_open_amount_and_stays_open(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    number = books.number("4711")
    _book(exact_sandbox, books, books.debtor_line("20.00", "Pieter de Vries", OurRef=number))
    assert _open_items(exact_sandbox)[f"4711#{number}"] == Decimal("40.50")
    receivable = next(
        r for r in exact_sandbox.dump()["receivables"] if r["InvoiceNumber"] == number
    )
    assert receivable["Status"] == 20
    assert receivable["IsFullyPaid"] is False


def test_overpayment_or_wrong_customer_leaves_the_invoice_open_and_an_unmatched_item(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    number = books.number("4711")
    _book(
        exact_sandbox,
        books,
        books.debtor_line("70.00", "Pieter de Vries", OurRef=number),
        books.debtor_line("60.50", "Jansen BV", OurRef=number),
    )
    assert _open_items(exact_sandbox)[f"4711#{number}"] == Decimal("60.50")
    with exact_sandbox.session() as http:
        unmatched = http.get(
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            params={"$filter": "YourRef eq null", "$select": "AccountName,Amount,InvoiceNumber"},
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
    assert sorted((r["AccountName"], r["Amount"], r["InvoiceNumber"]) for r in unmatched) == [
        ("Jansen BV", Decimal("-60.50"), None),
        ("Pieter de Vries", Decimal("-70.00"), None),
    ]


def test_money_out_against_an_invoice_never_raises_its_open_amount(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    number = books.number("4711")
    _book(exact_sandbox, books, books.debtor_line("-10.00", "Pieter de Vries", OurRef=number))
    open_items = _open_items(exact_sandbox)
    assert open_items[f"4711#{number}"] == Decimal("60.50")
    dump = exact_sandbox.dump()
    unmatched = [r for r in dump["receivables"] if r["TransactionType"] == 40]
    assert [(r["AccountName"], r["OpenAmountFC"]) for r in unmatched] == [
        ("Pieter de Vries", Decimal("10.00"))
    ]


def test_refund_line_settles_the_credit_note(exact_sandbox: ExactSandbox, books: Books) -> None:
    credit = books.number("ORD00012", 21)
    _book(
        exact_sandbox,
        books,
        books.debtor_line("-24.20", "Jansen BV", OurRef=credit),
        books.debtor_line(
            "121.00",
            "Jansen BV",
            OurRef=books.number("ORD00012"),
        ),
    )
    remaining = _open_items(exact_sandbox)
    assert not any(key.startswith("ORD00012#") for key in remaining)


def test_currency_of_the_item_must_match_to_settle(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    usd = books.number("#1001")
    _book(exact_sandbox, books, books.debtor_line("80.00", "Brown Ltd", OurRef=usd))
    assert _open_items(exact_sandbox)[f"#1001#{usd}"] == Decimal("80.00")


def test_delete_of_an_open_entry_reopens_what_it_settled(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    before = _open_items(exact_sandbox)
    body = _clearing(
        books,
        books.debtor_line(
            "242.00",
            "Anna Schmidt",
            OurRef=books.number("000000123"),
        ),
        books.debtor_line("5.00", "Anna Schmidt"),
    )
    entry = _post(exact_sandbox, body).json()["d"]
    assert _open_items(exact_sandbox) != before
    url = f"{exact_sandbox.api_url}/financialtransaction/BankEntries(guid'{entry['EntryID']}')"
    with exact_sandbox.session() as http:
        deleted = http.delete(url, timeout=10)
        again = http.delete(url, timeout=10)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert again.status_code == 404
    assert _open_items(exact_sandbox) == before
    dump = exact_sandbox.dump()
    assert dump["bank_entries"] == []
    assert not [t for t in dump["transaction_lines"] if t["EntryID"] == entry["EntryID"]]
    invoice = next(
        r for r in dump["receivables"] if r["InvoiceNumber"] == books.number("000000123")
    )
    assert (invoice["Status"], invoice["IsFullyPaid"], invoice["EndDate"]) == (20, False, None)


def test_processed_entries_cannot_be_deleted(exact_sandbox: ExactSandbox, books: Books) -> None:
    entry = _post(exact_sandbox, _clearing(books)).json()["d"]
    exact_sandbox.runtime.store.bank_entries[entry["EntryID"]]["Status"] = 50
    with exact_sandbox.session() as http:
        response = http.delete(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries(guid'{entry['EntryID']}')",
            timeout=10,
        )
    assert response.status_code == 500


def test_entry_numbers_follow_per_journal_and_year(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    numbers = [_post(exact_sandbox, _clearing(books)).json()["d"]["EntryNumber"] for _ in range(3)]
    bank = {**_clearing(books), "JournalCode": "20"}
    other = _post(exact_sandbox, bank).json()["d"]["EntryNumber"]
    assert numbers == [26250001, 26250002, 26250003]
    assert other == 26200001


def test_without_prefer_only_sent_properties_come_back(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    response = _post(exact_sandbox, _clearing(books), prefer=False)
    assert response.status_code == 201
    body = response.json()["d"]
    assert "EntryID" in body
    assert "JournalCode" in body
    assert "EntryNumber" not in body


def test_a_line_posted_on_its_own_joins_an_open_entry(
    exact_sandbox: ExactSandbox, books: Books
) -> None:
    entry = _post(exact_sandbox, _clearing(books)).json()["d"]
    line = books.debtor_line(
        "12.10",
        "Jansen BV",
        OurRef=books.number("ORD00013"),
        EntryID=entry["EntryID"],
    )
    with exact_sandbox.session() as http:
        response = http.post(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntryLines",
            data=_json(line),
            timeout=10,
        )
        missing = http.post(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntryLines",
            data=_json({k: v for k, v in line.items() if k != "EntryID"}),
            timeout=10,
        )
    assert response.status_code == 201
    assert missing.status_code == 500
    assert f"ORD00013#{books.number('ORD00013')}" not in _open_items(exact_sandbox)


def test_payment_service_journal_entries_are_hidden_from_bank_entries(
    exact_sandbox_factory,
) -> None:
    data = ExactData.load(DEFAULT_FIXTURE)
    data.gl_accounts.append({"Code": "1110", "Description": "Mollie", "Type": 16})
    data.journals.append(
        {"Code": "26", "Description": "Mollie", "Type": 16, "GLAccountCode": "1110"}
    )
    sandbox: ExactSandbox = exact_sandbox_factory(data)
    books = Books(sandbox)
    body = {**_clearing(books), "JournalCode": "26"}
    assert _post(sandbox, body).status_code == 201
    with sandbox.session() as http:
        listed = http.get(
            f"{sandbox.api_url}/financialtransaction/BankEntries?$select=EntryID", timeout=10
        ).json()["d"]["results"]
    assert listed == []
    assert len(sandbox.dump()["bank_entries"]) == 1


# -- validation -------------------------------------------------------------------------------
def _cases(books: Books) -> dict[str, tuple[dict[str, Any], str]]:
    ar, cost = books.gl["1300"], books.gl["4390"]
    jansen = books.account["Jansen BV"]
    base = _clearing(books)
    line = _line(cost, "-1.00")
    return {
        "no journal": ({**base, "JournalCode": None}, "Dagboek is verplicht"),
        "unknown journal": ({**base, "JournalCode": "99"}, "Ongeldig: Dagboek"),
        "sales journal": (
            {**base, "JournalCode": "70"},
            "Ongeldig dagboek. Het dagboek moet een bankdagboek zijn",
        ),
        "no lines": ({**base, "BankEntryLines": []}, "Regels zijn verplicht"),
        "no GLAccount": (
            {**base, "BankEntryLines": [{"AmountFC": Decimal(1)}]},
            "Grootboekrekening is verplicht",
        ),
        "unknown GLAccount": (
            {**base, "BankEntryLines": [_line("6f1e1c1a-0000-4000-8000-000000000001", "1")]},
            "Ongeldig: Grootboekrekening",
        ),
        "malformed GUID": (
            {**base, "BankEntryLines": [_line("7ba8fe6e0a-97c5-41e3-b4c0-a0ea087733de", "1")]},
            "Fout bij het verwerken van de aanvraag. Fout bij het converteren van de waarde "
            "voor eigenschap 'GLAccount' naar type 'Guid'",
        ),
        "no amount": (
            {**base, "BankEntryLines": [{"GLAccount": cost}]},
            "Bedrag is verplicht",
        ),
        "unknown account": (
            {
                **base,
                "BankEntryLines": [_line(ar, "1", Account="6f1e1c1a-0000-4000-8000-000000000002")],
            },
            "Ongeldig: Relatie",
        ),
        "debtors line without account": (
            {**base, "BankEntryLines": [_line(ar, "1")]},
            "Relatie is verplicht",
        ),
        "OurRef not an Int32": (
            {**base, "BankEntryLines": [_line(ar, "1", Account=jansen, OurRef="ORD-1")]},
            "Fout bij het verwerken van de aanvraag. Fout bij het converteren van de waarde "
            "voor eigenschap 'OurRef' naar type 'Int32'",
        ),
        "closed period": (
            {
                **base,
                "FinancialYear": 2025,
                "FinancialPeriod": 9,
                "BankEntryLines": [{**line, "Date": "2025-09-30T00:00:00"}],
            },
            "Periode is afgesloten: 2025/9",
        ),
        "line in a closed period": (
            {
                **{k: v for k, v in base.items() if k not in ("FinancialYear", "FinancialPeriod")},
                "BankEntryLines": [{**line, "Date": "2025-05-01T00:00:00"}],
            },
            "Periode is afgesloten: 2025/5",
        ),
        "missing period": (
            {**base, "FinancialYear": 2031, "FinancialPeriod": 1},
            "Boekjaar/periode bestaat niet: 2031/1",
        ),
        "line date in another year": (
            {**base, "BankEntryLines": [{**line, "Date": "2027-01-02T00:00:00"}]},
            "Het boekjaar kan niet gewijzigd worden",
        ),
        "balance mismatch": (
            {**base, "BankEntryLines": [line], "ClosingBalanceFC": Decimal(0)},
            "Beginsaldo plus mutaties is niet gelijk aan eindsaldo",
        ),
        "opening balance not the journal's end balance": (
            {
                **base,
                "OpeningBalanceFC": Decimal(10),
                "ClosingBalanceFC": Decimal(9),
                "BankEntryLines": [line],
            },
            "Beginsaldo moet gelijk zijn aan het eindsaldo van de vorige boeking: 0.00",
        ),
        "currency other than the journal's": (
            {**base, "Currency": "USD"},
            "Ongeldig: Valuta",
        ),
    }


CASE_NAMES = [
    "no journal",
    "unknown journal",
    "sales journal",
    "no lines",
    "no GLAccount",
    "unknown GLAccount",
    "malformed GUID",
    "no amount",
    "unknown account",
    "debtors line without account",
    "OurRef not an Int32",
    "closed period",
    "line in a closed period",
    "missing period",
    "line date in another year",
    "balance mismatch",
    "opening balance not the journal's end balance",
    "currency other than the journal's",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_business_rules_answer_500_with_dutch_text_and_change_nothing(
    exact_sandbox: ExactSandbox, books: Books, case: str
) -> None:
    body, text = _cases(books)[case]
    before = exact_sandbox.dump()
    response = _post(exact_sandbox, body)
    assert response.status_code == 500, response.text
    assert response.json() == {"error": {"code": "", "message": {"lang": "nl-NL", "value": text}}}
    after = exact_sandbox.dump()
    for name in ("bank_entries", "receivables", "transaction_lines"):
        assert after[name] == before[name]


def test_error_texts_in_english(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(language="en")
    books = Books(sandbox)
    response = _post(sandbox, {**_clearing(books), "BankEntryLines": [{"AmountFC": 1}]})
    assert response.status_code == 500
    assert response.json()["error"]["message"] == {
        "lang": "en-US",
        "value": "G/L account is mandatory",
    }


def test_request_problems_are_400(exact_sandbox: ExactSandbox, books: Books) -> None:
    unknown_property = {**_clearing(books), "Journal": "25"}
    assert _post(exact_sandbox, unknown_property).status_code == 400
    with exact_sandbox.session() as http:
        broken = http.post(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries",
            data="{not json",
            timeout=10,
        )
        put = http.put(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries(guid'{ANY_GUID}')",
            data="{}",
            timeout=10,
        )
    assert broken.status_code == 400
    assert put.status_code == 405
