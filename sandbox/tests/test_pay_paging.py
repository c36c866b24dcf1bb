"""page/limit with each endpoint's own maximum, total/count/pages and _links that walk every item
exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pay_exact_sandbox.generator import GeneratorParams, RevenueGroup
from pay_exact_sandbox.pay import PaySandbox

# Enough data to need several pages everywhere: > 10 settlements, > 100 clearing and invoice lines.
PARAMS = GeneratorParams(
    seed=11,
    days=24,
    payments_per_clearing=(3, 8),
    revenue_groups=(
        RevenueGroup("Webshop", "woocommerce"),
        RevenueGroup("Winkel", "lightspeed", own_bank_account=True),
    ),
)

ENDPOINTS = [
    # path, list key, maximum limit
    ("/clearings/settlements", "settlements", 10),
    ("/clearinglines", "clearingLines", 100),
    ("/invoicelines", "invoiceLines", 100),
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PaySandbox]:
    with PaySandbox(PARAMS) as running:
        yield running


def get(sandbox: PaySandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sandbox.api_url}{path}", params=params, auth=sandbox.auth, timeout=10)


def walk(sandbox: PaySandbox, path: str, key: str, limit: int) -> list[dict[str, Any]]:
    """Follow _links.next from page 1 and collect every item."""
    items: list[dict[str, Any]] = []
    body = get(sandbox, path, page=1, limit=limit).json()
    pages_seen = 1
    items.extend(body[key])
    while "next" in body["_links"]:
        body = requests.get(
            sandbox.api_url + body["_links"]["next"]["href"], auth=sandbox.auth, timeout=10
        ).json()
        pages_seen += 1
        items.extend(body[key])
    assert pages_seen == body.get("pages", max(1, -(-body["total"] // limit)))
    return items


@pytest.mark.parametrize(("path", "key", "maximum"), ENDPOINTS)
def test_limit_up_to_the_endpoint_maximum_pages_through_everything(
    sandbox: PaySandbox, path: str, key: str, maximum: int
) -> None:
    first = get(sandbox, path, limit=maximum).json()
    total = first["total"]
    assert total > maximum, "the data set must need more than one page"
    assert first["count"] == maximum == len(first[key])
    if path == "/clearings/settlements":
        assert first["pages"] == -(-total // maximum)
    else:  # the spec's envelope for these lists has no pages
        assert "pages" not in first
    items = walk(sandbox, path, key, maximum)
    codes = [item["code"] for item in items]
    assert len(codes) == total == len(set(codes))


@pytest.mark.parametrize(("path", "key", "maximum"), ENDPOINTS)
def test_limit_above_the_maximum_is_a_400_with_the_error_body(
    sandbox: PaySandbox, path: str, key: str, maximum: int
) -> None:
    response = get(sandbox, path, limit=maximum + 1)
    assert response.status_code == 400
    body = response.json()
    assert body["violations"][0]["propertyPath"] == "limit"
    assert str(maximum) in body["detail"]


@pytest.mark.parametrize(("path", "key", "maximum"), ENDPOINTS)
def test_default_limit_is_the_maximum(
    sandbox: PaySandbox, path: str, key: str, maximum: int
) -> None:
    assert get(sandbox, path).json()["count"] == maximum


def test_settlements_are_sorted_by_date_then_code(sandbox: PaySandbox) -> None:
    items = walk(sandbox, "/clearings/settlements", "settlements", 10)
    keys = [(s["settlementDate"], s["code"]) for s in items]
    assert keys == sorted(keys)
    assert len({s["settlementDate"] for s in items}) < len(items)  # some dates have two


def test_links_keep_filters_and_point_both_ways(sandbox: PaySandbox) -> None:
    body = get(
        sandbox, "/clearings/settlements", page=2, limit=3, **{"settlementDate[gte]": "2025-03-05"}
    ).json()
    links = body["_links"]
    assert links["self"]["href"].startswith("/clearings/settlements?page=2&limit=3")
    assert links["self"]["rel"] == "self"
    assert "page=1&" in links["previous"]["href"]
    assert "page=3&" in links["next"]["href"]
    assert f"page={body['pages']}&" in links["last"]["href"]
    for link in links.values():
        assert "settlementDate%5Bgte%5D=2025-03-05" in link["href"]


def test_last_page_has_no_next_and_pages_beyond_are_empty(sandbox: PaySandbox) -> None:
    first = get(sandbox, "/clearinglines", limit=100).json()
    pages = -(-first["total"] // 100)
    last = get(sandbox, "/clearinglines", limit=100, page=pages).json()
    assert "next" not in last["_links"]
    assert last["count"] == first["total"] - 100 * (pages - 1)
    beyond = get(sandbox, "/clearinglines", limit=100, page=pages + 1).json()
    assert beyond["count"] == 0
    assert beyond["clearingLines"] == []


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"page": "x"}, {"limit": "ten"}, {"limit": -1}],
    ids=["page-0", "page-text", "limit-text", "limit-negative"],
)
def test_bad_page_or_limit_is_a_400(sandbox: PaySandbox, params: dict[str, Any]) -> None:
    response = get(sandbox, "/clearings/settlements", **params)
    assert response.status_code == 400
    assert response.json()["violations"][0]["propertyPath"] in ("page", "limit")


def test_limit_zero_means_the_default_where_the_reference_allows_zero(
    sandbox: PaySandbox,
) -> None:
    assert get(sandbox, "/clearings/settlements", limit=0).json()["count"] == 10
    assert get(sandbox, "/clearinglines", limit=0).status_code == 400  # documented 1-100


def test_records_page_at_ten_thousand(pay_sandbox_factory) -> None:
    big = pay_sandbox_factory(GeneratorParams(seed=5, days=1, payments_per_clearing=10_050))
    settlement = big.merchant.pay["settlements"][0]
    clearing_id = settlement["clearings"][0]["clearingId"]
    path = f"/clearings/{clearing_id}/records"
    first = get(big, path).json()
    assert first["count"] == 10_000
    assert "pages" not in first  # the records example has total, count and _links only
    assert "next" in first["_links"]
    assert get(big, path, limit=10_001).status_code == 400
    rest = get(big, path, page=2).json()
    ids = {r["reportingId"] for r in first["clearingRecords"] + rest["clearingRecords"]}
    assert len(ids) == first["total"] == len(big.store.records_for(clearing_id))
    # The settlement code reaches the same records.
    by_code = get(big, f"/clearings/{settlement['code']}/records", limit=5).json()
    assert by_code["total"] == first["total"]


def test_unknown_clearing_is_a_404_with_the_error_body(sandbox: PaySandbox) -> None:
    response = get(sandbox, "/clearings/CLEARING-00000000000/records")
    assert response.status_code == 404
    assert response.json()["title"] == "An error occurred"


@pytest.mark.parametrize("path", ["/clearinglines", "/invoicelines"])
def test_gms_lists_have_the_spec_envelope(sandbox: PaySandbox, path: str) -> None:
    """labd/paynl-js-sdk packages/rest/openapi.json: total, count, the list and _links with
    self, first, previous (page 1 on page 1), next and last; no pages."""
    body = get(sandbox, path, limit=1).json()
    assert "pages" not in body
    assert set(body["_links"]) == {"self", "first", "previous", "next", "last"}
    assert body["_links"]["previous"]["href"].startswith(f"{path}?page=1&limit=1")
    assert body["_links"]["self"]["rel"] == "self"


def test_turnover_groups_have_the_spec_envelope(sandbox: PaySandbox) -> None:
    body = get(sandbox, "/turnovergroups").json()
    assert set(body) == {"total", "turnoverGroups", "_links"}
    assert body["_links"] == [{"href": "/turnovergroups", "rel": "self", "type": "GET"}]
    first = body["turnoverGroups"][0]
    assert first["_links"] == [
        {"href": f"/turnovergroups/{first['code']}", "rel": "turnoverGroup", "type": "GET"}
    ]
    # the spec takes no page or limit here: they change nothing
    assert get(sandbox, "/turnovergroups", page=2, limit=1).json() == body
