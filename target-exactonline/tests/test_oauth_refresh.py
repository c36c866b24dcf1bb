"""OAuth refresh rules against a mocked token endpoint (the sandbox tests cover the real flow)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests_mock
from target_exactonline.exact_client.errors import ExactAuthError, ReauthorizeRequired
from target_exactonline.exact_client.oauth import ExactOAuth, authorize_url
from target_exactonline.exact_client.testing import ManualClock
from target_exactonline.exact_client.token_store import SqlTokenStore, TokenSet

HOST = "https://start.exactonline.test"
TOKEN_URL = f"{HOST}/api/oauth2/token"
T0 = 1_800_000_000.0


class TokenServer:
    """Issues rotating tokens; answers a spent refresh token like Exact does."""

    def __init__(self, clock: ManualClock, expires_in: int = 600) -> None:
        self.clock = clock
        self.expires_in = expires_in
        self.n = 0
        self.valid_refresh = "refresh-0000-initial-token"
        self.forms: list[dict[str, str]] = []

    def __call__(self, request, context) -> str:  # type: ignore[no-untyped-def]
        form = {k: v[0] for k, v in parse_qs(request.text).items()}
        self.forms.append(form)
        if form["grant_type"] == "refresh_token" and form["refresh_token"] != self.valid_refresh:
            context.status_code = 401
            return json.dumps(
                {"error": "unauthorized_client", "error_description": "Old refresh token used."}
            )
        self.n += 1
        self.valid_refresh = f"refresh-{self.n:04d}-rotated-token"
        return json.dumps(
            {
                "access_token": f"access-{self.n:04d}-issued-token",
                "token_type": "bearer",
                "expires_in": str(self.expires_in),
                "refresh_token": self.valid_refresh,
            }
        )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlTokenStore]:
    s = SqlTokenStore(f"sqlite:///{tmp_path / 'tokens.sqlite'}")
    s.put(
        "acme",
        TokenSet("access-0000-initial-token", "refresh-0000-initial-token", T0 + 600, T0, 0),
    )
    yield s
    s.close()


@pytest.fixture
def server(clock: ManualClock) -> Iterator[tuple[TokenServer, requests_mock.Mocker]]:
    srv = TokenServer(clock)
    with requests_mock.Mocker() as mock:
        mock.post(TOKEN_URL, text=srv)
        yield srv, mock


def _oauth(store: SqlTokenStore, clock: ManualClock) -> ExactOAuth:
    return ExactOAuth(
        base_url=HOST,
        client_id="client-id-1",
        client_secret="client-secret-value-1",
        store=store,
        key="acme",
        clock=clock.now,
        sleep=clock.sleep,
    )


def test_no_refresh_while_more_than_30_s_are_left(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    oauth = _oauth(store, clock)
    for _ in range(57):
        assert oauth.access_token() == "access-0000-initial-token"
        clock.advance(10)
    assert clock.t == T0 + 570
    assert srv.forms == []
    # At 570 s exactly 30 s are left: refresh now, not earlier.
    assert oauth.access_token() == "access-0001-issued-token"
    assert [f["grant_type"] for f in srv.forms] == ["refresh_token"]
    assert srv.forms[0]["refresh_token"] == "refresh-0000-initial-token"
    stored = store.load("acme")
    assert stored is not None
    assert stored.refresh_token == "refresh-0001-rotated-token"
    assert stored.generation == 1
    assert stored.expires_at == T0 + 570 + 600


def test_an_hour_of_calls_refreshes_six_times_and_never_early(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    oauth = _oauth(store, clock)
    last_refresh = T0
    issued: list[float] = []
    step = 0
    while clock.t < T0 + 3600:
        step += 1
        oauth.access_token()
        if len(srv.forms) > len(issued):
            issued.append(clock.t)
            assert clock.t - last_refresh >= 570
            last_refresh = clock.t
        clock.advance(5 if step % 3 else 7)
    assert len(issued) == 6
    assert srv.forms
    assert all(f["grant_type"] == "refresh_token" for f in srv.forms)


def test_refresh_token_is_committed_before_the_access_token_is_used(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server

    class FailingCommit:
        """The store's lock works but the commit of the new tokens fails."""

        def __init__(self, inner: SqlTokenStore) -> None:
            self.inner = inner

        def load(self, key: str) -> TokenSet | None:
            return self.inner.load(key)

        def describe(self) -> str:
            return self.inner.describe()

        @contextlib.contextmanager
        def locked(self, key: str):  # type: ignore[no-untyped-def]
            with self.inner.locked(key) as slot:

                class Slot:
                    current = slot.current

                    def save(self, tokens: TokenSet) -> None:
                        raise OSError("disk full")

                yield Slot()

    oauth = ExactOAuth(
        base_url=HOST,
        client_id="client-id-1",
        client_secret="client-secret-value-1",
        store=FailingCommit(store),
        key="acme",
        clock=clock.now,
        sleep=clock.sleep,
    )
    clock.advance(580)
    with pytest.raises(OSError, match="disk full"):
        oauth.access_token()
    assert len(srv.forms) == 1
    # The new access token never left the client.
    assert oauth._cached is None or oauth._cached.access_token != "access-0001-issued-token"


def test_a_second_client_adopts_the_refresh_of_the_first(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    first, second = _oauth(store, clock), _oauth(store, clock)
    assert second.access_token() == "access-0000-initial-token"  # cached in memory
    clock.advance(580)
    assert first.access_token() == "access-0001-issued-token"
    # The second still holds the old tokens in memory; under the lock it finds the new ones.
    assert second.access_token() == "access-0001-issued-token"
    assert len(srv.forms) == 1
    assert (first.refreshes, second.refreshes, second.adopted) == (1, 0, 1)


def test_old_refresh_token_asks_for_a_new_consent(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    srv.valid_refresh = "refresh-spent-elsewhere"
    oauth = _oauth(store, clock)
    clock.advance(590)
    with pytest.raises(ReauthorizeRequired) as info:
        oauth.access_token()
    err = info.value
    assert err.status == 401
    assert "Old refresh token used" in (err.message or "")
    text = str(err)
    assert "target-exactonline authorize" in text
    assert "'acme'" in text
    assert "refresh-0000-initial-token" not in text
    assert "client-secret-value-1" not in text


def test_too_early_keeps_the_current_token(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    _srv, mock = server
    mock.post(
        TOKEN_URL,
        status_code=400,
        headers={"Reason": "TooEarlyToRefreshTokens"},
        json={"error": "access_denied", "error_description": "Rate limit exceeded"},
    )
    oauth = _oauth(store, clock)
    clock.advance(575)
    assert oauth.access_token() == "access-0000-initial-token"
    stored = store.load("acme")
    assert stored is not None
    assert stored.generation == 0
    clock.advance(30)  # now expired, and Exact still says too early
    with pytest.raises(ExactAuthError, match="too early") as info:
        oauth.access_token()
    assert info.value.reason == "TooEarlyToRefreshTokens"
    assert not isinstance(info.value, ReauthorizeRequired)


def test_a_short_lived_token_waits_until_refreshing_is_allowed(tmp_path, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    store = SqlTokenStore(f"sqlite:///{tmp_path / 't.sqlite'}")
    store.put("acme", TokenSet("access-short-lived-1", "refresh-0000-initial-token", T0 + 300, T0))
    oauth = _oauth(store, clock)
    clock.advance(280)
    assert oauth.access_token() == "access-short-lived-1"  # 20 s left, but too early to refresh
    assert srv.forms == []
    clock.advance(30)  # expired at 300 s: wait until 570 s, then refresh
    assert oauth.access_token() == "access-0001-issued-token"
    assert clock.t == T0 + 570
    store.close()


def test_rejected_token_refreshes_once_or_says_why(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    oauth = _oauth(store, clock)
    token = oauth.access_token()
    clock.advance(100)
    with pytest.raises(ExactAuthError, match="issued 100 s ago"):
        oauth.token_after_rejection(token)
    assert srv.forms == []
    clock.advance(480)
    assert oauth.token_after_rejection(token) == "access-0001-issued-token"
    # A rejection of a token that was already replaced needs no new refresh.
    assert oauth.token_after_rejection(token) == "access-0001-issued-token"
    assert len(srv.forms) == 1


def test_missing_tokens_ask_for_authorize(tmp_path, clock, server) -> None:  # type: ignore[no-untyped-def]
    empty = SqlTokenStore(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(ReauthorizeRequired, match="no Exact Online tokens are stored for 'acme'"):
        _oauth(empty, clock).access_token()
    empty.close()


def test_token_endpoint_outage_is_retried(store, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, mock = server
    mock.post(TOKEN_URL, [{"status_code": 503, "text": "busy"}, {"text": srv}])
    oauth = _oauth(store, clock)
    clock.advance(590)
    assert oauth.access_token() == "access-0001-issued-token"
    assert oauth.token_calls == 2


def test_exchange_code_stores_tokens(tmp_path, clock, server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    fresh = SqlTokenStore(f"sqlite:///{tmp_path / 'new.sqlite'}")
    oauth = ExactOAuth(
        base_url=HOST,
        client_id="client-id-1",
        client_secret="client-secret-value-1",
        store=fresh,
        key="shop",
        clock=clock.now,
        sleep=clock.sleep,
    )
    tokens = oauth.exchange_code("code!with-bang-123", "http://localhost:8765/cb")
    assert srv.forms[0] == {
        "code": "code!with-bang-123",
        "redirect_uri": "http://localhost:8765/cb",
        "grant_type": "authorization_code",
        "client_id": "client-id-1",
        "client_secret": "client-secret-value-1",
    }
    assert fresh.load("shop") == tokens
    assert tokens.expires_at == T0 + 600
    fresh.close()


def test_authorize_url() -> None:
    url = authorize_url(HOST, "cid", "http://localhost:8765/cb?x=1", "st4te")
    assert url.startswith(f"{HOST}/api/oauth2/auth?")
    query = parse_qs(url.split("?", 1)[1])
    assert query == {
        "client_id": ["cid"],
        "redirect_uri": ["http://localhost:8765/cb?x=1"],
        "response_type": ["code"],
        "force_login": ["0"],
        "state": ["st4te"],
    }


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"error": "invalid_grant", "error_description": "expired"}, ReauthorizeRequired),
        (
            {
                "error": "invalid_request",
                "error_description": "The refresh token expired at 10/11/2022 9:18:20 PM and "
                "it is now 10/28/2022 4:15:50 PM.",
            },
            ReauthorizeRequired,
        ),
        ({"error": "access_denied", "error_description": "token calls"}, ExactAuthError),
        ({"error": "invalid_client", "error_description": "wrong secret"}, ExactAuthError),
    ],
)
def test_refusals_tell_a_dead_grant_from_other_problems(store, clock, server, body, kind) -> None:  # type: ignore[no-untyped-def]
    _, mock = server
    mock.post(TOKEN_URL, status_code=400, json=body)
    clock.advance(590)
    with pytest.raises(ExactAuthError) as info:
        _oauth(store, clock).access_token()
    assert type(info.value) is kind
