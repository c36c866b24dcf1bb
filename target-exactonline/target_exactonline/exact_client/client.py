"""The Exact Online REST client: OData reads with paging, writes sent exactly once.

Contract:
- Reads (GET) are retried: connection errors, timeouts and 5xx with exponential backoff, a 429
  after waiting for the reset, a 401 once after a token refresh. Pages are read one after another,
  following ``__next`` verbatim (Exact asks for sequential paging).
- Writes (POST, DELETE) are sent once and never retried here. A definite refusal raises a typed
  error (nothing was stored); anything that leaves the outcome open raises
  :class:`~target_exactonline.exact_client.errors.UnknownOutcome`, and the caller must look the
  record up before trying again.
- Every call waits for the minutely rate limit first, and refuses to start when the daily budget
  is used up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from target_exactonline.exact_client.errors import (
    ExactAuthError,
    ExactBadRequest,
    ExactError,
    ExactForbidden,
    ExactNotFound,
    ExactRateLimited,
    ExactUnavailable,
    ExactValidationError,
    UnknownOutcome,
    exact_error_message,
    has_exact_error_envelope,
)
from target_exactonline.exact_client.odata import dumps, parse_json, query_string
from target_exactonline.exact_client.rate_limit import RateLimiter
from target_exactonline.exact_client.redaction import get_logger

log = get_logger(__name__)

# Entities that have a bulk twin (1,000 rows a page instead of 60), by lower-cased path.
BULK_ENDPOINTS: dict[str, str] = {
    "crm/accounts": "bulk/CRM/Accounts",
    "financial/glaccounts": "bulk/Financial/GLAccounts",
    "financialtransaction/transactionlines": "bulk/Financial/TransactionLines",
    "cashflow/receivables": "bulk/Cashflow/Receivables",
}

DEFAULT_TIMEOUT_S = 60.0
READ_ATTEMPTS = 5
MAX_429_WAITS = 10
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0


class TokenProvider(Protocol):
    def access_token(self) -> str: ...

    def token_after_rejection(self, rejected_access_token: str) -> str: ...


@dataclass(frozen=True, slots=True)
class DivisionCheck:
    division: int
    current_division: int | None
    user_id: str | None
    user_name: str | None

    @property
    def is_current(self) -> bool:
        """Whether the configured division is the one the user last opened (informational)."""
        return self.current_division == self.division


class ExactClient:
    """Calls to one Exact Online division.

    ``base_url`` is the country host (``https://start.exactonline.nl``); ``division`` is always
    configured explicitly, never taken from ``current/Me``. ``sleep`` and ``clock`` drive all
    waiting, so tests run on a simulated clock.
    """

    def __init__(
        self,
        base_url: str,
        division: int,
        *,
        auth: TokenProvider,
        session: requests.Session | None = None,
        sleep: Any = time.sleep,
        clock: Any = time.time,
        timeout: float = DEFAULT_TIMEOUT_S,
        read_attempts: int = READ_ATTEMPTS,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if isinstance(division, bool) or not isinstance(division, int) or division <= 0:
            raise ValueError(f"division must be a positive int, got {division!r}")
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) host URL, got {base_url!r}")
        self._origin = (parts.scheme, parts.netloc.lower())
        self.division = division
        self.auth = auth
        self.session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self.timeout = timeout
        self.read_attempts = read_attempts
        self.rate_limiter = rate_limiter or RateLimiter(clock=clock, sleep=sleep)
        #: HTTP requests sent to the REST API (token requests are counted by the auth object).
        self.calls_made = 0

    # -- URLs ---------------------------------------------------------------------------------

    def url(self, entity_path: str) -> str:
        """The absolute URL of ``entity_path`` (``crm/Accounts``, or ``current/Me``)."""
        path = entity_path.strip().lstrip("/")
        if not path:
            raise ValueError("entity path is empty")
        if path.lower().startswith("current/"):
            return f"{self.base_url}/api/v1/{path}"
        return f"{self.base_url}/api/v1/{self.division}/{path}"

    @staticmethod
    def bulk_path(entity_path: str) -> str:
        """The bulk twin of ``entity_path`` when Exact has one, else the path itself."""
        return BULK_ENDPOINTS.get(entity_path.strip().strip("/").lower(), entity_path)

    # -- reads --------------------------------------------------------------------------------

    def get_all(
        self,
        entity_path: str,
        *,
        select: Iterable[str] | str,
        filter: str | None = None,
        orderby: str | None = None,
        expand: Iterable[str] | str | None = None,
        top: int | None = None,
        bulk: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a collection, page after page, following ``__next`` until it is absent.

        ``bulk=True`` reads the entity's bulk endpoint (1,000 rows a page) where one exists.
        ``filter`` must be built with the literal helpers in :mod:`.odata`.
        """
        path = self.bulk_path(entity_path) if bulk else entity_path
        query = query_string(select=select, filter=filter, orderby=orderby, expand=expand, top=top)
        url: str | None = f"{self.url(path)}?{query}"
        yielded = 0
        while url:
            document = self._read(url, path)
            rows, next_url = _collection(document, path)
            for row in rows:
                yield row
                yielded += 1
                if top is not None and yielded >= top:
                    return
            url = self._checked_next(next_url, path) if next_url else None

    def get(
        self,
        entity_path: str,
        *,
        select: Iterable[str] | str,
        expand: Iterable[str] | str | None = None,
    ) -> dict[str, Any]:
        """One entity, e.g. ``crm/Accounts(guid'...')``; raises ExactNotFound when absent."""
        query = query_string(select=select, expand=expand)
        document = self._read(f"{self.url(entity_path)}?{query}", entity_path)
        data = _data(document, entity_path)
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            results = data["results"]
            if not results:
                raise ExactNotFound("no such entity", status=200, endpoint=f"GET {entity_path}")
            return dict(results[0])
        if not isinstance(data, dict):
            raise ExactError("unexpected response shape", endpoint=f"GET {entity_path}")
        return data

    def me(
        self, select: Iterable[str] = ("UserID", "CurrentDivision", "FullName")
    ) -> dict[str, Any]:
        """The connected user (``current/Me``)."""
        return self.get("current/Me", select=select)

    def check_division(self) -> DivisionCheck:
        """Prove the connection can read the configured division.

        ``current/Me`` names the user; a one-row read inside the division then fails with
        ExactForbidden (``reason`` such as ``NoDivisionAccess``) when it is not accessible.
        """
        me = self.me()
        for _row in self.get_all("financial/Journals", select="Code", top=1):
            break
        current = me.get("CurrentDivision")
        return DivisionCheck(
            division=self.division,
            current_division=int(current) if current is not None else None,
            user_id=me.get("UserID"),
            user_name=me.get("FullName"),
        )

    # -- budget -------------------------------------------------------------------------------

    def remaining_today(self) -> int | None:
        return self.rate_limiter.remaining_today()

    def can_afford(self, calls: int) -> bool:
        return self.rate_limiter.can_afford(calls)

    def ensure_budget(self, calls: int, what: str) -> None:
        self.rate_limiter.ensure_budget(calls, what)

    # -- writes -------------------------------------------------------------------------------

    def post(self, entity_path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an entity and return it as Exact stored it.

        Never sent again when its outcome is unknown (see :meth:`_send_once`)."""
        payload = dumps(body).encode()
        response = self._send_once(
            "POST",
            entity_path,
            data=payload,
            headers={"Content-Type": "application/json", "Prefer": "return=representation"},
        )
        try:
            data = _data(parse_json(response.content), entity_path)
        except (ValueError, ExactError):
            raise UnknownOutcome(
                "Exact answered the POST with success but its body could not be read",
                status=response.status_code,
                endpoint=f"POST {entity_path}",
            ) from None
        if not isinstance(data, dict):
            raise UnknownOutcome(
                "Exact answered the POST with an unexpected body",
                status=response.status_code,
                endpoint=f"POST {entity_path}",
            )
        return data

    def delete(self, entity_path: str) -> None:
        """Delete one entity (``.../BankEntries(guid'...')``); sent again only as a POST is."""
        self._send_once("DELETE", entity_path)

    # -- transport ----------------------------------------------------------------------------

    def _headers(self, token: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        if extra:
            headers.update(extra)
        return headers

    def _read(self, url: str, path: str) -> Any:
        endpoint = f"GET {path}"
        failures = 0
        waits_429 = 0
        refreshed = False
        token = ""
        while True:
            self.rate_limiter.before_request()
            if not refreshed:
                token = self.auth.access_token()
            self.calls_made += 1
            try:
                response = self.session.get(url, headers=self._headers(token), timeout=self.timeout)
            except requests.RequestException as exc:
                failures += 1
                if failures >= self.read_attempts:
                    raise ExactUnavailable(
                        f"Exact Online could not be reached after {failures} attempts "
                        f"({type(exc).__name__})",
                        endpoint=endpoint,
                    ) from None
                self._backoff(failures, endpoint, type(exc).__name__)
                continue
            self.rate_limiter.update(response.headers)
            status = response.status_code
            log.debug("%s -> %s", endpoint, status)
            if status == 200:
                if "xml" in response.headers.get("Content-Type", "").lower():
                    raise ExactError(
                        "Exact Online answered with XML instead of JSON",
                        status=status,
                        endpoint=endpoint,
                    )
                try:
                    return parse_json(response.content)
                except ValueError:
                    failures += 1
                    if failures >= self.read_attempts:
                        raise ExactUnavailable(
                            "Exact Online kept sending unreadable JSON",
                            status=status,
                            endpoint=endpoint,
                        ) from None
                    self._backoff(failures, endpoint, "unreadable JSON")
                    continue
            if status == 401 and not refreshed:
                # An access token can be judged expired mid-flight: one refresh, one retry.
                token = self.auth.token_after_rejection(token)
                refreshed = True
                continue
            if status == 429:
                waits_429 += 1
                if waits_429 > MAX_429_WAITS:
                    raise self._error(response, endpoint)
                self.rate_limiter.wait_after_429(response.headers)
                continue
            if status >= 500:
                failures += 1
                if failures >= self.read_attempts:
                    raise ExactUnavailable(
                        f"Exact Online kept failing after {failures} attempts",
                        status=status,
                        message=exact_error_message(response.content),
                        reason=response.headers.get("Reason"),
                        endpoint=endpoint,
                    )
                self._backoff(failures, endpoint, f"HTTP {status}")
                continue
            raise self._error(response, endpoint)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send a write once. It goes out again only when Exact refused it before handling it:
        a 429 (the rate limit; after waiting for the reset) or one 401 (an access token judged
        expired in flight; after a refresh). Anything else that leaves the outcome open raises
        :class:`UnknownOutcome`, and the caller must look the write up before sending it again.
        """
        endpoint = f"{method} {path}"
        waits_429 = 0
        refreshed = False
        token = ""
        while True:
            self.rate_limiter.before_request()
            if not refreshed:
                token = self.auth.access_token()
            self.calls_made += 1
            try:
                response = self.session.request(
                    method,
                    self.url(path),
                    data=data,
                    headers=self._headers(token, headers),
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                raise UnknownOutcome(
                    f"no answer to {method} ({type(exc).__name__}); it may or may not have been "
                    "stored: look it up before sending it again",
                    endpoint=endpoint,
                ) from None
            self.rate_limiter.update(response.headers)
            status = response.status_code
            log.debug("%s -> %s", endpoint, status)
            if 200 <= status < 300:
                return response
            if status == 429 and waits_429 < MAX_429_WAITS:
                # Refused by the rate limiter before Exact handled it: nothing was stored
                # (reference §2), so waiting for the reset and sending it again is no duplicate.
                waits_429 += 1
                self.rate_limiter.wait_after_429(response.headers)
                continue
            if status == 401 and not refreshed:
                token = self.auth.token_after_rejection(token)
                refreshed = True
                continue
            if status >= 500 and not (status == 500 and has_exact_error_envelope(response.content)):
                # A gateway error or a 5xx without Exact's error body says nothing about whether
                # the write happened.
                raise UnknownOutcome(
                    f"{method} failed with HTTP {status} and no business error; it may or may "
                    "not have been stored: look it up before sending it again",
                    status=status,
                    message=exact_error_message(response.content),
                    reason=response.headers.get("Reason"),
                    endpoint=endpoint,
                )
            raise self._error(response, endpoint)

    def _error(self, response: requests.Response, endpoint: str) -> ExactError:
        status = response.status_code
        message = exact_error_message(response.content) or response.reason or None
        reason = response.headers.get("Reason")
        kwargs: dict[str, Any] = {
            "status": status,
            "message": message,
            "reason": reason,
            "endpoint": endpoint,
        }
        if status == 400:
            return ExactBadRequest("Exact Online refused the request", **kwargs)
        if status == 401:
            return ExactAuthError("Exact Online refused the access token", **kwargs)
        if status == 403:
            return ExactForbidden(
                "Exact Online forbids this call (user rights, app scopes or division access)",
                **kwargs,
            )
        if status == 404:
            return ExactNotFound("Exact Online has no such entity or endpoint", **kwargs)
        if status == 429:
            reset = self.rate_limiter.state.minutely_reset
            return ExactRateLimited(
                "Exact Online's rate limit refused the call; nothing was stored",
                retry_at=reset,
                **kwargs,
            )
        if status == 500:
            return ExactValidationError("Exact Online refused the data", **kwargs)
        return ExactError("Exact Online call failed", **kwargs)

    def _backoff(self, failures: int, endpoint: str, what: str) -> None:
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (failures - 1))
        delay *= random.uniform(0.5, 1.0)
        log.warning("%s failed (%s); retry %d in %.1f s", endpoint, what, failures, delay)
        self._sleep(delay)

    def _checked_next(self, next_url: str, path: str) -> str:
        # The bearer token goes only to the configured host, whatever a response says.
        parts = urlsplit(next_url)
        if (parts.scheme, parts.netloc.lower()) != self._origin:
            raise ExactError(
                f"refusing to follow __next to another host ({parts.scheme}://{parts.netloc})",
                endpoint=f"GET {path}",
            )
        return next_url


def _data(document: Any, path: str) -> Any:
    if not isinstance(document, dict) or "d" not in document:
        raise ExactError("response has no OData 'd' envelope", endpoint=f"GET {path}")
    return document["d"]


def _collection(document: Any, path: str) -> tuple[list[dict[str, Any]], str | None]:
    data = _data(document, path)
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        next_url = data.get("__next")
        return data["results"], str(next_url) if next_url else None
    raise ExactError("response has no 'results' list", endpoint=f"GET {path}")
