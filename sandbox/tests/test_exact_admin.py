"""Admin side of the Exact sandbox: request log, faults after commit, dump, seeding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
from pay_exact_sandbox.exact import ExactData
from pay_exact_sandbox.exact.jsonout import dumps, loads
from pay_exact_sandbox.exact.pytest_fixtures import DEFAULT_FIXTURE, ExactSandbox

KEY = "PX:CLEARING-20260300777"


def _payout(sandbox: ExactSandbox) -> dict[str, Any]:
    dump = sandbox.dump()
    gls = {g["Code"]: g["ID"] for g in dump["gl_accounts"]}
    jansen = next(a["ID"] for a in dump["accounts"] if a["Name"] == "Jansen BV")
    invoice = next(r for r in dump["receivables"] if r["YourRef"] == "ORD00013")
    return {
        "JournalCode": "25",
        "BankEntryLines": [
            {
                "Date": "2026-03-08",
                "GLAccount": gls["1300"],
                "Account": jansen,
                "OurRef": invoice["InvoiceNumber"],
                "AmountFC": Decimal("12.10"),
                "Description": f"{KEY} ORD00013",
            },
            {
                "Date": "2026-03-08",
                "GLAccount": gls["2050"],
                "AmountFC": Decimal("-12.10"),
                "Description": f"{KEY} payout",
            },
        ],
    }


def _find_key(http: requests.Session, sandbox: ExactSandbox) -> list[str]:
    rows = http.get(
        f"{sandbox.api_url}/financialtransaction/TransactionLines",
        params={"$filter": f"substringof('{KEY}', Description)", "$select": "EntryID"},
        timeout=10,
    ).json()["d"]["results"]
    return sorted({r["EntryID"] for r in rows})


def test_commit_then_drop_books_the_entry_but_the_client_hears_nothing(
    exact_sandbox: ExactSandbox,
) -> None:
    exact_sandbox.inject(action="commit_then_drop", method="POST", path="/BankEntries$")
    with exact_sandbox.session() as http:
        with pytest.raises(requests.ConnectionError):
            http.post(
                f"{exact_sandbox.api_url}/financialtransaction/BankEntries",
                data=dumps(_payout(exact_sandbox)),
                timeout=10,
            )
        found = _find_key(http, exact_sandbox)
    assert len(found) == 1
    assert [e["EntryID"] for e in exact_sandbox.dump()["bank_entries"]] == found
    logged = exact_sandbox.requests("/api/v1/")
    assert [(e.method, e.fault) for e in logged] == [("POST", "commit_then_drop"), ("GET", None)]


def test_commit_then_500_books_the_entry_and_answers_an_error(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.inject(
        action="commit_then_status",
        method="POST",
        path="/BankEntries$",
        status=500,
        body={"error": {"code": "", "message": {"lang": "", "value": "Timeout"}}},
    )
    with exact_sandbox.session() as http:
        response = http.post(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries",
            data=dumps(_payout(exact_sandbox)),
            timeout=10,
        )
        found = _find_key(http, exact_sandbox)
    assert response.status_code == 500
    assert len(found) == 1


def test_status_fault_answers_without_booking(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.inject(action="status", method="POST", path="/BankEntries$", status=503)
    with exact_sandbox.session() as http:
        response = http.post(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries",
            data=dumps(_payout(exact_sandbox)),
            timeout=10,
        )
        assert _find_key(http, exact_sandbox) == []
    assert response.status_code == 503


def test_request_log_counts_calls_without_secrets(exact_sandbox: ExactSandbox) -> None:
    tokens = exact_sandbox.mint_tokens()
    with exact_sandbox.session(tokens["access_token"]) as http:
        http.get(f"{exact_sandbox.api_url}/financial/Journals?$select=Code", timeout=10)
        http.get(f"{exact_sandbox.url}/api/v1/current/Me", timeout=10)
    admin = requests.get(f"{exact_sandbox.url}/_admin/requests?path=/api/v1/", timeout=10).json()
    assert [(e["method"], e["path"], e["status"]) for e in admin] == [
        ("GET", f"/api/v1/{exact_sandbox.division}/financial/Journals", 200),
        ("GET", "/api/v1/current/Me", 200),
    ]
    assert tokens["access_token"] not in str(admin)


def test_dump_over_http_has_every_collection(exact_sandbox: ExactSandbox) -> None:
    response = requests.get(f"{exact_sandbox.url}/_admin/exact/dump", timeout=10)
    dump = loads(response.content)
    assert set(dump) >= {
        "accounts",
        "gl_accounts",
        "journals",
        "periods",
        "receivables",
        "receivables_list",
        "sales_entries",
        "bank_entries",
        "general_journal_entries",
        "transaction_lines",
        "gl_balances",
        "truth",
    }
    assert sum(dump["gl_balances"].values()) == 0  # the ledger balances
    closed = [(p["FinYear"], p["FinPeriod"]) for p in dump["periods"] if p["Closed"]]
    assert closed == [(2025, month) for month in range(1, 10)]
    assert isinstance(dump["receivables"][0]["OpenAmountFC"], Decimal)


def test_seed_replaces_the_data_and_rejects_bad_fixtures(exact_sandbox: ExactSandbox) -> None:
    data = ExactData.load(DEFAULT_FIXTURE)
    data.sales_entries = data.sales_entries[:1]
    seeded = requests.post(
        f"{exact_sandbox.url}/_admin/exact/seed", data=data.to_json(), timeout=10
    )
    assert seeded.status_code == 204
    assert len(exact_sandbox.dump()["sales_entries"]) == 1
    data.sales_entries[0]["CustomerCode"] = "99999"
    bad = requests.post(f"{exact_sandbox.url}/_admin/exact/seed", data=data.to_json(), timeout=10)
    assert bad.status_code == 400
    assert "exact.sales_entries[0]" in bad.json()["error"]
    assert "99999" in bad.json()["error"]


def test_periods_can_be_closed_over_http(exact_sandbox: ExactSandbox) -> None:
    response = requests.post(
        f"{exact_sandbox.url}/_admin/exact/periods",
        json={"year": 2026, "period": 3, "closed": True},
        timeout=10,
    )
    assert response.status_code == 204
    with exact_sandbox.session() as http:
        booked = http.post(
            f"{exact_sandbox.api_url}/financialtransaction/BankEntries",
            data=dumps(_payout(exact_sandbox)),
            timeout=10,
        )
    assert booked.status_code == 500


def test_fixture_round_trips_through_json() -> None:
    data = ExactData.load(DEFAULT_FIXTURE)
    again = ExactData.from_json(data.to_json())
    assert again == data


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"exact": {"division": {}}}', "division.Code"),
        ('{"exact": {"division": {"Code": 1}, "journal": []}}', "unknown keys"),
        ('{"exact": {"division": {"Code": 1}, "accounts": {}}}', "'exact.accounts' must be a list"),
        ("[]", "must be a JSON object"),
    ],
)
def test_bad_fixture_documents_name_the_problem(document: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExactData.from_json(document)
