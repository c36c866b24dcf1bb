"""``target-exactonline authorize``: a user's first consent for one customer's connection.

1. Prints the authorize URL (with a random ``state``).
2. Takes the redirect: ``--listen`` waits for the browser on the redirect URI's localhost port,
   ``--paste`` reads the URL the browser ended on from stdin.
3. Checks ``state``, takes the (URL-decoded) code, exchanges it within its ~3 minutes, and
   stores the tokens under the connection key, where every later run finds them.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from target_exactonline.exact_client.client import ExactClient
from target_exactonline.exact_client.errors import ExactError
from target_exactonline.exact_client.oauth import authorize_url, new_state
from target_exactonline.exact_client.redaction import get_logger, redact, register_secret
from target_exactonline.exact_client.settings import ExactSettings, SettingsError

log = get_logger(__name__)

ENV_PREFIX = "TARGET_EXACTONLINE_"
DEFAULT_LISTEN_TIMEOUT_S = 300.0


class AuthorizeError(Exception):
    """The consent did not complete; the text says what to do."""


# -- config ---------------------------------------------------------------------------------


def load_config(sources: list[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge JSON config files in order; ``ENV`` reads ``TARGET_EXACTONLINE_*`` variables."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for source in sources:
        if source == "ENV":
            for name, value in env.items():
                if name.startswith(ENV_PREFIX) and value:
                    config[name[len(ENV_PREFIX) :].lower()] = value
            continue
        path = Path(source)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"cannot read config file {source}: {exc.strerror}") from None
        except ValueError as exc:
            raise SettingsError(f"config file {source} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise SettingsError(f"config file {source} must hold a JSON object")
        config.update(loaded)
    return config


# -- the redirect ---------------------------------------------------------------------------


def code_from_redirect(redirect: str, expected_state: str) -> str:
    """The authorization code from the redirect URL (or its query string), after the checks."""
    text = redirect.strip()
    if not text:
        raise AuthorizeError("no redirect URL was given")
    query = urlsplit(text).query if "?" in text or "://" in text else text.lstrip("?")
    params = parse_qs(query, keep_blank_values=True)
    # parse_qs URL-decodes once, which is what Exact needs ("%21" in the URL is "!" in the code).
    code = (params.get("code") or [""])[0]
    if code:
        register_secret(code)
    error = (params.get("error") or [""])[0]
    if error:
        description = (params.get("error_description") or [""])[0]
        detail = f"{error}: {description}" if description else error
        raise AuthorizeError(f"Exact Online did not grant access ({detail})")
    state = (params.get("state") or [""])[0]
    if not secrets.compare_digest(state.encode(), expected_state.encode()):
        raise AuthorizeError(
            "the redirect does not belong to this authorization (state differs); start again"
        )
    if not code:
        raise AuthorizeError("the redirect URL carries no code")
    return code


class _RedirectListener:
    """A one-shot HTTP server on the redirect URI's host and port."""

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            raise AuthorizeError(
                f"--listen needs an http://localhost redirect URI, got {redirect_uri!r}; "
                "use --paste instead"
            )
        self.path = parts.path or "/"
        self.received: str | None = None
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target = urlsplit(self.path)
                if target.path != listener.path or not target.query:
                    self.send_error(404)
                    return
                listener.received = self.path
                body = (
                    b"<!doctype html><title>pay-exact</title><p>Exact Online answered. "
                    b"You can close this window and return to the terminal.</p>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                # The request line holds the code; never print it.
                return None

        host = parts.hostname or "127.0.0.1"
        try:
            self._server = HTTPServer((host, parts.port or 80), Handler)
        except OSError as exc:
            raise AuthorizeError(
                f"cannot listen on {host}:{parts.port or 80} ({exc.strerror}); use --paste instead"
            ) from None
        self._server.timeout = 0.5

    def wait(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        try:
            while self.received is None:
                if time.monotonic() > deadline:
                    raise AuthorizeError(
                        f"no redirect arrived within {timeout:.0f} s; run the command again"
                    )
                self._server.handle_request()
        finally:
            self._server.server_close()
        return self.received

    def close(self) -> None:
        self._server.server_close()


# -- the command ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="target-exactonline authorize",
        description=(
            "Give this connection access to Exact Online (once per customer, and again "
            "whenever a run says the refresh token is no longer accepted)."
        ),
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="JSON config file (repeatable), or ENV for TARGET_EXACTONLINE_* variables",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--listen", action="store_true", help="wait for the redirect on the redirect URI's port"
    )
    mode.add_argument(
        "--paste", action="store_true", help="paste the URL the browser was redirected to"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_LISTEN_TIMEOUT_S,
        help="seconds --listen waits for the redirect (default 300)",
    )
    parser.add_argument(
        "--open-browser", action="store_true", help="open the URL in the default browser"
    )
    parser.add_argument(
        "--force-login", action="store_true", help="make Exact ask for the login again"
    )
    return parser


def run(
    argv: list[str],
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    open_browser: Callable[[str], object] = webbrowser.open,
) -> int:
    """Run the command; returns the exit status (0 done, 1 refused or failed, 2 bad usage)."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        settings = ExactSettings.from_config(load_config(args.config, environ), environ)
        if not settings.redirect_uri:
            raise SettingsError("setting 'redirect_uri' is required to authorize")
    except SettingsError as exc:
        print(f"error: {redact(exc)}", file=stderr)
        return 2

    redirect_uri = settings.redirect_uri
    listen = args.listen or (not args.paste and _is_local(redirect_uri))
    state = new_state()
    url = authorize_url(
        settings.base_url, settings.client_id, redirect_uri, state, force_login=args.force_login
    )
    store = settings.token_store()
    try:
        listener = _RedirectListener(redirect_uri) if listen else None
        print("Open this address in a browser and sign in to Exact Online:", file=stdout)
        print(f"\n    {url}\n", file=stdout, flush=True)
        if args.open_browser:
            open_browser(url)
        if listener is not None:
            print(f"Waiting for the redirect to {redirect_uri} ...", file=stderr, flush=True)
            redirect = listener.wait(args.timeout)
        else:
            print(
                "After consenting, paste the full address the browser ended on and press Enter:",
                file=stderr,
                flush=True,
            )
            redirect = stdin.readline()
        code = code_from_redirect(redirect, state)
        oauth = settings.oauth(store)
        oauth.exchange_code(code, redirect_uri)
        print(
            f"Stored the Exact Online tokens for {settings.token_store_key!r} in "
            f"{store.describe()}.",
            file=stderr,
        )
        if settings.division is not None:
            client = ExactClient(settings.base_url, settings.division, auth=oauth)
            check = client.check_division()
            print(
                f"Connected as {check.user_name or check.user_id}; division {check.division} "
                "is readable.",
                file=stderr,
            )
        return 0
    except (AuthorizeError, ExactError) as exc:
        print(f"error: {redact(exc)}", file=stderr)
        return 1
    finally:
        store.close()


def _is_local(redirect_uri: str) -> bool:
    parts = urlsplit(redirect_uri)
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
