"""OAuth2 of the Exact sandbox: consent redirect, single-use codes, rotation and its errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox


def _authorize(sandbox: ExactSandbox, redirect_uri: str | None = None) -> requests.Response:
    return requests.get(
        f"{sandbox.url}/api/oauth2/auth",
        params={
            "client_id": sandbox.client_id,
            "redirect_uri": redirect_uri or sandbox.redirect_uri,
            "response_type": "code",
            "state": "xyz",
        },
        allow_redirects=False,
        timeout=10,
    )


def _code(sandbox: ExactSandbox) -> str:
    response = _authorize(sandbox)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == sandbox.redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]  # parse_qs decodes %21 to '!'


def _token(sandbox: ExactSandbox, **form: str) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/api/oauth2/token",
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, **form},
        timeout=10,
    )


def _exchange(sandbox: ExactSandbox, code: str) -> requests.Response:
    return _token(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=sandbox.redirect_uri
    )


def _me(sandbox: ExactSandbox, access_token: str) -> requests.Response:
    return requests.get(
        f"{sandbox.url}/api/v1/current/Me",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=10,
    )


def test_code_exchange_gives_600_second_tokens_with_expires_in_as_string(
    exact_sandbox: ExactSandbox,
) -> None:
    code = _code(exact_sandbox)
    assert "!" in code
    response = _exchange(exact_sandbox, code)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "600"
    assert body["access_token"]
    assert body["refresh_token"]
    assert _me(exact_sandbox, body["access_token"]).status_code == 200


def test_code_works_once(exact_sandbox: ExactSandbox) -> None:
    code = _code(exact_sandbox)
    assert _exchange(exact_sandbox, code).status_code == 200
    again = _exchange(exact_sandbox, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_expires_after_about_three_minutes(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze()
    code = _code(exact_sandbox)
    exact_sandbox.advance(181)
    assert _exchange(exact_sandbox, code).status_code == 400


def test_redirect_uri_must_match_exactly(exact_sandbox: ExactSandbox) -> None:
    response = _authorize(exact_sandbox, exact_sandbox.redirect_uri + "/")
    assert response.status_code == 400
    code = _code(exact_sandbox)
    mismatch = _token(
        exact_sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=exact_sandbox.redirect_uri.upper(),
    )
    assert mismatch.status_code == 400


def test_wrong_client_secret_is_refused(exact_sandbox: ExactSandbox) -> None:
    response = requests.post(
        f"{exact_sandbox.url}/api/oauth2/token",
        data={
            "client_id": exact_sandbox.client_id,
            "client_secret": "wrong",
            "grant_type": "refresh_token",
            "refresh_token": exact_sandbox.mint_tokens()["refresh_token"],
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_refresh_before_570_seconds_is_too_early(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze()
    tokens = exact_sandbox.mint_tokens()
    exact_sandbox.advance(569)
    response = _token(
        exact_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert response.status_code == 400
    assert response.headers["Reason"] == "TooEarlyToRefreshTokens"
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    # The refused refresh token is not spent: once 570 s have passed it still works.
    exact_sandbox.advance(1)
    later = _token(exact_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert later.status_code == 200


def test_refresh_rotates_and_the_old_refresh_token_is_spent(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze()
    first = exact_sandbox.mint_tokens()
    exact_sandbox.advance(570)
    second = _token(exact_sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    exact_sandbox.advance(600)
    reused = _token(exact_sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {
        "error": "unauthorized_client",
        "error_description": "Old refresh token used.",
    }
    # The rotated one still works.
    third = _token(
        exact_sandbox, grant_type="refresh_token", refresh_token=rotated["refresh_token"]
    )
    assert third.status_code == 200


def test_access_token_expires_after_600_seconds_used_or_not(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze()
    tokens = exact_sandbox.mint_tokens()
    exact_sandbox.advance(599)
    assert _me(exact_sandbox, tokens["access_token"]).status_code == 200
    exact_sandbox.advance(1)
    expired = _me(exact_sandbox, tokens["access_token"])
    assert expired.status_code == 401
    assert "error" in expired.json()


def test_garbage_or_missing_bearer_is_401(exact_sandbox: ExactSandbox) -> None:
    assert _me(exact_sandbox, "not-a-token").status_code == 401
    response = requests.get(
        f"{exact_sandbox.api_url}/crm/Accounts",
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 401


def test_token_calls_are_limited_per_day(exact_sandbox_factory) -> None:
    sandbox = exact_sandbox_factory(token_calls_per_day=3)
    sandbox.freeze(1773136800)  # 2026-03-10T10:00:00Z, far from a UTC day boundary
    tokens = sandbox.mint_tokens()
    statuses = []
    for _ in range(4):
        sandbox.advance(570)
        response = _token(
            sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        statuses.append(response.status_code)
        if response.status_code == 200:
            tokens = response.json()
    assert statuses == [200, 200, 200, 400]
    sandbox.advance(86400)
    assert (
        _token(
            sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        ).status_code
        == 200
    )


def test_implicit_flow_returns_a_token_in_the_fragment(exact_sandbox: ExactSandbox) -> None:
    response = requests.get(
        f"{exact_sandbox.url}/api/oauth2/auth",
        params={
            "client_id": exact_sandbox.client_id,
            "redirect_uri": exact_sandbox.redirect_uri,
            "response_type": "token",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    fragment = parse_qs(urlsplit(response.headers["Location"]).fragment)
    assert fragment["expires_in"] == ["600"]
    assert _me(exact_sandbox, fragment["access_token"][0]).status_code == 200


def test_admin_mints_tokens_over_http(exact_sandbox: ExactSandbox) -> None:
    response = requests.post(
        f"{exact_sandbox.url}/_admin/exact/tokens", json={"age": 570}, timeout=10
    )
    assert response.status_code == 201
    tokens = response.json()
    # Back-dated by 570 s, so an immediate refresh is allowed.
    refreshed = _token(
        exact_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200


def test_a_refresh_token_unused_for_30_days_has_expired(exact_sandbox: ExactSandbox) -> None:
    exact_sandbox.freeze(at=1_665_523_100)  # 2022-10-11 21:18:20 UTC
    tokens = exact_sandbox.mint_tokens()
    exact_sandbox.advance(30 * 86400)
    on_the_day = _token(
        exact_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert on_the_day.status_code == 200  # 30 days to the second is still within the lifetime
    exact_sandbox.advance(30 * 86400 + 1)
    late = _token(
        exact_sandbox,
        grant_type="refresh_token",
        refresh_token=on_the_day.json()["refresh_token"],
    )
    assert late.status_code == 400
    assert late.json() == {
        "error": "invalid_request",
        "error_description": "The refresh token expired at 12/10/2022 9:18:20 PM and it is "
        "now 12/10/2022 9:18:21 PM.",
    }


def test_client_credentials_in_a_basic_header_are_accepted(exact_sandbox: ExactSandbox) -> None:
    code = _code(exact_sandbox)
    response = requests.post(
        f"{exact_sandbox.url}/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": exact_sandbox.redirect_uri,
        },
        auth=(exact_sandbox.client_id, exact_sandbox.client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    wrong = requests.post(
        f"{exact_sandbox.url}/api/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]},
        auth=(exact_sandbox.client_id, "wrong"),
        timeout=10,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_client"
