"""OAuth2 as Exact runs it: single-use codes, 600 s access tokens, rotating refresh tokens.

Facts from the reference §1 [C]: the code lasts about 3 minutes and works once; the redirect URI
must match character for character; ``expires_in`` is the string ``"600"``; every refresh returns
a new refresh token and a spent one gives 401 "Old refresh token used."; a refresh within 570 s of
the last issue gives 400 with ``Reason: TooEarlyToRefreshTokens``; 200 token calls a day; a refresh
token unused for 30 days is refused with 400 ``invalid_request`` "The refresh token expired at ...".
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import ExactConfig, OAuthClient

DAY = 86400


@dataclass
class Connection:
    """One consent: a user's grant to a client, holding the current token pair."""

    client_id: str
    issued_at: float
    access_token: str
    refresh_token: str
    spent_refresh_tokens: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TokenError(Exception):
    status: int
    error: str
    description: str
    reason: str | None = None

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    issued_at: float


@dataclass
class _Access:
    connection: Connection
    expires_at: float


def _us_time(epoch: float) -> str:
    """``10/11/2022 9:18:20 PM``: the .NET en-US form the field's answers show."""
    moment = datetime.fromtimestamp(epoch, UTC)
    clock = moment.strftime("%I:%M:%S %p").lstrip("0")
    return f"{moment.month}/{moment.day}/{moment.year} {clock}"


class OAuthServer:
    def __init__(self, config: ExactConfig, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, Connection] = {}
        self._spent: dict[str, Connection] = {}
        self._token_calls: dict[tuple[str, int], int] = {}
        # Told every code and token this server hands out: a multi-customer server routes a
        # request to the division whose user holds the credential it presents.
        self.on_issue: Callable[[str], None] | None = None

    # -- authorize -----------------------------------------------------------------------------
    def authorize(self, client_id: str | None, redirect_uri: str | None) -> str:
        """Consent is granted at once in the sandbox; returns the code for the redirect."""
        client = self.config.client(client_id)
        if client is None:
            raise TokenError(400, "invalid_client", "Unknown client_id.")
        if redirect_uri not in client.redirect_uris:
            raise TokenError(
                400, "invalid_request", "redirect_uri does not match the registration."
            )
        # Real codes contain '!' (sent URL-encoded as %21), so clients must decode them [C].
        code = "stampN!" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(client.client_id, redirect_uri, self._now())
        self._announce(code)
        return code

    # -- token endpoint ------------------------------------------------------------------------
    def token(self, form: dict[str, str]) -> dict[str, str]:
        client = self._client(form)
        with self._lock:
            self._count_call(client)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                connection = self._redeem_code(client, form)
            elif grant == "refresh_token":
                connection = self._refresh_connection(client, form.get("refresh_token") or "")
            else:
                raise TokenError(400, "unsupported_grant_type", "Unsupported grant_type.")
            return self._response(connection)

    def _client(self, form: dict[str, str]) -> OAuthClient:
        client = self.config.client(form.get("client_id"))
        if client is None or not secrets.compare_digest(
            client.client_secret, form.get("client_secret") or ""
        ):
            raise TokenError(400, "invalid_client", "Unknown client or wrong secret.")
        return client

    def _count_call(self, client: OAuthClient) -> None:
        day = int(self._now() // DAY)
        key = (client.client_id, day)
        calls = self._token_calls.get(key, 0) + 1
        self._token_calls[key] = calls
        if calls > self.config.token_calls_per_day:
            # 200 token calls per key per user per day [C]; the answer's wording is [I].
            raise TokenError(400, "access_denied", "Rate limit exceeded: token calls per day")

    def _redeem_code(self, client: OAuthClient, form: dict[str, str]) -> Connection:
        code = self._codes.pop(form.get("code") or "", None)  # a code works once [C]
        if code is None or code.client_id != client.client_id:
            raise TokenError(400, "invalid_grant", "The authorization code is invalid.")
        if self._now() - code.issued_at > self.config.code_seconds:
            raise TokenError(400, "invalid_grant", "The authorization code has expired.")
        if form.get("redirect_uri") != code.redirect_uri:
            raise TokenError(400, "invalid_grant", "redirect_uri does not match.")
        return self._new_connection(client.client_id)

    def _new_connection(self, client_id: str, *, issued_at: float | None = None) -> Connection:
        connection = Connection(
            client_id=client_id,
            issued_at=self._now() if issued_at is None else issued_at,
            access_token="",
            refresh_token="",
        )
        self._issue(connection)
        return connection

    def _issue(self, connection: Connection) -> None:
        connection.access_token = "AAEAA" + secrets.token_urlsafe(48)
        connection.refresh_token = "Gcp7!IAAAA" + secrets.token_urlsafe(40)
        self._access[connection.access_token] = _Access(
            connection, connection.issued_at + self.config.access_token_seconds
        )
        self._refresh[connection.refresh_token] = connection
        self._announce(connection.access_token)
        self._announce(connection.refresh_token)

    def _announce(self, credential: str) -> None:
        if self.on_issue is not None:
            self.on_issue(credential)

    def _refresh_connection(self, client: OAuthClient, token: str) -> Connection:
        if token in self._spent:
            raise TokenError(401, "unauthorized_client", "Old refresh token used.")  # [C]
        connection = self._refresh.get(token)
        if connection is None or connection.client_id != client.client_id:
            raise TokenError(400, "invalid_grant", "The refresh token is invalid.")
        now = self._now()
        expires_at = connection.issued_at + self.config.refresh_token_days * DAY
        if now > expires_at:
            # As the field answers it (websmurf/laravel-exact-online issues #22, #23): 400
            # invalid_request, with both moments in US notation, UTC [I: the zone].
            raise TokenError(
                400,
                "invalid_request",
                f"The refresh token expired at {_us_time(expires_at)} and it is now "
                f"{_us_time(now)}.",
            )
        if now - connection.issued_at < self.config.min_refresh_seconds:
            raise TokenError(
                400,
                "access_denied",
                "Rate limit exceeded: access_token not expired",
                reason="TooEarlyToRefreshTokens",
            )
        # Rotation: the presented token is spent for good [C]. (Invantive's report that it
        # stays usable for a while is not modelled [I].)
        del self._refresh[token]
        self._spent[token] = connection
        connection.spent_refresh_tokens.add(token)
        connection.issued_at = now
        self._issue(connection)
        return connection

    def _response(self, connection: Connection) -> dict[str, str]:
        return {
            "access_token": connection.access_token,
            "token_type": "bearer",
            "expires_in": str(self.config.access_token_seconds),  # a string [C]
            "refresh_token": connection.refresh_token,
        }

    # -- resource access -----------------------------------------------------------------------
    def check_bearer(self, header: str | None) -> tuple[Connection | None, str | None]:
        """(connection, None) when valid; (connection or None, problem) otherwise."""
        if not header or not header.lower().startswith("bearer "):
            return None, "missing"
        token = header[7:].strip()
        with self._lock:
            access = self._access.get(token)
        if access is None:
            return None, "unknown"
        if self._now() >= access.expires_at:
            return access.connection, "expired"  # a fixed lifetime, used or not [C]
        return access.connection, None

    def mint(self, client_id: str | None = None, *, age: float = 0) -> dict[str, str]:
        """A token pair without the browser step (``age`` back-dates its issue)."""
        client = self.config.client(client_id) if client_id else self.config.clients[0]
        if client is None:
            raise TokenError(400, "invalid_client", "Unknown client_id.")
        with self._lock:
            connection = self._new_connection(client.client_id, issued_at=self._now() - age)
            return self._response(connection)
