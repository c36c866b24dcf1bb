"""OData conventions of the Exact sandbox: envelope, $select/$filter/$orderby/$top, paging."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests
from pay_exact_sandbox.exact import ExactData
from pay_exact_sandbox.exact.pytest_fixtures import DEFAULT_FIXTURE, ExactSandbox


def _get(http: requests.Session, url: str, **params: str) -> requests.Response:
    return http.get(url, params=params, timeout=10)


def test_me_is_a_one_element_results_list(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        response = _get(
            http, f"{exact_sandbox.url}/api/v1/current/Me", **{"$select": "CurrentDivision,UserID"}
        )
    assert response.status_code == 200
    results = response.json()["d"]["results"]
    assert len(results) == 1
    assert results[0]["CurrentDivision"] == exact_sandbox.division
    assert set(results[0]) == {"__metadata", "CurrentDivision", "UserID"}
    assert results[0]["__metadata"]["type"] == "Exact.Web.Api.Models.Me"


def test_collection_envelope_metadata_and_select(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        response = _get(
            http, f"{exact_sandbox.api_url}/financial/GLAccounts", **{"$select": "ID,Code,Type"}
        )
    assert response.status_code == 200
    rows = response.json()["d"]["results"]
    assert {row["Code"] for row in rows} >= {"1300", "8000", "1100"}
    for row in rows:
        assert set(row) == {"__metadata", "ID", "Code", "Type"}
        assert row["__metadata"]["uri"] == (
            f"{exact_sandbox.api_url}/financial/GLAccounts(guid'{row['ID']}')"
        )
    assert "__next" not in response.json()["d"]


def test_account_codes_are_padded_and_unpadded_filters_match_nothing(
    exact_sandbox: ExactSandbox,
) -> None:
    url = f"{exact_sandbox.api_url}/crm/Accounts"
    with exact_sandbox.session() as http:
        padded = _get(
            http, url, **{"$filter": "Code eq '             10042'", "$select": "Code,Name"}
        )
        bare = _get(http, url, **{"$filter": "Code eq '10042'", "$select": "Code,Name"})
    assert padded.json()["d"]["results"][0]["Code"] == "10042".rjust(18)
    assert padded.json()["d"]["results"][0]["Name"] == "Jansen BV"
    assert bare.status_code == 200
    assert bare.json()["d"]["results"] == []


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Amount gt 100", {"ORD00012", "000000123"}),
        ("Amount ge 121 and Amount le 121", {"ORD00012"}),
        ("Amount lt 0", {"ORD00012"}),
        ("YourRef eq 'ORD00013' or YourRef eq '4711'", {"ORD00013", "4711"}),
        ("YourRef ne 'ORD00012' and CurrencyCode eq 'EUR'", {"ORD00013", "4711", "000000123"}),
        ("substringof('bestelnummer', Description) eq true", {"4711", "000000123"}),
        ("substringof('Bestelnummer', Description)", {"4711", "000000123"}),
        ("startswith(YourRef, 'ORD')", {"ORD00012", "ORD00013"}),
        (
            "InvoiceDate ge datetime'2025-10-03T00:00:00' and InvoiceDate lt datetime'2025-10-05'",
            {"000000123", "ORD00013"},
        ),
        ("not (CurrencyCode eq 'EUR')", {"#1001"}),
        ("(YourRef eq '4711' or YourRef eq '#1001') and CurrencyCode eq 'USD'", {"#1001"}),
        ("HID gt 1000005L", {"#1001"}),
    ],
)
def test_filter_operators(exact_sandbox: ExactSandbox, expression: str, expected: set[str]) -> None:
    with exact_sandbox.session() as http:
        response = _get(
            http,
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            **{"$filter": expression, "$select": "YourRef,Amount"},
        )
    assert response.status_code == 200, response.text
    assert {row["YourRef"] for row in response.json()["d"]["results"]} == expected


def test_filter_on_guid_and_quoted_strings(exact_sandbox: ExactSandbox) -> None:
    dump = exact_sandbox.dump()
    jansen = next(a for a in dump["accounts"] if a["Name"] == "Jansen BV")
    with exact_sandbox.session() as http:
        by_guid = _get(
            http,
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            **{"$filter": f"AccountId eq guid'{jansen['ID'].upper()}'", "$select": "YourRef"},
        )
        created = http.post(
            f"{exact_sandbox.api_url}/crm/Accounts",
            json={"Name": "O'Brien & Zn", "Code": "20001"},
            timeout=10,
        )
        quoted = _get(
            http,
            f"{exact_sandbox.api_url}/crm/Accounts",
            **{"$filter": "Name eq 'O''Brien & Zn'", "$select": "Code"},
        )
    assert {r["YourRef"] for r in by_guid.json()["d"]["results"]} == {"ORD00012", "ORD00013"}
    assert created.status_code == 201
    assert [r["Code"] for r in quoted.json()["d"]["results"]] == ["20001".rjust(18)]


@pytest.mark.parametrize(
    "expression",
    [
        "AccountId eq 'not-a-guid-literal'",  # a string against a Guid property
        "Amount eq 'x'",
        "Nope eq 1",
        "YourRef eq",
        "Amount gt InvoiceNumber",  # field-to-field comparison
        "Lines/AmountFC eq 1",  # navigation property
        "InvoiceDate gt datetime'yesterday'",
        "AccountId eq guid'1234'",
    ],
)
def test_bad_filters_are_400_with_the_error_envelope(
    exact_sandbox: ExactSandbox, expression: str
) -> None:
    with exact_sandbox.session() as http:
        response = _get(
            http,
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            **{"$filter": expression},
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == ""
    assert error["message"]["value"]


def test_orderby_top_and_inlinecount(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        response = _get(
            http,
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            **{
                "$select": "YourRef,Amount",
                "$orderby": "Amount desc,YourRef",
                "$top": "3",
                "$inlinecount": "allpages",
            },
        )
    body = response.json(parse_float=Decimal)["d"]
    # Amount is the outstanding amount in the item's own currency (80 USD sorts above 60.50).
    assert [r["Amount"] for r in body["results"]] == [
        Decimal("242.00"),
        Decimal("121.00"),
        Decimal("80.00"),
    ]
    assert body["__count"] == "6"
    assert "__next" not in body


def test_amounts_are_json_numbers_and_dates_are_epoch_ms(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        response = _get(
            http,
            f"{exact_sandbox.api_url}/read/financial/ReceivablesList",
            **{"$filter": "YourRef eq '4711'", "$select": "Amount,InvoiceDate,HID"},
        )
    assert '"Amount":60.50' in response.text
    row = response.json()["d"]["results"][0]
    assert row["InvoiceDate"] == "/Date(1759363200000)/"  # 2025-10-02T00:00:00Z
    assert isinstance(row["HID"], str)  # Edm.Int64 as a string [I]


def _big_division(count: int) -> ExactData:
    data = ExactData.load(DEFAULT_FIXTURE)
    data.accounts += [{"Code": str(30000 + i), "Name": f"Klant {i}"} for i in range(count)]
    return data


def test_pages_of_60_with_an_absolute_next_link_until_exhausted(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(_big_division(150))
    seen: list[str] = []
    pages = 0
    with sandbox.session() as http:
        url: str | None = f"{sandbox.api_url}/crm/Accounts?$select=ID,Code&$filter=Status eq 'C'"
        while url:
            response = http.get(url, timeout=10)
            assert response.status_code == 200
            body = response.json()["d"]
            assert len(body["results"]) <= 60
            seen += [row["ID"] for row in body["results"]]
            url = body.get("__next")
            if url:
                assert url.startswith(f"{sandbox.api_url}/crm/Accounts?")
                assert re.search(r"\$skiptoken=guid'[0-9a-f-]{36}'", url)
                assert "$select=ID,Code" in url
            pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 154


def test_top_above_page_size_carries_the_remainder_into_next(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(_big_division(150))
    with sandbox.session() as http:
        first = http.get(f"{sandbox.api_url}/crm/Accounts?$select=ID&$top=70", timeout=10).json()
        second = http.get(first["d"]["__next"], timeout=10).json()
    assert len(first["d"]["results"]) == 60
    assert len(second["d"]["results"]) == 10
    assert "__next" not in second["d"]


def test_bulk_pages_at_1000_and_requires_select(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(_big_division(1100))
    with sandbox.session() as http:
        missing = http.get(f"{sandbox.api_url}/bulk/CRM/Accounts", timeout=10)
        star = http.get(f"{sandbox.api_url}/bulk/CRM/Accounts?$select=*", timeout=10)
        first = http.get(f"{sandbox.api_url}/bulk/CRM/Accounts?$select=ID", timeout=10)
        second = http.get(first.json()["d"]["__next"], timeout=10)
    assert missing.status_code == 400
    assert missing.json()["error"]["message"]["value"] == (
        "Please add a $select or a $top=1 statement to the query string."
    )
    assert star.status_code == 400
    assert len(first.json()["d"]["results"]) == 1000
    assert len(second.json()["d"]["results"]) == 104
    assert "__next" not in second.json()["d"]


def test_read_endpoints_page_size_is_configurable(exact_sandbox_factory) -> None:
    data = ExactData.load(DEFAULT_FIXTURE)
    for i in range(70):
        data.sales_entries.append(
            {
                "Journal": "70",
                "CustomerCode": "10043",
                "EntryDate": "2026-01-05",
                "YourRef": f"R{i}",
                "SalesEntryLines": [{"GLAccountCode": "8000", "AmountFC": "1.00"}],
            }
        )
    small = exact_sandbox_factory(data)
    large = exact_sandbox_factory(data, read_page_size=1000)
    for sandbox, expected in ((small, 60), (large, 76)):
        with sandbox.session() as http:
            body = http.get(
                f"{sandbox.api_url}/read/financial/ReceivablesList?$select=HID", timeout=10
            ).json()
        assert len(body["d"]["results"]) == expected


def test_without_accept_json_the_sandbox_refuses(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        del http.headers["Accept"]
        response = http.get(f"{exact_sandbox.api_url}/crm/Accounts?$select=ID", timeout=10)
    assert response.status_code == 406


def test_single_entity_expand_and_deferred_lines(exact_sandbox: ExactSandbox) -> None:
    entry = exact_sandbox.dump()["sales_entries"][0]
    url = f"{exact_sandbox.api_url}/salesentry/SalesEntries(guid'{entry['EntryID']}')"
    with exact_sandbox.session() as http:
        plain = http.get(url, timeout=10).json()["d"]
        expanded = http.get(url + "?$expand=SalesEntryLines", timeout=10).json()["d"]
        lines = http.get(url + "/SalesEntryLines", timeout=10).json()["d"]["results"]
        nothing = "00000000-0000-0000-0000-000000000000"
        missing = http.get(
            f"{exact_sandbox.api_url}/salesentry/SalesEntries(guid'{nothing}')", timeout=10
        )
    assert plain["SalesEntryLines"] == {"__deferred": {"uri": f"{url}/SalesEntryLines"}}
    assert [line["Description"] for line in expanded["SalesEntryLines"]["results"]] == [
        "Bestelling ORD00012"
    ]
    assert [line["ID"] for line in lines] == [
        line["ID"] for line in expanded["SalesEntryLines"]["results"]
    ]
    assert missing.status_code == 404


def test_count_endpoint_and_case_insensitive_paths(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        count = http.get(
            f"{exact_sandbox.api_url}/crm/Accounts/$count?$filter=Country eq 'NL'", timeout=10
        )
        lower = http.get(f"{exact_sandbox.api_url}/CRM/accounts?$select=Code", timeout=10)
        unknown = http.get(f"{exact_sandbox.api_url}/crm/Nothing", timeout=10)
    assert count.text == "2"
    assert lower.status_code == 200
    assert len(lower.json()["d"]["results"]) == 4
    assert unknown.status_code == 404


def test_skip_is_refused_so_clients_follow_next(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        response = http.get(f"{exact_sandbox.api_url}/crm/Accounts?$skip=60", timeout=10)
    assert response.status_code == 400


def test_other_division_is_403_with_reason(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        response = http.get(f"{exact_sandbox.url}/api/v1/999/crm/Accounts", timeout=10)
    assert response.status_code == 403
    assert response.headers["Reason"] == "NoDivisionAccess"


def test_divisions_and_periods(exact_sandbox: ExactSandbox) -> None:
    with exact_sandbox.session() as http:
        divisions = http.get(f"{exact_sandbox.api_url}/system/Divisions", timeout=10).json()
        periods = http.get(
            f"{exact_sandbox.api_url}/financial/FinancialPeriods"
            "?$filter=FinYear eq 2026&$orderby=FinPeriod&$select=FinPeriod,StartDate,EndDate",
            timeout=10,
        ).json()
    assert divisions["d"]["results"][0]["Code"] == exact_sandbox.division
    assert [p["FinPeriod"] for p in periods["d"]["results"]] == list(range(1, 13))
    assert periods["d"]["results"][1]["EndDate"] == "/Date(1772236800000)/"  # 2026-02-28


def test_money_never_passes_through_float() -> None:
    data = ExactData.load(DEFAULT_FIXTURE)
    line = data.sales_entries[0]["SalesEntryLines"][0]
    assert isinstance(line["AmountFC"], str)
    assert Decimal(line["AmountFC"]) == Decimal("100.00")


def test_sync_pages_by_timestamp_and_only_filters_on_it(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(_big_division(1100))
    url = f"{sandbox.api_url}/sync/CRM/Accounts"
    with sandbox.session() as http:
        first = http.get(
            url, params={"$select": "ID,Timestamp", "$filter": "Timestamp gt 1L"}, timeout=10
        )
        second = http.get(first.json()["d"]["__next"], timeout=10)
        wrong = http.get(url, params={"$select": "ID", "$filter": "Name eq 'x'"}, timeout=10)
        stamps = [int(r["Timestamp"]) for r in first.json()["d"]["results"]]
        later = http.get(
            url,
            params={"$select": "ID,Timestamp", "$filter": f"Timestamp gt {stamps[499]}L"},
            timeout=10,
        )
    assert stamps == sorted(stamps)
    assert len(stamps) == 1000
    assert f"$skiptoken={stamps[-1]}L" in first.json()["d"]["__next"]
    rest = [int(r["Timestamp"]) for r in second.json()["d"]["results"]]
    assert len(rest) == 104
    assert min(rest) > stamps[-1]
    assert wrong.status_code == 400
    assert [int(r["Timestamp"]) for r in later.json()["d"]["results"]][:1] == [stamps[500]]


def _paged_read(cursors, rows, predicate, page_size: int = 60):  # type: ignore[no-untyped-def]
    from pay_exact_sandbox.exact.odata import Query, run_query

    seen, token = [], None
    while True:
        query = Query(predicate=predicate, skiptoken=token)
        page = run_query(rows, query, "ID", page_size, cursors=cursors, read=("x",), version=1)
        seen += [row["ID"] for row in page.rows]
        if page.next_token is None:
            return seen
        token = page.next_token


def test_a_paged_read_filters_each_row_once_not_once_per_page() -> None:
    from pay_exact_sandbox.exact.odata import PagingCursors

    rows = [{"ID": n, "Status": "C" if n % 2 else "P"} for n in range(6000, 0, -1)]
    evaluated = 0

    def predicate(row):  # type: ignore[no-untyped-def]
        nonlocal evaluated
        evaluated += 1
        return row["Status"] == "C"

    seen = _paged_read(PagingCursors(), rows, predicate)
    assert seen == list(range(1, 6001, 2))  # every match once, in key order, 50 pages
    assert evaluated == 6000  # was 6000 per page: 300,000 for this read


def test_a_write_between_pages_is_seen_by_the_next_page(exact_sandbox_factory) -> None:
    sandbox: ExactSandbox = exact_sandbox_factory(_big_division(150))
    with sandbox.session() as http:
        url = f"{sandbox.api_url}/crm/Accounts?$select=ID,Code&$filter=Status eq 'C'"
        first = http.get(url, timeout=10).json()["d"]
        last = first["results"][-1]["ID"]
        created = http.post(
            f"{sandbox.api_url}/crm/Accounts",
            json={"Name": "Zuiderzee BV", "Status": "C"},
            timeout=10,
        ).json()["d"]
        rest = []
        next_url = first.get("__next")
        while next_url:
            body = http.get(next_url, timeout=10).json()["d"]
            rest += [row["ID"] for row in body["results"]]
            next_url = body.get("__next")
    # Key-ordered paging continues after the token: a new row after it shows up, as in Exact.
    assert (created["ID"] in rest) == (created["ID"] > last)
    assert len(first["results"]) + len(rest) == 155 - (created["ID"] < last)
