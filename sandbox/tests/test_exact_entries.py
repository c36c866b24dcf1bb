"""Sales entries, general journal entries and accounts in the Exact sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox


def _ids(sandbox: ExactSandbox) -> tuple[dict[str, str], dict[str, str]]:
    dump = sandbox.dump()
    return (
        {a["Name"]: a["ID"] for a in dump["accounts"]},
        {g["Code"]: g["ID"] for g in dump["gl_accounts"]},
    )


def _post(sandbox: ExactSandbox, path: str, body: dict[str, Any]) -> requests.Response:
    with sandbox.session() as http:
        http.headers["Prefer"] = "return=representation"
        return http.post(f"{sandbox.api_url}/{path}", data=dumps(body), timeout=10)


def _sale(customer: str, gl: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {
        "Journal": "70",
        "Customer": customer,
        "EntryDate": "2026-03-02T00:00:00",
        "YourRef": "ORD00099",
        "Description": "ORD00099",
        "SalesEntryLines": [{"GLAccount": gl, "AmountFC": Decimal(amount), "VATCode": "2"}],
        **fields,
    }


def test_sales_entry_creates_an_open_item_numbered_per_journal(
    exact_sandbox: ExactSandbox,
) -> None:
    accounts, gls = _ids(exact_sandbox)
    first = _post(
        exact_sandbox,
        "salesentry/SalesEntries",
        _sale(accounts["Jansen BV"], gls["8000"], "100.00"),
    )
    second = _post(
        exact_sandbox,
        "salesentry/SalesEntries",
        _sale(accounts["Jansen BV"], gls["8000"], "10.00", YourRef="ORD00100"),
    )
    assert first.status_code == 201, first.text
    entry = first.json(parse_float=Decimal)["d"]
    assert entry["EntryNumber"] == entry["InvoiceNumber"] == 26700001
    assert second.json()["d"]["EntryNumber"] == 26700002
    assert entry["AmountFC"] == Decimal("121.00")
    assert entry["VATAmountFC"] == Decimal("21.00")
    with exact_sandbox.session() as http:
        listed = http.get(
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            params={
                "$filter": "InvoiceNumber eq 26700001",
                "$select": "Amount,YourRef,AccountName",
            },
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
        ledger = http.get(
            f"{exact_sandbox.api_url}/financialtransaction/TransactionLines",
            params={
                "$filter": f"EntryID eq guid'{entry['EntryID']}'",
                "$select": "GLAccountCode,AmountFC,LineNumber",
            },
            timeout=10,
        ).json(parse_float=Decimal)["d"]["results"]
    assert [(r["Amount"], r["YourRef"], r["AccountName"]) for r in listed] == [
        (Decimal("121.00"), "ORD00099", "Jansen BV")
    ]
    balances = {r["GLAccountCode"]: r["AmountFC"] for r in ledger}
    assert balances == {
        "1300": Decimal("121.00"),
        "8000": Decimal("-100.00"),
        "1500": Decimal("-21.00"),
    }


def test_credit_note_creates_a_negative_open_item(exact_sandbox: ExactSandbox) -> None:
    accounts, gls = _ids(exact_sandbox)
    response = _post(
        exact_sandbox,
        "salesentry/SalesEntries",
        _sale(accounts["Jansen BV"], gls["8000"], "50.00", Type=21),
    )
    entry = response.json(parse_float=Decimal)["d"]
    assert entry["AmountFC"] == Decimal("-60.50")
    item = next(r for r in exact_sandbox.dump()["receivables"] if r["EntryID"] == entry["EntryID"])
    assert item["OpenAmountFC"] == Decimal("-60.50")
    assert item["TransactionType"] == 21


def test_foreign_currency_sale_uses_the_rate_for_the_division_amount(
    exact_sandbox: ExactSandbox,
) -> None:
    accounts, gls = _ids(exact_sandbox)
    response = _post(
        exact_sandbox,
        "salesentry/SalesEntries",
        _sale(accounts["Brown Ltd"], gls["8000"], "100.00", Currency="GBP"),
    )
    entry = response.json(parse_float=Decimal)["d"]
    assert (entry["Currency"], entry["AmountFC"], entry["AmountDC"]) == (
        "GBP",
        Decimal("121.00"),
        Decimal("141.57"),
    )


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"Journal": "25"}, "Ongeldig: Dagboek"),
        ({"Journal": None}, "Dagboek is verplicht"),
        ({"Customer": None}, "Klant is verplicht"),
        ({"Customer": "3d1a0c6e-0000-4000-8000-00000000beef"}, "Ongeldig: Relatie"),
        ({"SalesEntryLines": []}, "Regels zijn verplicht"),
        ({"EntryDate": "2025-02-10T00:00:00"}, "Periode is afgesloten: 2025/2"),
        ({"EntryDate": "2031-02-10T00:00:00"}, "Boekjaar/periode bestaat niet: 2031/2"),
        ({"Currency": "JPY"}, "Koers is verplicht"),
    ],
)
def test_sales_entry_rules(exact_sandbox: ExactSandbox, change: dict[str, Any], text: str) -> None:
    accounts, gls = _ids(exact_sandbox)
    body = {**_sale(accounts["Jansen BV"], gls["8000"], "10.00"), **change}
    response = _post(exact_sandbox, "salesentry/SalesEntries", body)
    assert response.status_code == 500
    assert response.json()["error"]["message"]["value"] == text


@pytest.mark.parametrize("code", ["1300", "1500", "1100"])
def test_sales_line_on_a_non_revenue_gl_is_refused(exact_sandbox: ExactSandbox, code: str) -> None:
    accounts, gls = _ids(exact_sandbox)
    response = _post(
        exact_sandbox, "salesentry/SalesEntries", _sale(accounts["Jansen BV"], gls[code], "1")
    )
    assert response.status_code == 500
    assert response.json()["error"]["message"]["value"] == "Ongeldig: Grootboekrekeningtype"


def test_sales_entry_with_payments_cannot_be_deleted_but_an_unpaid_one_can(
    exact_sandbox: ExactSandbox,
) -> None:
    accounts, gls = _ids(exact_sandbox)
    unpaid = _post(
        exact_sandbox, "salesentry/SalesEntries", _sale(accounts["Jansen BV"], gls["8000"], "10")
    ).json()["d"]
    paid = _post(
        exact_sandbox, "salesentry/SalesEntries", _sale(accounts["Jansen BV"], gls["8000"], "20")
    ).json()["d"]
    payment = {
        "JournalCode": "25",
        "BankEntryLines": [
            {
                "Date": "2026-03-09",
                "GLAccount": gls["1300"],
                "Account": accounts["Jansen BV"],
                "OurRef": paid["InvoiceNumber"],
                "AmountFC": Decimal("5.00"),
            },
            {"Date": "2026-03-09", "GLAccount": gls["2050"], "AmountFC": Decimal("-5.00")},
        ],
    }
    assert _post(exact_sandbox, "financialtransaction/BankEntries", payment).status_code == 201
    with exact_sandbox.session() as http:
        gone = http.delete(
            f"{exact_sandbox.api_url}/salesentry/SalesEntries(guid'{unpaid['EntryID']}')",
            timeout=10,
        )
        kept = http.delete(
            f"{exact_sandbox.api_url}/salesentry/SalesEntries(guid'{paid['EntryID']}')",
            timeout=10,
        )
    assert gone.status_code == 204
    assert kept.status_code == 500
    entry_ids = {r["EntryID"] for r in exact_sandbox.dump()["receivables"]}
    assert unpaid["EntryID"] not in entry_ids
    assert paid["EntryID"] in entry_ids


def _journal_entry(lines: list[dict[str, Any]], journal: str = "90") -> dict[str, Any]:
    return {
        "JournalCode": journal,
        "GeneralJournalEntryLines": [{"Date": "2026-03-08T00:00:00", **line} for line in lines],
    }


def test_general_journal_entry_settles_with_ledger_sign(exact_sandbox: ExactSandbox) -> None:
    accounts, gls = _ids(exact_sandbox)
    invoice = next(r for r in exact_sandbox.dump()["receivables"] if r["YourRef"] == "ORD00013")
    body = _journal_entry(
        [
            {"GLAccount": gls["2050"], "AmountFC": Decimal("12.10")},
            {
                "GLAccount": gls["1300"],
                "Account": accounts["Jansen BV"],
                "OurRef": invoice["InvoiceNumber"],
                "AmountFC": Decimal("-12.10"),
                "Description": "ORD00013",
            },
        ]
    )
    response = _post(exact_sandbox, "generaljournalentry/GeneralJournalEntries", body)
    assert response.status_code == 201, response.text
    assert response.json()["d"]["Type"] == 90
    settled = next(r for r in exact_sandbox.dump()["receivables"] if r["ID"] == invoice["ID"])
    assert settled["Status"] == 50


@pytest.mark.parametrize(
    ("journal", "amounts", "text"),
    [
        ("70", ("1.00", "-1.00"), "Ongeldig: Dagboek"),  # [C] a sales journal
        ("25", ("1.00", "-1.00"), "Ongeldig: Dagboek"),
        ("90", ("1.00", "-0.99"), "Boeking is niet in balans: verschil 0.01"),
    ],
)
def test_general_journal_entry_rules(
    exact_sandbox: ExactSandbox, journal: str, amounts: tuple[str, str], text: str
) -> None:
    _, gls = _ids(exact_sandbox)
    body = _journal_entry(
        [
            {"GLAccount": gls["2050"], "AmountFC": Decimal(amounts[0])},
            {"GLAccount": gls["2090"], "AmountFC": Decimal(amounts[1])},
        ],
        journal,
    )
    response = _post(exact_sandbox, "generaljournalentry/GeneralJournalEntries", body)
    assert response.status_code == 500
    assert response.json()["error"]["message"]["value"] == text


def test_accounts_create_update_and_delete(exact_sandbox: ExactSandbox) -> None:
    created = _post(exact_sandbox, "crm/Accounts", {"Name": "Nieuw BV", "Email": "n@b.example"})
    assert created.status_code == 201
    account = created.json()["d"]
    assert account["Code"] == "10046".rjust(18)  # the next free code
    assert account["Status"] == "C"
    duplicate = _post(exact_sandbox, "crm/Accounts", {"Name": "Ander BV", "Code": "10046"})
    nameless = _post(exact_sandbox, "crm/Accounts", {"Code": "10047"})
    assert duplicate.status_code == 500
    assert duplicate.json()["error"]["message"]["value"] == "Gegeven bestaat reeds"
    assert nameless.status_code == 500
    url = f"{exact_sandbox.api_url}/crm/Accounts(guid'{account['ID']}')"
    jansen = _ids(exact_sandbox)[0]["Jansen BV"]
    with exact_sandbox.session() as http:
        updated = http.put(url, data=dumps({"Email": "new@b.example"}), timeout=10)
        fetched = http.get(url + "?$select=Email", timeout=10).json()["d"]
        in_use = http.delete(f"{exact_sandbox.api_url}/crm/Accounts(guid'{jansen}')", timeout=10)
        deleted = http.delete(url, timeout=10)
    assert updated.status_code == 204
    assert fetched["Email"] == "new@b.example"
    assert in_use.status_code == 500
    assert deleted.status_code == 204
