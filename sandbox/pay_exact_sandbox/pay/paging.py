"""``page``/``limit`` within each endpoint's bounds; ``total``, ``count``, ``pages``, ``_links``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from .errors import invalid_parameter


@dataclass(frozen=True, slots=True)
class Limits:
    default: int
    maximum: int
    minimum: int  # 0 where the reference allows it; 0 then means "the default" [I]


SETTLEMENTS = Limits(default=10, maximum=10, minimum=0)
RECORDS = Limits(default=10_000, maximum=10_000, minimum=0)
LINES = Limits(default=100, maximum=100, minimum=1)
LOOKUPS = Limits(default=100, maximum=100, minimum=1)  # [I] turnover groups: not documented


def _int_param(args: MultiDict[str, str], name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid_parameter(name, f"must be a whole number, got {raw!r}") from None


def parse_paging(args: MultiDict[str, str], limits: Limits) -> tuple[int, int]:
    """Page and limit; a limit above the endpoint's maximum is a 400, not silently clamped [I]."""
    page = _int_param(args, "page")
    limit = _int_param(args, "limit")
    if page is None:
        page = 1
    if page < 1:
        raise invalid_parameter("page", f"must be 1 or more, got {page}")
    if limit is None or (limit == 0 and limits.minimum == 0):
        limit = limits.default
    if not max(limits.minimum, 1) <= limit <= limits.maximum:
        raise invalid_parameter(
            "limit", f"must be between {limits.minimum} and {limits.maximum}, got {limit}"
        )
    return page, limit


def paged(
    key: str,
    items: Sequence[Any],
    *,
    page: int,
    limit: int,
    path: str,
    args: MultiDict[str, str],
    with_pages: bool = True,
    previous_on_first: bool = False,
) -> dict[str, Any]:
    """The response body; ``_links`` hrefs are relative to the API base, as in Pay.'s examples.

    ``with_pages``: only where Pay. documents ``pages`` (settlements, pay-api.md §4.1); the
    spec's ``/clearinglines`` and ``/invoicelines`` envelopes have ``total``, ``count`` and
    ``_links`` only (labd/paynl-js-sdk packages/rest/openapi.json), as has the records example
    (pay-api.md §4.2). ``previous_on_first``: the spec's examples for those two lists carry a
    ``previous`` link on page 1 that points at page 1.
    """
    total = len(items)
    pages = max(1, -(-total // limit))  # [I] an empty result still has one (empty) page
    chunk = list(items[(page - 1) * limit : page * limit])
    others = [(k, v) for k, v in args.items(multi=True) if k not in ("page", "limit")]

    def href(number: int) -> str:
        return f"{path}?{urlencode([('page', number), ('limit', limit), *others])}"

    links: dict[str, Any] = {
        "self": {"href": href(page), "rel": "self", "type": "GET"},
        "first": {"href": href(1)},
    }
    if page > 1 or previous_on_first:
        links["previous"] = {"href": href(max(1, min(page - 1, pages)))}
    if page < pages:
        links["next"] = {"href": href(page + 1)}
    links["last"] = {"href": href(pages)}
    body: dict[str, Any] = {"total": total, "count": len(chunk)}
    if with_pages:
        body["pages"] = pages
    return {**body, key: chunk, "_links": links}
