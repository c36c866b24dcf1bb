"""OAuth2 for Exact Online: authorization code, rotating refresh tokens, a shared token store.

Rules (reference §1):
- access tokens live 600 s; refresh when fewer than 30 s are left, never before 570 s since issue;
- every refresh rotates the refresh token and the old one is refused ("Old refresh token used"),
  so a refresh happens only inside the store's lock, after re-reading the stored tokens, and the
  new tokens are committed before the new access token is handed out;
- ``400`` with ``Reason: TooEarlyToRefreshTokens``: keep using the current token while it is valid.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests

from target_exactonline.exact_client.errors import (
    ExactAuthError,
    ReauthorizeRequired,
    exact_error_message,
)
from target_exactonline.exact_client.odata import parse_json
from target_exactonline.exact_client.redaction import get_logger, register_secret
from target_exactonline.exact_client.token_store import TokenSet, TokenStore

log = get_logger(__name__)

AUTH_PATH = "/api/oauth2/auth"
TOKEN_PATH = "/api/oauth2/token"  # noqa: S105 - a URL path

REFRESH_MARGIN_S = 30.0
MIN_REFRESH_AGE_S = 570.0
TOO_EARLY_REASON = "TooEarlyToRefreshTokens"
# A refresh that failed in transit may or may not have rotated the token; trying again is the only
# way to find out, and costs at most a re-authorization that was needed anyway.
TOKEN_REQUEST_ATTEMPTS = 3


# OAuth error codes (protocol values, not localised texts) that mean the grant itself is dead.
# Exact answers a refresh token past its lifetime with 400 invalid_request "The refresh token
# expired at ..." (websmurf/laravel-exact-online issues #22, #23); a refresh request this client
# builds is otherwise well-formed, so on the refresh grant that code means the token is dead.
UNUSABLE_GRANT_ERRORS = frozenset({"unauthorized_client", "invalid_grant", "invalid_request"})


def _oauth_error_code(response: requests.Response) -> str | None:
    try:
        body = parse_json(response.content)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def authorize_url(
    base_url: str, client_id: str, redirect_uri: str, state: str, *, force_login: bool = False
) -> str:
    """The browser URL where a user gives the first consent."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "force_login": "1" if force_login else "0",
            "state": state,
        }
    )
    return f"{base_url.rstrip('/')}{AUTH_PATH}?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


class ExactOAuth:
    """Valid access tokens for one connection (a ``key`` in a :class:`TokenStore`).

    Use :meth:`access_token` before each call; after a 401 call :meth:`token_after_rejection`.
    It is also a ``requests`` auth callable (``session.auth = oauth``).
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        key: str,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        reauthorize_hint: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        register_secret(client_secret)
        self.store = store
        self.key = key
        self._session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._timeout = timeout
        self._cached: TokenSet | None = None
        self._request_started = 0.0
        self._hint = reauthorize_hint or (
            f"run `target-exactonline authorize --config <config>` for token store key {key!r}"
        )
        # What this process did, for logs and tests: token requests sent, refreshes it did
        # itself, and refreshes it found already done by another process under the lock.
        self.token_calls = 0
        self.refreshes = 0
        self.adopted = 0

    def __repr__(self) -> str:
        return f"ExactOAuth(base_url={self.base_url!r}, key={self.key!r})"

    # -- requests auth ------------------------------------------------------------------------

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    # -- tokens -------------------------------------------------------------------------------

    def access_token(self) -> str:
        """An access token valid for more than 30 s (or the current one while it may not be
        refreshed yet), refreshing under the lock when needed."""
        tokens = self._cached or self._load()
        now = self._clock()
        if tokens.seconds_left(now) > REFRESH_MARGIN_S:
            self._cached = tokens
            return tokens.access_token
        return self._refresh(seen=tokens, rejected=False).access_token

    def token_after_rejection(self, rejected_access_token: str) -> str:
        """A token to retry with after Exact answered 401 to ``rejected_access_token``."""
        seen = self._cached or self._load()
        if seen.access_token != rejected_access_token:
            return seen.access_token
        return self._refresh(seen=seen, rejected=True).access_token

    def _load(self) -> TokenSet:
        tokens = self.store.load(self.key)
        if tokens is None:
            raise ReauthorizeRequired(
                f"no Exact Online tokens are stored for {self.key!r} in "
                f"{self.store.describe()}; {self._hint}"
            )
        return tokens

    def _refresh(self, *, seen: TokenSet, rejected: bool) -> TokenSet:
        with self.store.locked(self.key) as slot:
            current = slot.current
            if current is None:
                raise ReauthorizeRequired(
                    f"the Exact Online tokens for {self.key!r} were removed from "
                    f"{self.store.describe()}; {self._hint}"
                )
            now = self._clock()
            changed = (
                current.generation != seen.generation or current.access_token != seen.access_token
            )
            if changed and current.seconds_left(now) > REFRESH_MARGIN_S:
                # Another process refreshed since we looked: use its tokens.
                self.adopted += 1
                self._cached = current
                return current
            age = current.age(now)
            if age < MIN_REFRESH_AGE_S:
                if not rejected and current.seconds_left(now) > 0:
                    # Too early to refresh and still valid: keep using it.
                    self._cached = current
                    return current
                if rejected:
                    raise ExactAuthError(
                        f"Exact Online refused an access token issued {age:.0f} s ago, and a new "
                        f"one may only be requested after {MIN_REFRESH_AGE_S:.0f} s",
                        status=401,
                        endpoint="API call",
                    )
                # A token that expires before it may be refreshed: wait until refreshing is allowed.
                self._sleep(MIN_REFRESH_AGE_S - age)
            new = self._request_refresh(current)
            if new is None:
                self._cached = current
                return current
            slot.save(new)
        # Committed: only now does the new access token leave this method.
        self.refreshes += 1
        self._cached = new
        log.info("refreshed the Exact Online access token for %r", self.key)
        return new

    def _request_refresh(self, current: TokenSet) -> TokenSet | None:
        """POST the refresh grant. None means "too early, keep the current token"."""
        form = {
            "refresh_token": current.refresh_token,
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        response = self._token_request(form, "refresh")
        if response.status_code == 200:
            return self._parse_tokens(response, generation=current.generation + 1)
        reason = response.headers.get("Reason")
        message = exact_error_message(response.content) or response.reason
        if reason == TOO_EARLY_REASON:
            if current.seconds_left(self._clock()) > 0:
                log.warning("Exact Online said it is too early to refresh; using the current token")
                return None
            raise ExactAuthError(
                "Exact Online refused to refresh the token as too early, and the current one "
                "has expired",
                status=response.status_code,
                message=message,
                reason=reason,
                endpoint=f"POST {TOKEN_PATH}",
            )
        if response.status_code == 401 or _oauth_error_code(response) in UNUSABLE_GRANT_ERRORS:
            # "Old refresh token used" (401 unauthorized_client), an expired refresh token
            # (400 invalid_request) or a revoked one (invalid_grant): nothing is left to refresh
            # with.
            raise ReauthorizeRequired(
                f"Exact Online no longer accepts the stored refresh token for {self.key!r} "
                f"({message}). A new consent is needed: {self._hint}",
                status=response.status_code,
                message=message,
                reason=reason,
                endpoint=f"POST {TOKEN_PATH}",
            )
        raise ExactAuthError(
            "the Exact Online token endpoint refused the refresh (check client_id and "
            "client_secret; Exact also allows only 200 token requests a day)",
            status=response.status_code,
            message=message,
            reason=reason,
            endpoint=f"POST {TOKEN_PATH}",
        )

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Trade an authorization code (already URL-decoded) for tokens and store them."""
        register_secret(code)
        form = {
            "code": code,
            "redirect_uri": redirect_uri,
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        response = self._token_request(form, "authorization code")
        if response.status_code != 200:
            raise ExactAuthError(
                "Exact Online refused the authorization code (codes work once and for about "
                "three minutes, and redirect_uri must match the registered one exactly)",
                status=response.status_code,
                message=exact_error_message(response.content) or response.reason,
                reason=response.headers.get("Reason"),
                endpoint=f"POST {TOKEN_PATH}",
            )
        with self.store.locked(self.key) as slot:
            previous = slot.current
            tokens = self._parse_tokens(
                response, generation=previous.generation + 1 if previous else 0
            )
            slot.save(tokens)
        self._cached = tokens
        return tokens

    def _token_request(self, form: dict[str, str], what: str) -> requests.Response:
        url = f"{self.base_url}{TOKEN_PATH}"
        delay = 1.0
        for attempt in range(1, TOKEN_REQUEST_ATTEMPTS + 1):
            self._request_started = self._clock()
            self.token_calls += 1
            try:
                response = self._session.post(
                    url,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=self._timeout,
                )
            except requests.RequestException as exc:
                if attempt == TOKEN_REQUEST_ATTEMPTS:
                    raise ExactAuthError(
                        f"the Exact Online token endpoint could not be reached ({what}): "
                        f"{type(exc).__name__}",
                        endpoint=f"POST {TOKEN_PATH}",
                    ) from None
                log.warning("token request (%s) failed: %s; retrying", what, type(exc).__name__)
                self._sleep(delay)
                delay *= 2
                continue
            status = response.status_code
            if (status >= 500 or status == 429) and attempt < TOKEN_REQUEST_ATTEMPTS:
                log.warning("token request (%s) got HTTP %s; retrying", what, status)
                self._sleep(delay if status >= 500 else 60.0)
                delay *= 2
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse_tokens(self, response: requests.Response, *, generation: int) -> TokenSet:
        arrived = self._clock()
        try:
            body: dict[str, Any] = parse_json(response.content)
            access = str(body["access_token"])
            refresh = str(body["refresh_token"])
            # Exact sends expires_in as a string ("600").
            expires_in = int(Decimal(str(body.get("expires_in", "600"))))
            token_type = str(body.get("token_type", "bearer"))
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise ExactAuthError(
                f"the Exact Online token response is not understood ({type(exc).__name__})",
                status=response.status_code,
                endpoint=f"POST {TOKEN_PATH}",
            ) from None
        register_secret(access)
        register_secret(refresh)
        if token_type.lower() != "bearer":
            raise ExactAuthError(
                f"Exact Online issued a {token_type!r} token; only bearer tokens are supported",
                endpoint=f"POST {TOKEN_PATH}",
            )
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=self._request_started + expires_in,
            issued_at=arrived,
            generation=generation,
        )
