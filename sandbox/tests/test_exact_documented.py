"""The resources a client reads carry every property Exact documents, with Exact's rules for
``$select``, filters and ``Timestamp``; the division pickers and Basic client credentials work."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from pay_exact_sandbox.exact import documented
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.exact.schema import _f

# Endpoint -> the documented property list it serves (bulk twins share the single one's).
RESOURCES: dict[str, str] = {
    "system/Divisions": documented.SYSTEM_DIVISIONS,
    "hrm/Divisions": documented.HRM_DIVISIONS,
    "crm/Accounts": documented.ACCOUNTS,
    "bulk/CRM/Accounts": documented.ACCOUNTS,
    "sync/CRM/Accounts": documented.SYNC_ACCOUNTS,
    "financial/GLAccounts": documented.GL_ACCOUNTS,
    "bulk/Financial/GLAccounts": documented.GL_ACCOUNTS,
    "sync/Financial/GLAccounts": documented.SYNC_GL_ACCOUNTS,
    "financial/Journals": documented.JOURNALS,
    "financial/FinancialPeriods": documented.FINANCIAL_PERIODS,
    "read/financial/ReceivablesList": documented.RECEIVABLES_LIST,
    "cashflow/Receivables": documented.RECEIVABLES,
    "bulk/Cashflow/Receivables": documented.RECEIVABLES,
    "financialtransaction/TransactionLines": documented.TRANSACTION_LINES,
    "bulk/Financial/TransactionLines": documented.TRANSACTION_LINES,
    "sync/Financial/TransactionLines": documented.SYNC_TRANSACTION_LINES,
}

# Properties public clients select, written out here apart from the table above, so a slip in
# the table shows (picqer/exact-php-client models, ossobv/exactonline, the reference §4).
CLIENTS_SELECT: dict[str, str] = {
    "crm/Accounts": "ID,Code,Name,Email,Blocked,IsSales,Status,VATNumber,ChamberOfCommerce,"
    "SearchCode,AddressLine1,Postcode,City,Country,Phone,Website,PaymentConditionSales,"
    "Classification1,Modified,BankAccounts",
    "financial/GLAccounts": "ID,Code,Description,Type,TypeDescription,BalanceSide,BalanceType,"
    "IsBlocked,Matching,VATCode,UseCostcenter,DeductibilityPercentages",
    "financial/Journals": "ID,Code,Description,Type,GLAccount,GLAccountCode,GLAccountType,"
    "Currency,AllowVariableCurrency,AllowVAT,AutoSave,IsBlocked,BankAccountIBAN,"
    "PaymentInTransitAccount,PaymentServiceProvider,PaymentServiceAccountIdentifier",
    "read/financial/ReceivablesList": "HID,AccountId,AccountCode,AccountName,Amount,"
    "AmountInTransit,CurrencyCode,Description,DueDate,EntryNumber,Id,InvoiceDate,InvoiceNumber,"
    "JournalCode,JournalDescription,YourRef,Notes",
    "cashflow/Receivables": "ID,Account,AmountDC,AmountFC,TransactionAmountDC,RateFC,IsFullyPaid,"
    "LastPaymentDate,Status,TransactionType,TransactionIsReversal,YourRef,PaymentCondition",
    "financialtransaction/TransactionLines": "ID,EntryID,EntryNumber,LineNumber,Date,"
    "FinancialYear,FinancialPeriod,JournalCode,GLAccount,GLAccountCode,Account,AccountCode,"
    "AmountDC,AmountFC,Description,Notes,InvoiceNumber,YourRef,PaymentReference,Status,Type",
    "system/Divisions": "Code,Description,Hid,Current,Customer,DivisionMoveDate,Currency",
}


def _get(sandbox: ExactSandbox, path: str, **params: str) -> requests.Response:
    with sandbox.session() as http:
        return http.get(f"{sandbox.api_url}/{path}", params=params, timeout=10)


def _rows(answer: requests.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return answer.json()["d"]["results"]


@pytest.mark.parametrize("path", sorted(RESOURCES))
def test_every_documented_property_can_be_selected(exact_sandbox: ExactSandbox, path: str) -> None:
    names = list(_f(RESOURCES[path]))
    rows = _rows(_get(exact_sandbox, path, **{"$select": ",".join(names)}))
    assert rows, path
    for row in rows:
        assert set(row) - {"__metadata"} == set(names)


def test_me_serves_every_documented_property(exact_sandbox: ExactSandbox) -> None:
    names = list(_f(documented.ME))
    with exact_sandbox.session() as http:
        answer = http.get(
            f"{exact_sandbox.url}/api/v1/current/Me", params={"$select": ",".join(names)}
        )
    (row,) = _rows(answer)
    assert set(row) - {"__metadata"} == set(names)
    assert row["CurrentDivision"] == exact_sandbox.division
    assert isinstance(row["Legislation"], str)  # Edm.Int64, written as a string


@pytest.mark.parametrize("path", sorted(CLIENTS_SELECT))
def test_what_public_clients_select_is_served(exact_sandbox: ExactSandbox, path: str) -> None:
    assert _rows(_get(exact_sandbox, path, **{"$select": CLIENTS_SELECT[path]}))


@pytest.mark.parametrize(
    "path",
    [
        "crm/Accounts",
        "bulk/CRM/Accounts",
        "financial/GLAccounts",
        "financialtransaction/TransactionLines",
    ],
)
def test_timestamp_is_served_only_by_the_sync_twins(exact_sandbox: ExactSandbox, path: str) -> None:
    answer = _get(exact_sandbox, path, **{"$select": "ID,Timestamp"})
    assert answer.status_code == 400
    assert "Timestamp" in answer.text


@pytest.mark.parametrize(
    "path", ["sync/CRM/Accounts", "sync/Financial/GLAccounts", "sync/Financial/TransactionLines"]
)
def test_a_first_sync_from_timestamp_1_reads_every_row(
    exact_sandbox: ExactSandbox, path: str
) -> None:
    # No $select: the sync pages do not demand one.
    rows = _rows(_get(exact_sandbox, path, **{"$filter": "Timestamp gt 1L"}))
    everything = _rows(_get(exact_sandbox, path, **{"$filter": "Timestamp ge 0L"}))
    assert len(rows) == len(everything) > 0
    assert min(int(r["Timestamp"]) for r in rows) > 1


def test_select_is_mandatory_only_where_the_bulk_page_says_so(exact_sandbox: ExactSandbox) -> None:
    for path in ("bulk/CRM/Accounts", "bulk/Financial/GLAccounts", "bulk/Cashflow/Receivables"):
        answer = _get(exact_sandbox, path)
        assert answer.status_code == 400, path
        assert "$select" in answer.text
    assert _rows(_get(exact_sandbox, "bulk/Financial/TransactionLines"))
    assert _rows(_get(exact_sandbox, "financial/GLAccounts"))


def test_bulk_gl_accounts_filter_only_on_the_documented_properties(
    exact_sandbox: ExactSandbox,
) -> None:
    allowed = _get(
        exact_sandbox,
        "bulk/Financial/GLAccounts",
        **{"$select": "Code,Type", "$filter": "Code eq '1300' and Type eq 20"},
    )
    assert [r["Code"] for r in _rows(allowed)] == ["1300"]
    refused = _get(
        exact_sandbox,
        "bulk/Financial/GLAccounts",
        **{"$select": "Code", "$filter": "Description eq 'Debiteuren'"},
    )
    assert refused.status_code == 400
    assert "Description" in refused.text
    # The single endpoint filters on any property.
    assert _rows(
        _get(exact_sandbox, "financial/GLAccounts", **{"$filter": "Description eq 'Debiteuren'"})
    )


@pytest.mark.parametrize(("path", "key"), [("system/Divisions", "Hid"), ("hrm/Divisions", "HID")])
def test_division_pickers_list_the_division(
    exact_sandbox: ExactSandbox, path: str, key: str
) -> None:
    (row,) = _rows(_get(exact_sandbox, path, **{"$select": f"Code,Description,{key}"}))
    assert row["Code"] == exact_sandbox.division
    assert row[key] == str(exact_sandbox.division)  # Edm.Int64


def test_a_new_account_keeps_documented_properties_and_ignores_get_only_ones(
    exact_sandbox: ExactSandbox,
) -> None:
    body = {"Name": "Bakker BV", "Website": "bakker.example", "City": "Gouda", "IsSales": False}
    with exact_sandbox.session() as http:
        http.headers["Prefer"] = "return=representation"
        created = http.post(f"{exact_sandbox.api_url}/crm/Accounts", json=body, timeout=10)
    assert created.status_code == 201, created.text
    account_id = created.json()["d"]["ID"]
    (row,) = _rows(
        _get(
            exact_sandbox,
            "crm/Accounts",
            **{"$select": "Website,City,IsSales", "$filter": f"ID eq guid'{account_id}'"},
        )
    )
    assert (row["Website"], row["City"]) == ("bakker.example", "Gouda")
    assert row["IsSales"] is True  # GET-only in Exact's reference: what was sent is ignored
