"""`target-exactonline authorize` end to end against the Exact sandbox."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import requests
from pay_exact_sandbox.exact.config import OAuthClient
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from target_exactonline.exact_client import ExactClient, ExactOAuth, SqlTokenStore
from target_exactonline.exact_client.authorize import run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sandbox(factory: Callable[..., ExactSandbox], redirect_uri: str) -> ExactSandbox:
    client = OAuthClient(
        client_id="11111111-2222-4333-8444-555555555555",
        client_secret="sandbox-authorize-secret",
        redirect_uris=(redirect_uri,),
    )
    return factory(clients=(client,))


def _config(tmp_path: Path, sandbox: ExactSandbox) -> Path:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "exact_base_url": sandbox.url,
                "client_id": sandbox.client_id,
                "client_secret": sandbox.client_secret,
                "redirect_uri": sandbox.redirect_uri,
                "division": sandbox.division,
                "store_url": f"sqlite:///{tmp_path / 'state.sqlite'}",
                "store_key": "bakery",
            }
        )
    )
    return path


def _stored_client(tmp_path: Path, sandbox: ExactSandbox) -> ExactClient:
    store = SqlTokenStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    oauth = ExactOAuth(
        base_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        store=store,
        key="bakery",
        clock=sandbox.admin.clock.now,
    )
    return ExactClient(sandbox.url, sandbox.division, auth=oauth, clock=sandbox.admin.clock.now)


def test_listen_mode_against_the_sandbox(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    sandbox = _sandbox(exact_sandbox_factory, f"http://127.0.0.1:{_free_port()}/exact/callback")
    config = _config(tmp_path, sandbox)
    landed: list[int] = []

    def browser(url: str) -> None:
        # The user signs in; Exact redirects the browser to the listener.
        threading.Thread(
            target=lambda: landed.append(requests.get(url, timeout=30).status_code), daemon=True
        ).start()

    out, err = io.StringIO(), io.StringIO()
    status = run(
        ["--config", str(config), "--listen", "--open-browser", "--timeout", "60"],
        stdout=out,
        stderr=err,
        environ={},
        open_browser=browser,
    )
    assert status == 0, err.getvalue()
    assert landed == [200]
    assert f"division {sandbox.division} is readable" in err.getvalue()
    token_calls = [(e.method, e.status) for e in sandbox.requests("/api/oauth2/token")]
    assert token_calls == [("POST", 200)]
    # A later run finds the tokens and works.
    client = _stored_client(tmp_path, sandbox)
    assert client.me()["CurrentDivision"] == sandbox.division
    for secret in [sandbox.client_secret, "stampN!"]:
        assert secret not in out.getvalue() + err.getvalue()


class _PastingUser(io.StringIO):
    """Follows the printed URL without a browser and pastes where Exact redirected to."""

    def __init__(self, stdout: io.StringIO, before_paste: Callable[[], None] = lambda: None):
        super().__init__()
        self.stdout = stdout
        self.before_paste = before_paste

    def readline(self, size: int | None = -1) -> str:
        url = next(w for w in self.stdout.getvalue().split() if w.startswith("http"))
        answer = requests.get(url, allow_redirects=False, timeout=30)
        assert answer.status_code == 302
        self.before_paste()
        return answer.headers["Location"] + "\n"


def test_paste_mode_against_the_sandbox(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    sandbox = _sandbox(exact_sandbox_factory, "https://app.example/exact/callback")
    config = _config(tmp_path, sandbox)
    out, err = io.StringIO(), io.StringIO()
    status = run(
        ["--config", str(config), "--paste"],
        stdin=_PastingUser(out),
        stdout=out,
        stderr=err,
        environ={},
    )
    assert status == 0, err.getvalue()
    assert _stored_client(tmp_path, sandbox).me()["UserID"]


def test_an_expired_code_is_explained(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path
) -> None:
    sandbox = _sandbox(exact_sandbox_factory, "https://app.example/exact/callback")
    config = _config(tmp_path, sandbox)
    out, err = io.StringIO(), io.StringIO()
    user = _PastingUser(out, before_paste=lambda: sandbox.advance(240))
    status = run(
        ["--config", str(config), "--paste"], stdin=user, stdout=out, stderr=err, environ={}
    )
    assert status == 1
    assert "three minutes" in err.getvalue()
    assert "HTTP 400" in err.getvalue()
