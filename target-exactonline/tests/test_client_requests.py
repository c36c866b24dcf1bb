"""The client's retry contract against a mocked Exact: what it retries and what it never does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
import requests_mock
from target_exactonline.exact_client.client import ExactClient
from target_exactonline.exact_client.errors import (
    ExactAuthError,
    ExactBadRequest,
    ExactBudgetExhausted,
    ExactError,
    ExactForbidden,
    ExactNotFound,
    ExactUnavailable,
    ExactValidationError,
    UnknownOutcome,
)
from target_exactonline.exact_client.testing import ManualClock

HOST = "https://start.exactonline.test"
DIV = 123456
BASE = f"{HOST}/api/v1/{DIV}"
T0 = 1_800_000_040.0


class StaticAuth:
    def __init__(self) -> None:
        self.rejected: list[str] = []

    def access_token(self) -> str:
        return "access-token-one-xxxxxxxx" if not self.rejected else "access-token-two-xxxxxxxx"

    def token_after_rejection(self, rejected_access_token: str) -> str:
        self.rejected.append(rejected_access_token)
        return "access-token-two-xxxxxxxx"


def _limits(minutely_remaining: int = 59, daily_remaining: int = 4999) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": str(daily_remaining),
        "X-RateLimit-Reset": str(int((T0 + 86_400) * 1000)),
        "X-RateLimit-Minutely-Limit": "60",
        "X-RateLimit-Minutely-Remaining": str(minutely_remaining),
        "X-RateLimit-Minutely-Reset": str(int((T0 + 20) * 1000)),
    }


def _page(rows: list[dict], next_url: str | None = None) -> dict:
    d: dict = {"results": rows}
    if next_url:
        d["__next"] = next_url
    return {"d": d}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def mock() -> Iterator[requests_mock.Mocker]:
    with requests_mock.Mocker() as m:
        yield m


@pytest.fixture
def client(clock: ManualClock) -> ExactClient:
    return ExactClient(HOST, DIV, auth=StaticAuth(), clock=clock.now, sleep=clock.sleep)


def test_get_all_follows_next_verbatim(client: ExactClient, mock: requests_mock.Mocker) -> None:
    second = (
        f"{BASE}/crm/Accounts?$select=ID,Code&$skiptoken=guid'00000000-0000-0000-0000-000000000001'"
    )
    mock.get(
        f"{BASE}/crm/Accounts?$select=ID,Code",
        [
            {"json": _page([{"ID": "a"}, {"ID": "b"}], second), "headers": _limits()},
        ],
        complete_qs=True,
    )
    mock.get(second, json=_page([{"ID": "c"}]), headers=_limits(58), complete_qs=True)
    rows = list(client.get_all("crm/Accounts", select=["ID", "Code"]))
    assert [r["ID"] for r in rows] == ["a", "b", "c"]
    assert client.calls_made == 2
    assert mock.request_history[1].url.endswith(
        "$skiptoken=guid'00000000-0000-0000-0000-000000000001'"
    )
    for req in mock.request_history:
        assert req.headers["Accept"] == "application/json"
        assert req.headers["Authorization"] == "Bearer access-token-one-xxxxxxxx"


def test_get_all_uses_bulk_twin_and_stops_at_top(
    client: ExactClient, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{BASE}/bulk/Cashflow/Receivables",
        json=_page([{"ID": str(i)} for i in range(3)], f"{BASE}/bulk/Cashflow/Receivables?next"),
    )
    rows = list(client.get_all("cashflow/Receivables", select="ID", bulk=True, top=2))
    assert len(rows) == 2
    assert client.calls_made == 1
    assert mock.last_request.qs["$top"] == ["2"]
    # An entity without a bulk twin keeps its own endpoint.
    assert client.bulk_path("financial/Journals") == "financial/Journals"


def test_next_to_another_host_is_refused(client: ExactClient, mock: requests_mock.Mocker) -> None:
    mock.get(f"{BASE}/crm/Accounts", json=_page([{"ID": "a"}], "https://evil.example/steal"))
    with pytest.raises(ExactError, match="another host"):
        list(client.get_all("crm/Accounts", select="ID"))
    assert client.calls_made == 1


def test_reads_retry_5xx_and_connection_errors_with_backoff(
    client: ExactClient, clock: ManualClock, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{BASE}/financial/Journals",
        [
            {"status_code": 503, "text": "busy"},
            {"exc": requests.exceptions.ConnectionError("reset")},
            {"exc": requests.exceptions.ReadTimeout("slow")},
            {"json": _page([{"Code": "25"}]), "headers": _limits()},
        ],
    )
    assert list(client.get_all("financial/Journals", select="Code")) == [{"Code": "25"}]
    assert client.calls_made == 4
    assert len(clock.slept) == 3
    assert clock.slept[0] < clock.slept[2]  # exponential


def test_reads_give_up_after_five_attempts(client: ExactClient, mock: requests_mock.Mocker) -> None:
    mock.get(f"{BASE}/financial/Journals", status_code=502, text="bad gateway")
    with pytest.raises(ExactUnavailable) as info:
        list(client.get_all("financial/Journals", select="Code"))
    assert info.value.status == 502
    assert client.calls_made == 5


def test_429_waits_for_the_minutely_reset(
    client: ExactClient, clock: ManualClock, mock: requests_mock.Mocker
) -> None:
    minutely_only = {
        "X-RateLimit-Minutely-Limit": "60",
        "X-RateLimit-Minutely-Remaining": "0",
        "X-RateLimit-Minutely-Reset": str(int((T0 + 20) * 1000)),
    }
    mock.get(
        f"{BASE}/financial/Journals",
        [
            {"status_code": 429, "headers": minutely_only, "text": ""},
            {"json": _page([{"Code": "25"}]), "headers": _limits()},
        ],
    )
    assert len(list(client.get_all("financial/Journals", select="Code"))) == 1
    assert clock.slept == [21.0]
    assert client.calls_made == 2


def test_a_401_refreshes_once_and_retries_once(
    client: ExactClient, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{BASE}/financial/Journals",
        [{"status_code": 401, "text": ""}, {"json": _page([{"Code": "25"}])}],
    )
    assert len(list(client.get_all("financial/Journals", select="Code"))) == 1
    assert mock.request_history[1].headers["Authorization"] == "Bearer access-token-two-xxxxxxxx"
    mock.get(f"{BASE}/financial/GLAccounts", status_code=401, text="")
    with pytest.raises(ExactAuthError):
        list(client.get_all("financial/GLAccounts", select="Code"))
    assert client.calls_made == 4


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, ExactBadRequest), (403, ExactForbidden), (404, ExactNotFound)],
)
def test_client_errors_are_typed_and_not_retried(
    client: ExactClient, mock: requests_mock.Mocker, status: int, kind: type[ExactError]
) -> None:
    body = {"error": {"code": "", "message": {"lang": "", "value": "Forbidden - nope"}}}
    mock.get(
        f"{BASE}/crm/Accounts",
        status_code=status,
        json=body,
        headers={"Reason": "NoDivisionAccess"},
    )
    with pytest.raises(kind) as info:
        list(client.get_all("crm/Accounts", select="ID"))
    assert info.value.status == status
    assert info.value.message == "Forbidden - nope"
    assert info.value.reason == "NoDivisionAccess"
    assert info.value.endpoint == "GET crm/Accounts"
    assert client.calls_made == 1


def test_xml_answer_is_an_error(client: ExactClient, mock: requests_mock.Mocker) -> None:
    mock.get(
        f"{BASE}/crm/Accounts", text="<feed/>", headers={"Content-Type": "application/atom+xml"}
    )
    with pytest.raises(ExactError, match="XML"):
        list(client.get_all("crm/Accounts", select="ID"))


def test_post_sends_once_with_representation(
    client: ExactClient, mock: requests_mock.Mocker
) -> None:
    mock.post(
        f"{BASE}/financialtransaction/BankEntries",
        status_code=201,
        text='{"d": {"EntryID": "e1", "EntryNumber": 25000007, "ClosingBalanceFC": 0.10}}',
        headers=_limits(),
    )
    created = client.post(
        "financialtransaction/BankEntries",
        {"JournalCode": "25", "BankEntryLines": [{"AmountFC": Decimal("121.10")}]},
    )
    assert created["EntryNumber"] == 25000007
    assert created["ClosingBalanceFC"] == Decimal("0.10")
    sent = mock.last_request
    assert sent.headers["Prefer"] == "return=representation"
    assert sent.headers["Content-Type"] == "application/json"
    assert '"AmountFC":121.10' in sent.text
    assert json.loads(sent.text)["JournalCode"] == "25"


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (
            {
                "status_code": 500,
                "json": {
                    "error": {"code": "", "message": {"lang": "nl", "value": "Ongeldig: Dagboek"}}
                },
            },
            ExactValidationError,
        ),
        ({"status_code": 500, "text": "<html>Internal error</html>"}, UnknownOutcome),
        ({"status_code": 500, "json": {"error": "injected fault"}}, UnknownOutcome),
        ({"status_code": 502, "text": "bad gateway"}, UnknownOutcome),
        (
            {
                "status_code": 504,
                "json": {"error": {"code": "", "message": {"lang": "", "value": "timeout"}}},
            },
            UnknownOutcome,
        ),
        ({"exc": requests.exceptions.ConnectionError("reset by peer")}, UnknownOutcome),
        ({"exc": requests.exceptions.ReadTimeout("read timed out")}, UnknownOutcome),
        ({"status_code": 201, "text": "{not json"}, UnknownOutcome),
        (
            {
                "status_code": 400,
                "json": {"error": {"code": "", "message": {"lang": "", "value": "bad"}}},
            },
            ExactBadRequest,
        ),
    ],
)
def test_post_is_never_retried(
    client: ExactClient,
    clock: ManualClock,
    mock: requests_mock.Mocker,
    response: dict,
    kind: type[ExactError],
) -> None:
    mock.post(
        f"{BASE}/financialtransaction/BankEntries",
        [response, {"status_code": 201, "json": {"d": {}}}],
    )
    with pytest.raises(kind) as info:
        client.post("financialtransaction/BankEntries", {"JournalCode": "25"})
    assert type(info.value) is kind
    assert mock.call_count == 1
    assert client.calls_made == 1
    assert clock.slept == []


def test_a_post_refused_by_the_rate_limit_is_sent_again_after_the_reset(
    client: ExactClient, clock: ManualClock, mock: requests_mock.Mocker
) -> None:
    minutely_only = {
        "X-RateLimit-Minutely-Limit": "60",
        "X-RateLimit-Minutely-Remaining": "0",
        "X-RateLimit-Minutely-Reset": str(int((T0 + 20) * 1000)),
    }
    mock.post(
        f"{BASE}/financialtransaction/BankEntries",
        [
            {"status_code": 429, "headers": minutely_only, "text": ""},
            {"status_code": 201, "json": {"d": {"EntryID": "e1"}}, "headers": _limits()},
        ],
    )
    assert client.post("financialtransaction/BankEntries", {"JournalCode": "25"}) == {
        "EntryID": "e1"
    }
    assert mock.call_count == 2  # a 429 stores nothing, so the second POST is no duplicate
    assert clock.slept == [21.0]


def test_a_post_whose_token_is_refused_is_sent_again_once_with_a_fresh_token(
    client: ExactClient, mock: requests_mock.Mocker
) -> None:
    mock.post(
        f"{BASE}/financialtransaction/BankEntries",
        [
            {"status_code": 401, "text": ""},
            {"status_code": 401, "text": ""},
            {"status_code": 201, "json": {"d": {"EntryID": "e1"}}},
        ],
    )
    with pytest.raises(ExactAuthError):
        client.post("financialtransaction/BankEntries", {"JournalCode": "25"})
    assert mock.call_count == 2
    assert [r.headers["Authorization"] for r in mock.request_history] == [
        "Bearer access-token-one-xxxxxxxx",
        "Bearer access-token-two-xxxxxxxx",
    ]


def test_delete_is_sent_once(client: ExactClient, mock: requests_mock.Mocker) -> None:
    path = "financialtransaction/BankEntries(guid'00000000-0000-0000-0000-000000000001')"
    mock.delete(f"{BASE}/{path}", [{"status_code": 204}, {"status_code": 204}])
    client.delete(path)
    mock.delete(f"{BASE}/{path}", exc=requests.exceptions.ConnectionError("reset"))
    with pytest.raises(UnknownOutcome):
        client.delete(path)
    assert mock.call_count == 2


def test_get_single_entity_and_me(client: ExactClient, mock: requests_mock.Mocker) -> None:
    mock.get(f"{HOST}/api/v1/current/Me", json=_page([{"CurrentDivision": DIV, "UserID": "u1"}]))
    assert client.me()["CurrentDivision"] == DIV
    assert mock.last_request.qs["$select"] == ["userid,currentdivision,fullname"]
    path = "crm/Accounts(guid'00000000-0000-0000-0000-000000000001')"
    mock.get(f"{BASE}/{path}", json={"d": {"ID": "x", "Name": "Jansen"}})
    assert client.get(path, select="ID,Name")["Name"] == "Jansen"


def test_daily_budget_stops_before_sending(client: ExactClient, mock: requests_mock.Mocker) -> None:
    mock.get(f"{BASE}/financial/Journals", json=_page([{"Code": "25"}]), headers=_limits(59, 3))
    assert client.remaining_today() is None
    assert client.can_afford(10_000)  # unknown until a response says
    list(client.get_all("financial/Journals", select="Code"))
    assert client.remaining_today() == 3
    assert client.can_afford(3)
    assert not client.can_afford(4)
    with pytest.raises(ExactBudgetExhausted, match="needs 5 Exact Online calls but only 3"):
        client.ensure_budget(5, "clearing CLR-1")
    mock.get(f"{BASE}/financial/Journals", json=_page([{"Code": "25"}]), headers=_limits(59, 0))
    list(client.get_all("financial/Journals", select="Code"))
    with pytest.raises(ExactBudgetExhausted):
        list(client.get_all("financial/Journals", select="Code"))
    assert client.calls_made == 2


def test_construction_checks() -> None:
    with pytest.raises(ValueError, match="division"):
        ExactClient(HOST, 0, auth=StaticAuth())
    with pytest.raises(ValueError, match="base_url"):
        ExactClient("start.exactonline.nl", DIV, auth=StaticAuth())
