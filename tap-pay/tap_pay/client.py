"""The base stream for Pay.'s GMS v2 API: auth, paging without a wasted call, retries, errors."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Generator, Iterable
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk import RESTStream
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator

from tap_pay.errors import (
    MalformedResponseError,
    PayAuthenticationError,
    PayPermissionError,
    PayRequestError,
    PayUnavailableError,
    redact,
)
from tap_pay.payload import Node, Origin
from tap_pay.settings import Settings
from tap_pay.singer_output import SchemaOncePerStream

try:
    _VERSION = version("tap-pay")
except PackageNotFoundError:  # running from a source tree without install
    _VERSION = "0"

_DETAIL_CHARS = 300
_NETWORK_ERRORS = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class PageInfo:
    """The paging envelope of one response: ``total``, ``count`` and, where sent, ``pages``."""

    __slots__ = ("count", "pages", "total")

    def __init__(self, total: int | None, count: int | None, pages: int | None) -> None:
        self.total = total
        self.count = count
        self.pages = pages


class PayPaginator(BaseAPIPaginator[int]):
    """Page numbers from 1, stopping on the envelope instead of on an empty page.

    The SDK's page-number paginator only stops at the first empty page, one wasted request per
    stream (singer-meltano.md §1.3). Pay. sends ``pages`` (newer endpoints) or ``total``, so the
    last page is known when it arrives.
    """

    def __init__(self, limit: int, page_info: Callable[[requests.Response], PageInfo]) -> None:
        super().__init__(1)
        self.limit = limit
        self._page_info = page_info

    def has_more(self, response: requests.Response) -> bool:
        info = self._page_info(response)
        page = self.current_value
        if info.count is not None and info.count > self.limit:
            return False  # more items than asked for: the endpoint does not page, this is all
        if info.pages is not None:
            return page < info.pages
        if info.total is not None:
            more = page * self.limit < info.total
            if more and info.count is not None and info.count < self.limit:
                raise MalformedResponseError(
                    f"Pay. {describe(response)} returned {info.count} items on page {page} of "
                    f"{info.total} with limit {self.limit}: the page size is not the one asked "
                    "for, so paging would skip items"
                )
            return more
        # No envelope at all: only a full page can have a successor.
        return info.count == self.limit

    def get_next(self, response: requests.Response) -> int | None:
        return self.current_value + 1


class NextLinkPaginator(BaseAPIPaginator[int | None]):
    """For a list the spec does not page (``/turnovergroups``): one call without page or limit.

    Should Pay. page it after all, the answer says so the way its paged lists do: a ``_links``
    object whose ``next`` names the next page, and fewer items so far than ``total``. The spec's
    own shape (``_links`` as a list of ``{href, rel, type}``) never has a next page.
    """

    def __init__(self, page_info: Callable[[requests.Response], PageInfo], body: Callable) -> None:
        super().__init__(None)
        self._page_info = page_info
        self._body = body
        self._seen = 0

    def _next_page(self, response: requests.Response) -> int | None:
        links = self._body(response).get("_links")
        if not isinstance(links, dict) or not isinstance(links.get("next"), dict):
            return None
        href = links["next"].get("href")
        page = parse_qs(urlparse(str(href or "")).query).get("page", [""])[0]
        return int(page) if page.isdigit() else None

    def has_more(self, response: requests.Response) -> bool:
        info = self._page_info(response)
        self._seen += info.count or 0
        following = self._next_page(response)
        current = self.current_value or 1
        if following is None or following <= current or not info.count:
            return False
        return info.total is not None and self._seen < info.total

    def get_next(self, response: requests.Response) -> int | None:
        return self._next_page(response)


def api_path(response: requests.Response) -> str:
    """The request's path below the API base (``/clearings/CLEARING-1/records``)."""
    path = urlparse(response.url or "").path
    # The base is .../v2 for Pay. and for the sandbox; a bare host keeps the whole path.
    _, sep, tail = path.partition("/v2/")
    return "/" + tail if sep else path


def page_number(response: requests.Response) -> int | None:
    page = parse_qs(urlparse(response.url or "").query).get("page", [""])[0]
    return int(page) if page.isdigit() else None


def describe(response: requests.Response) -> str:
    """``GET /clearings/settlements (page 2)``: method and path, no host, no query."""
    request = response.request
    method = request.method if request is not None and request.method else "GET"
    return Origin(api_path(response), page_number(response), method).describe()


class PayStream(SchemaOncePerStream, RESTStream[int]):
    """One Pay. GMS v2 list (or detail) endpoint."""

    #: Endpoint template as Pay. documents it, used to look up its amount unit and in messages.
    endpoint: ClassVar[str]
    #: Member of the response that holds the items (None: the body is the item itself).
    items_key: ClassVar[str | None] = None
    #: Page size to ask for, the endpoint's maximum; None for unpaged endpoints.
    page_limit: ClassVar[int | None] = None
    #: A list the spec does not page (no page/limit): one call, following a next link if sent.
    unpaged_list: ClassVar[bool] = False
    #: Name of the merchant filter parameter, when the endpoint takes one.
    merchant_param: ClassVar[str | None] = None

    #: First wait before a retry when Pay. sends no Retry-After; doubles per attempt.
    retry_base_seconds: ClassVar[float] = 2.0
    #: Longest Retry-After the tap will sit out; a longer one is capped.
    max_retry_after_seconds: ClassVar[float] = 600.0
    max_tries: ClassVar[int] = 5

    @property
    def url_base(self) -> str:
        return self.settings.api_url

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_config(self.config)

    @cached_property
    def authenticator(self) -> BasicAuthenticator:
        return BasicAuthenticator(
            username=self.settings.token_code, password=self.settings.api_token
        )

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @property
    def user_agent(self) -> str:
        return f"tap-pay/{_VERSION}"

    @property
    def timeout(self) -> int:
        return 120

    # -- requests -----------------------------------------------------------------------------

    def get_new_paginator(self) -> BaseAPIPaginator[Any] | None:
        if self.page_limit is None:
            if self.unpaged_list:
                return NextLinkPaginator(self.page_info, self.decoded)
            return None
        return PayPaginator(self.page_limit, self.page_info)

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:
        params: dict[str, Any] = {}
        if self.page_limit is not None:
            params["page"] = next_page_token or 1
            params["limit"] = self.page_limit
        elif next_page_token is not None:
            params["page"] = next_page_token  # an unpaged list that turned out paged
        if self.merchant_param and self.settings.merchant_code:
            params[self.merchant_param] = self.settings.merchant_code
        params.update(self.filter_params(context))
        return params

    def filter_params(self, context: Context | None) -> dict[str, Any]:
        """Server-side filters (``field[op]`` parameters) for this request."""
        return {}

    # -- responses ----------------------------------------------------------------------------

    def decoded(self, response: requests.Response) -> Any:
        """The JSON body, parsed once per response with exact decimals."""
        cached = response.__dict__.get("_pay_json", _MISSING)
        if cached is not _MISSING:
            return cached
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise MalformedResponseError(
                f"Pay. {describe(response)} returned a body that is not JSON "
                f"(Content-Type {response.headers.get('Content-Type', 'missing')!r})"
            ) from None
        response.__dict__["_pay_json"] = body
        return body

    def origin(self, response: requests.Response) -> Origin:
        return Origin(
            api_path(response), page_number(response), secrets=tuple(self.settings.secrets)
        )

    def page_info(self, response: requests.Response) -> PageInfo:
        root = Node(self.decoded(response), self.origin(response)).as_object()
        count = root.integer("count")
        if count is None and self.items_key and isinstance(root.value.get(self.items_key), list):
            count = len(root.value[self.items_key])
        return PageInfo(total=root.integer("total"), count=count, pages=root.integer("pages"))

    def item_nodes(self, response: requests.Response) -> list[Node]:
        root = Node(self.decoded(response), self.origin(response))
        if self.items_key is None:
            return [root]
        root.as_object()
        if self.page_limit is not None or self.unpaged_list:
            self.page_info(response)  # a broken envelope is reported before any item
        return root.object_or_items(self.items_key) if root.has(self.items_key) else []

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        for item in self.item_nodes(response):
            yield from self.records_from(item)

    def records_from(self, item: Node) -> Iterable[dict]:
        """Shape one item into zero or more records (streams override)."""
        raise NotImplementedError

    # -- errors -------------------------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        where = describe(response)
        if status == 401:
            raise PayAuthenticationError(
                f"Pay. rejected the credentials (HTTP 401 on {where}). Check the token_code "
                "setting (the AT-xxxx-xxxx code of the API token) and the api_token setting "
                "(the token itself, which must belong to that code)."
            )
        if status == 403:
            raise PayPermissionError(self._permission_message(where))
        if status == 429 or status >= 500:
            raise RetriableAPIError(self.response_error_message(response), response)
        if 400 <= status < 500:
            raise PayRequestError(self.response_error_message(response), status=status)
        if 200 <= status < 300:
            self.decoded(response)

    def _permission_message(self, where: str) -> str:
        message = (
            f"Pay. refused access (HTTP 403 on {where}): the API token is valid but lacks a "
            "permission. "
        )
        if self.endpoint.startswith("/clearings"):
            # [I] pay-api.md §3: the clearing APIs are beta and answer 403 without the group.
            message += (
                "The clearing and settlement APIs need an extra permission group that Pay. "
                "enables on request: ask Pay. support to enable the clearing API for this "
                "API token."
            )
        else:
            message += f"Ask Pay. support to grant this API token access to {self.endpoint}."
        if self.settings.merchant_code:
            message += (
                f" Also check that the token may read merchant {self.settings.merchant_code} "
                "(the merchant_code setting)."
            )
        return message

    def response_error_message(self, response: requests.Response) -> str:
        """Status, request and Pay.'s own explanation; never the raw body or headers."""
        message = f"Pay. answered HTTP {response.status_code}"
        if response.reason:
            message += f" {response.reason}"
        message += f" on {describe(response)}"
        detail = _error_detail(response, self.settings.secrets)
        if detail:
            message += f": {detail}"
        return redact(message, self.settings.secrets)

    # -- retries ------------------------------------------------------------------------------

    def backoff_max_tries(self) -> int:
        return self.max_tries

    def backoff_wait_generator(self) -> Generator[float, Any, None]:  # type: ignore[override]
        attempt = 0
        exception = yield  # type: ignore[misc]
        while True:
            attempt += 1
            exception = yield self.retry_wait(exception, attempt)

    def retry_wait(self, exception: BaseException, attempt: int) -> float:
        """Retry-After when Pay. sends it, else exponential back-off with a little jitter."""
        response = getattr(exception, "response", None)
        if response is not None:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self.max_retry_after_seconds)
        base = self.retry_base_seconds * 2 ** (attempt - 1)
        return base * (1 + random.random() / 4)

    def backoff_jitter(self, value: float) -> float:
        return value  # jitter is already in retry_wait; Retry-After is honoured as sent

    def backoff_handler(self, details: Any) -> None:
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        reason = (
            f"Pay. answered HTTP {response.status_code} on {describe(response)}"
            if response is not None
            else f"Pay. could not be reached ({type(exception).__name__}) for {self.endpoint}"
        )
        self.logger.warning(
            "%s (attempt %d of %d); retrying in %.1f s",
            reason,
            details.get("tries", 0),
            self.max_tries,
            details.get("wait", 0.0),
        )

    def request_decorator(self, func: Callable) -> Callable:
        retrying = super().request_decorator(func)
        tries = self.max_tries

        def request_once_or_give_up(*args: Any, **kwargs: Any) -> requests.Response:
            try:
                return retrying(*args, **kwargs)
            except RetriableAPIError as exc:
                raise PayUnavailableError(
                    f"{exc}. Gave up after {tries} attempts; the run stops here and the next "
                    "run starts again from the last saved bookmark."
                ) from None
            except _NETWORK_ERRORS as exc:
                raise PayUnavailableError(
                    f"Pay. could not be reached for {self.endpoint} after {tries} attempts "
                    f"({type(exc).__name__}); the run stops here and the next run starts "
                    "again from the last saved bookmark."
                ) from None

        return request_once_or_give_up


_MISSING = object()


def retry_after_seconds(header: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date relative to now."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - now).total_seconds())


def _error_detail(response: requests.Response, secrets: list[str]) -> str:
    """Pay.'s ``detail``/``violations`` (pay-api.md §3), or nothing: never a raw body."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[key]) for key in ("title", "detail") if isinstance(body.get(key), str)]
    for violation in body.get("violations") or []:
        if isinstance(violation, dict):
            keys = ("propertyPath", "message", "code")
            bits = [str(violation[k]) for k in keys if k in violation]
            parts.append(" ".join(bits))
    text = redact("; ".join(p for p in parts if p), secrets)  # before cutting it short
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."
