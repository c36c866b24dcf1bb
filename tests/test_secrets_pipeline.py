"""The whole pipeline with recognisable secrets, scanned everywhere they must not be.

tap-pay (a process) piped into target-exactonline (a process), as Meltano runs them, with a
Pay. API token, an Exact client secret, Exact access and refresh tokens (rotated during the
runs), an SMTP password and a database password that all stand out. The runs include Exact
refusing entries with a text that quotes the client secret, a failure e-mail and a token
refresh. Then every log line, state line, report file, e-mail, exception text and the store's
tables are searched for each secret, plain and URL-encoded: all but the SQLite token table,
whose file is readable by its owner only; the PostgreSQL token table, encrypted with the
operator's key, is searched as well (the key is one of the secrets).
"""

from __future__ import annotations

import copy
import dataclasses
import email
import json
import os
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pay_exact_sandbox.exact.config import ExactConfig, OAuthClient
from pay_exact_sandbox.pay.sandbox import PaySandbox
from target_exactonline import sandbox_testing
from target_exactonline.exact_client import SqlTokenStore, TokenSet
from target_exactonline.exact_client.testing import require_postgres_url
from target_exactonline.exact_client.token_cipher import TokenCipher

BIN = Path(sys.executable).parent
PAY_TOKEN = "PAYSECRETtoken0123456789abcdefghijklmnop"  # 40 characters, as Pay.'s
CLIENT_SECRET = "EXACTSECRET-client-7f3a9c2e"
SMTP_PASSWORD = "SMTPSECRET-pw-41d8cd98"
DB_PASSWORD = "DBSECRETpw93f2"
# The key that encrypts the stored tokens in a PostgreSQL store is a secret too: it must leave no
# trace either. A SQLite store goes without one (its file is its owner's alone).
TOKEN_KEY = TokenCipher.new_key()


def key_for(store_url: str) -> str | None:
    return None if store_url.startswith("sqlite") else TOKEN_KEY


def token_store(store_url: str) -> SqlTokenStore:
    return SqlTokenStore(store_url, cipher=TokenCipher.from_setting(key_for(store_url)))


TOKEN_TABLE = "exact_oauth_tokens"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.passwords: list[str] = []

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        password = auth_data.password.decode()
        self.passwords.append(password)
        return AuthResult(success=password == SMTP_PASSWORD, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content)
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        # both the wire form and the decoded text are searched
        self.messages.append(message.as_string() + "\n" + body.decode())
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,  # a local test server; the password is what is looked for
    )
    controller.start()
    yield box, port
    controller.stop()


def pipeline(
    tap_config: Path, target_config: Path, cwd: Path, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``tap-pay | target-exactonline`` as two processes; what each printed, and exit codes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_"))}
    args = [str(BIN / "tap-pay"), "--config", str(tap_config)]
    if state is not None:
        state_file = cwd / f"state-{uuid.uuid4().hex[:6]}.json"
        state_file.write_text(json.dumps(state))
        args += ["--state", str(state_file)]
    tap = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    target = subprocess.Popen(
        [str(BIN / "target-exactonline"), "--config", str(target_config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    singer, tap_err = tap.communicate(timeout=120)  # kept, to scan what went between them
    out, err = target.communicate(input=singer, timeout=120)
    return {
        "tap_code": tap.returncode,
        "target_code": target.returncode,
        "texts": {
            "tap stderr": tap_err.decode(),
            "singer messages": singer.decode(),
            "target stdout (state)": out.decode(),
            "target stderr (logs)": err.decode(),
        },
    }


def token_rows(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        table = sa.Table(TOKEN_TABLE, sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return str(conn.execute(sa.select(table)).all())
    finally:
        engine.dispose()


def store_dump(url: str) -> str:
    """Every row of every table of the store but the token table, as text."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        parts = []
        with engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                if name == TOKEN_TABLE:
                    continue
                parts += [f"{name}: {tuple(row)}" for row in conn.execute(sa.select(table))]
        return "\n".join(parts)
    finally:
        engine.dispose()


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for secret in secrets:
            for form in {secret, quote(secret, safe="")}:
                if form and form in text:
                    found.append(f"{where} holds {secret[:12]}...")
    return found


def tokens_in(store_url: str) -> list[str]:
    store = token_store(store_url)
    try:
        tokens = store.load("acme")
    finally:
        store.close()
    return [tokens.access_token, tokens.refresh_token] if tokens else []


def back_date_tokens(exact: Any, store_url: str) -> None:
    """Make the stored tokens 10 minutes old on both sides, so the next run refreshes."""
    store = token_store(store_url)
    current = store.load("acme")
    assert current is not None
    now = time.time()
    store.put("acme", dataclasses.replace(current, expires_at=now - 5, issued_at=now - 605))
    store.close()
    exact.advance(605)


@dataclass
class Scanned:
    texts: dict[str, str]
    secrets: list[str]
    exact: Any
    accounts_before: set[str]
    mails: list[str]
    passwords: list[str]


@pytest.fixture
def scan(
    exact_sandbox_factory: Any,
    merchant_kit: Any,
    tmp_path: Path,
    mailbox: tuple[Mailbox, int],
) -> Callable[[str, list[str]], Scanned]:
    def run(store_url: str, extra_secrets: list[str]) -> Scanned:
        texts, secrets, exact, before = run_scanned_pipeline(
            exact_sandbox_factory,
            merchant_kit,
            tmp_path,
            port=mailbox[1],
            store_url=store_url,
            extra_secrets=extra_secrets,
        )
        return Scanned(texts, secrets, exact, before, mailbox[0].messages, mailbox[0].passwords)

    return run


def run_scanned_pipeline(
    exact_sandbox_factory: Any,
    merchant_kit: Any,
    tmp_path: Path,
    *,
    port: int,
    store_url: str,
    extra_secrets: list[str],
) -> tuple[dict[str, str], list[str], Any, set[str]]:
    """Two pipeline runs (the first with refusals and an e-mail); every text and every secret."""
    pay_data = copy.deepcopy(merchant_kit.merchant.pay)
    pay_data["tokens"][0]["token"] = PAY_TOKEN
    merchant = dataclasses.replace(merchant_kit.merchant, pay=pay_data)
    client = OAuthClient("11111111-2222-4333-8444-555555555555", CLIENT_SECRET)
    exact = exact_sandbox_factory(merchant_kit.exact_data, config=ExactConfig(clients=(client,)))
    accounts_before = {a["ID"] for a in exact.runtime.store.accounts.values()}
    with PaySandbox(merchant) as pay:
        assert pay.api_token == PAY_TOKEN
        # tokens 595 s old: the first run refreshes them
        minted = exact.mint_tokens(age=595)
        now = time.time()
        store = token_store(store_url)
        store.put(
            "acme", TokenSet(minted["access_token"], minted["refresh_token"], now + 5, now - 595)
        )
        store.close()
        secrets = [PAY_TOKEN, CLIENT_SECRET, SMTP_PASSWORD, TOKEN_KEY, *extra_secrets]
        secrets += [minted["access_token"], minted["refresh_token"]]
        tap_config = tmp_path / "tap.json"
        tap_config.write_text(
            json.dumps(
                {
                    "api_url": pay.api_url,
                    "token_code": pay.token_code,
                    "api_token": PAY_TOKEN,
                    "start_date": "2025-01-01",
                    "enrich_transactions": True,
                }
            )
        )
        config = sandbox_testing.target_config(
            exact,
            store_url,
            client_id=client.client_id,
            client_secret=CLIENT_SECRET,
            sales_journal=None,
            create_relations=True,
            report_dir=str(tmp_path / "reports"),
            notify_after_failures=1,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_user="mailer@merchant.example",
            smtp_password=SMTP_PASSWORD,
            smtp_from="pay-exact@merchant.example",
            smtp_to=["bookkeeper@merchant.example"],
            token_encryption_key=key_for(store_url),
        )
        target_config = tmp_path / "target.json"
        target_config.write_text(json.dumps(config))

        # Run 1: Exact refuses two entries with a text that quotes the client secret.
        echo = {
            "error": {
                "code": "",
                "message": {"lang": "nl-NL", "value": f"Ongeldig: client_secret {CLIENT_SECRET}"},
            }
        }
        exact.inject(
            path=r"/BankEntries$", method="POST", action="status", status=500, body=echo, count=2
        )
        first = pipeline(tap_config, target_config, tmp_path)
        assert first["tap_code"] == 0, first["texts"]["tap stderr"][-2000:]
        assert first["target_code"] == 1
        secrets += tokens_in(store_url)

        # Run 2: the tokens need a refresh again; the rest is booked.
        back_date_tokens(exact, store_url)
        second = pipeline(tap_config, target_config, tmp_path)
        assert second["target_code"] == 0, second["texts"]["target stderr (logs)"][-3000:]
        secrets += tokens_in(store_url)
    texts = {f"run 1 {k}": v for k, v in first["texts"].items()}
    texts.update({f"run 2 {k}": v for k, v in second["texts"].items()})
    for path in sorted((tmp_path / "reports").iterdir()):
        texts[f"report {path.name}"] = path.read_text()
    for path in sorted(tmp_path.rglob("*.lock")):
        texts[f"lock file {path.name}"] = path.read_text()
    texts["store tables"] = store_dump(store_url)
    return texts, secrets, exact, accounts_before


@pytest.mark.slow
def test_no_secret_leaves_its_place_in_a_whole_pipeline(
    scan: Callable[[str, list[str]], Scanned], tmp_path: Path, books_tally: Any, rows: Any
) -> None:
    store_path = tmp_path / "state" / "store.sqlite"
    store_url = f"sqlite:///{store_path}"
    found = scan(store_url, [])
    texts, secrets = found.texts, found.secrets
    assert len(found.mails) == 1, found.texts["run 1 target stderr (logs)"][-3000:]
    assert found.passwords == [SMTP_PASSWORD]  # it logged in
    texts["failure e-mail"] = found.mails[0]
    assert "Ongeldig: client_secret" in texts["failure e-mail"]  # Exact's text, redacted
    assert len(set(secrets)) >= 9  # Pay., client, SMTP, and three token pairs
    assert leaks(texts, secrets) == []
    # the search finds secrets where they belong: the token table holds the current pair
    assert len(leaks({"token table": token_rows(store_url)}, secrets)) == 2
    # the store (tokens, ledger, run history) and its lock are readable by their owner only
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    for path in store_path.parent.iterdir():
        assert not stat.S_IMODE(path.stat().st_mode) & 0o077, path
    tally = books_tally(found.exact, found.accounts_before)
    assert tally.exactly_once
    rows(
        "K1",
        "secrets",
        fault="recognisable Pay. token, client secret, OAuth tokens (rotated twice), SMTP "
        "password; Exact echoes the client secret in a refusal",
        where="tap-pay / target-exactonline, two runs, one failure e-mail",
        tally=tally,
        outcome=f"no secret in {len(texts)} texts (logs, state, Singer messages, reports, "
        "e-mail, store tables); store files 0600",
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_no_database_password_leaves_a_postgresql_store(
    scan: Callable[[str, list[str]], Scanned], books_tally: Any, rows: Any
) -> None:
    base = sa.engine.make_url(require_postgres_url())
    name = f"pay_exact_secrets_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    # The server trusts local connections, so the password is carried but never needed.
    url = base.set(database=name, password=DB_PASSWORD).render_as_string(hide_password=False)
    try:
        found = scan(url, [DB_PASSWORD])
        texts = {**found.texts, "failure e-mail": found.mails[0]}
        # Here the token table is searched too: encrypted, it holds no token (nor the key).
        texts["token table"] = token_rows(url)
        assert "fernet:" in texts["token table"]
        assert leaks(texts, found.secrets) == []
        tally = books_tally(found.exact, found.accounts_before)
        assert tally.exactly_once
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    rows(
        "K2",
        "secrets",
        fault="the same, with the store on PostgreSQL behind a URL with a password",
        where="tap-pay / target-exactonline, two runs, one failure e-mail",
        tally=tally,
        outcome=f"no secret (the database password included) in {len(texts)} texts",
    )
