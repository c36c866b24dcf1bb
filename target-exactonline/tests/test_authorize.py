"""`target-exactonline authorize`: the redirect checks, paste and listen modes, and the CLI."""

from __future__ import annotations

import io
import json
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import requests_mock
from target_exactonline import cli
from target_exactonline.exact_client.authorize import (
    AuthorizeError,
    code_from_redirect,
    load_config,
    run,
)
from target_exactonline.exact_client.token_store import SqlTokenStore

HOST = "https://start.exactonline.test"


def test_code_from_redirect_checks_state_and_decodes_once() -> None:
    url = "http://localhost:8765/cb?code=stamp%21abc%2521&state=s1"
    assert code_from_redirect(url, "s1") == "stamp!abc%21"
    assert code_from_redirect("?code=x%21y&state=s1", "s1") == "x!y"
    with pytest.raises(AuthorizeError, match="state differs"):
        code_from_redirect(url, "other")
    with pytest.raises(AuthorizeError, match="no code"):
        code_from_redirect("http://localhost/cb?state=s1", "s1")
    with pytest.raises(AuthorizeError, match="did not grant access"):
        code_from_redirect("http://localhost/cb?error=access_denied&state=s1", "s1")
    with pytest.raises(AuthorizeError, match="no redirect"):
        code_from_redirect("  \n", "s1")


def test_load_config_merges_files_and_env(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"client_id": "a", "division": 1}))
    config = load_config(
        [str(first), "ENV"],
        {"TARGET_EXACTONLINE_CLIENT_SECRET": "from-env-secret", "OTHER": "x"},
    )
    assert config == {"client_id": "a", "division": 1, "client_secret": "from-env-secret"}


def _config(tmp_path: Path, redirect_uri: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "exact_base_url": HOST,
                "client_id": "client-1",
                "client_secret": "client-secret-for-tests",
                "redirect_uri": redirect_uri,
                "store_url": f"sqlite:///{tmp_path / 'tokens.sqlite'}",
                "store_key": "acme",
            }
        )
    )
    return path


def _token_response(request, context) -> str:  # type: ignore[no-untyped-def]
    form = parse_qs(request.text)
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["stampN!the-code"]
    return json.dumps(
        {
            "access_token": "AAEAA-fresh-access-token",
            "token_type": "bearer",
            "expires_in": "600",
            "refresh_token": "Gcp7!IAAAA-fresh-refresh-token",
        }
    )


class PastingUser(io.StringIO):
    """Reads the printed URL and pastes the redirect Exact would send back."""

    def __init__(self, stdout: io.StringIO, *, state: str | None = None) -> None:
        super().__init__()
        self.stdout = stdout
        self.state = state

    def readline(self, size: int | None = -1) -> str:
        printed = self.stdout.getvalue()
        url = next(w for w in printed.split() if w.startswith("http"))
        query = parse_qs(urlsplit(url).query)
        state = self.state or query["state"][0]
        redirect = query["redirect_uri"][0]
        return f"{redirect}?{urlencode({'code': 'stampN!the-code', 'state': state})}\n"


def test_paste_mode_stores_tokens(tmp_path: Path) -> None:
    config = _config(tmp_path, "https://app.example/exact/callback")
    out, err = io.StringIO(), io.StringIO()
    with requests_mock.Mocker() as mock:
        mock.post(f"{HOST}/api/oauth2/token", text=_token_response)
        status = run(
            ["--config", str(config), "--paste"],
            stdin=PastingUser(out),
            stdout=out,
            stderr=err,
            environ={},
        )
    assert status == 0, err.getvalue()
    printed = out.getvalue()
    assert f"{HOST}/api/oauth2/auth?client_id=client-1" in printed
    assert "response_type=code" in printed
    assert "force_login=0" in printed
    store = SqlTokenStore(f"sqlite:///{tmp_path / 'tokens.sqlite'}")
    tokens = store.load("acme")
    store.close()
    assert tokens is not None
    assert tokens.refresh_token == "Gcp7!IAAAA-fresh-refresh-token"
    everything = out.getvalue() + err.getvalue()
    for secret in ["client-secret-for-tests", "stampN!the-code", "fresh-refresh-token"]:
        assert secret not in everything


def test_paste_mode_refuses_a_foreign_state(tmp_path: Path) -> None:
    config = _config(tmp_path, "https://app.example/exact/callback")
    out, err = io.StringIO(), io.StringIO()
    with requests_mock.Mocker() as mock:
        token = mock.post(f"{HOST}/api/oauth2/token", text=_token_response)
        status = run(
            ["--config", str(config), "--paste"],
            stdin=PastingUser(out, state="forged"),
            stdout=out,
            stderr=err,
            environ={},
        )
    assert status == 1
    assert "state differs" in err.getvalue()
    assert token.call_count == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listen_mode_takes_the_browser_redirect(tmp_path: Path) -> None:
    port = _free_port()
    config = _config(tmp_path, f"http://127.0.0.1:{port}/callback")
    out, err = io.StringIO(), io.StringIO()
    answers: list[int] = []

    def browser(url: str) -> None:
        # The consent page redirects straight back to the listener (run in the background,
        # because the command serves the redirect in its own thread after opening the browser).
        query = parse_qs(urlsplit(url).query)
        target = f"{query['redirect_uri'][0]}?" + urlencode(
            {"code": "stampN!the-code", "state": query["state"][0]}
        )

        def visit() -> None:
            requests.get(f"{query['redirect_uri'][0]}/../favicon.ico", timeout=10)
            answers.append(requests.get(target, timeout=10).status_code)

        threading.Thread(target=visit, daemon=True).start()

    with requests_mock.Mocker(real_http=True) as mock:
        mock.post(f"{HOST}/api/oauth2/token", text=_token_response)
        status = run(
            ["--config", str(config), "--listen", "--open-browser", "--timeout", "30"],
            stdout=out,
            stderr=err,
            environ={},
            open_browser=browser,
        )
    assert status == 0, err.getvalue()
    assert answers == [200]
    store = SqlTokenStore(f"sqlite:///{tmp_path / 'tokens.sqlite'}")
    assert store.load("acme") is not None
    store.close()


def test_listen_mode_needs_a_local_redirect(tmp_path: Path) -> None:
    config = _config(tmp_path, "https://app.example/exact/callback")
    err = io.StringIO()
    status = run(
        ["--config", str(config), "--listen"], stdout=io.StringIO(), stderr=err, environ={}
    )
    assert status == 1
    assert "use --paste" in err.getvalue()


def test_missing_settings_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"client_id": "x", "client_secret": "y-secret-value"}))
    err = io.StringIO()
    assert run(["--config", str(path)], stdout=io.StringIO(), stderr=err, environ={}) == 2
    assert "redirect_uri" in err.getvalue()
    assert "y-secret-value" not in err.getvalue()


def test_cli_dispatches_authorize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"client_id": "x"}))
    with pytest.raises(SystemExit) as info:
        cli.main(["authorize", "--config", str(path)])
    assert info.value.code == 2
    assert "client_secret" in capsys.readouterr().err
