"""Failure e-mails against a real SMTP server (aiosmtpd) on a free localhost port.

Plain, STARTTLS and TLS connections with a login, the settings, the words of the mail, one
mail per streak, a mail server that is down, and the whole thing through the target's run.
"""

from __future__ import annotations

import email
import io
import json
import logging
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from target_exactonline.exact_client.errors import ReauthorizeRequired
from target_exactonline.notify import (
    Failure,
    NotificationError,
    NotifySettings,
    NotifySettingsError,
    RunNotifier,
    compose,
    send,
)
from target_exactonline.report import ClearingReport, Outcome, RunReport
from target_exactonline.run_history import RunHistory
from target_exactonline.target import TargetExactOnline

SMTP_USER = "mailer@merchant.example"
SMTP_PASSWORD = "smtp-Pa55word-7f3a9c"  # recognisable, so a leak would show


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MailServer:
    """An aiosmtpd server that keeps what it receives."""

    port: int
    received: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((user, password))
        ok = (user, password) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def bodies(self) -> list[str]:
        return [_text(m) for m in self.received]


def _text(message: Message) -> str:
    part = message.get_payload(decode=True)
    assert isinstance(part, bytes)
    return part.decode(message.get_content_charset() or "utf-8")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """What the notifier uses to trust the test server (a real server has a public CA)."""
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def mail_server_factory(certificate: tuple[Path, Path]) -> Iterator[Callable[..., MailServer]]:
    started: list[MailServer] = []

    def start(security: str = "none", *, login: bool = False) -> MailServer:
        server = MailServer(free_port())
        kwargs: dict[str, Any] = {}
        if security != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            if security == "ssl":
                # TLS from the first byte: aiosmtpd does not count that as TLS for AUTH, so
                # AUTH is offered without its TLS check (and the login is still verified).
                kwargs.update(ssl_context=context, auth_require_tls=False)
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if login:
            kwargs.update(authenticator=server.authenticate, auth_required=security != "ssl")
        server.controller = Controller(server, hostname="127.0.0.1", port=server.port, **kwargs)
        server.controller.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def settings_for(server: MailServer, security: str = "none", **changes: Any) -> NotifySettings:
    config: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_security": security,
        "smtp_from": "pay-exact@merchant.example",
        "smtp_to": ["bookkeeper@merchant.example", "it@merchant.example"],
        **changes,
    }
    settings = NotifySettings.from_config(config)
    # A short timeout: a server that does not answer must not hold a test for 30 s.
    return NotifySettings(**{**_fields(settings), "timeout": 5.0})


def _fields(settings: NotifySettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in NotifySettings.__slots__}


def simple_message(settings: NotifySettings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "test"
    message["From"] = settings.sender or ""
    message["To"] = ", ".join(settings.recipients)
    message.set_content("body\n")
    return message


# -- settings -----------------------------------------------------------------------------------


def test_settings_defaults_and_ports_follow_the_security_mode() -> None:
    off = NotifySettings.from_config({})
    assert not off.enabled
    assert off.after_failures == 3
    base = {"smtp_host": "mail.example", "smtp_to": ["a@x.example"], "smtp_from": "b@x.example"}
    assert NotifySettings.from_config(base).port == 587
    assert NotifySettings.from_config({**base, "smtp_security": "ssl"}).port == 465
    assert NotifySettings.from_config({**base, "smtp_security": "none"}).port == 25
    assert NotifySettings.from_config({**base, "smtp_port": "2525"}).port == 2525
    listed = NotifySettings.from_config({**base, "smtp_to": "a@x.example; b@x.example"})
    assert listed.recipients == ("a@x.example", "b@x.example")
    as_json = NotifySettings.from_config({**base, "smtp_to": '["a@x.example", "b@x.example"]'})
    assert as_json.recipients == ("a@x.example", "b@x.example")
    by_user = NotifySettings.from_config(
        {**base, "smtp_from": None, "smtp_user": "me@x.example", "smtp_password": "pw-Hidden-123"}
    )
    assert by_user.sender == "me@x.example"
    assert "pw-Hidden-123" not in repr(by_user)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"smtp_security": "tls"}, "smtp_security"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_port": "twenty-five"}, "smtp_port"),
        ({"smtp_port": True}, "smtp_port"),
        ({"notify_after_failures": 0}, "notify_after_failures"),
        ({"notify_after_failures": "three"}, "notify_after_failures"),
        ({"smtp_to": []}, "smtp_to"),
        ({"smtp_to": {"a": 1}}, "smtp_to"),
        ({"smtp_from": None}, "smtp_from"),
        ({"smtp_from": "not-an-address"}, "smtp_from"),
        ({"smtp_to": ["ok@x.example", "x@y.example\r\nBcc: evil@z.example"]}, "smtp_to"),
        ({"smtp_password": "secret-but-no-user"}, "smtp_password"),
        ({"smtp_host": 25}, "smtp_host"),
    ],
)
def test_hostile_settings_are_refused_naming_the_setting(
    changes: dict[str, Any], named: str
) -> None:
    config = {"smtp_host": "mail.example", "smtp_to": ["a@x.example"], "smtp_from": "b@x.example"}
    with pytest.raises(NotifySettingsError, match=named) as caught:
        NotifySettings.from_config({**config, **changes})
    assert "secret-but-no-user" not in str(caught.value)


# -- sending ------------------------------------------------------------------------------------


def test_plain_smtp_delivers_to_every_recipient(
    mail_server_factory: Callable[..., MailServer],
) -> None:
    server = mail_server_factory()
    settings = settings_for(server)
    send(settings, simple_message(settings))
    assert server.envelopes == [
        ("pay-exact@merchant.example", ["bookkeeper@merchant.example", "it@merchant.example"])
    ]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_encrypted_connection_with_login(
    security: str,
    mail_server_factory: Callable[..., MailServer],
    client_tls: ssl.SSLContext,
) -> None:
    server = mail_server_factory(security, login=True)
    settings = settings_for(server, security, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD)
    send(settings, simple_message(settings), ssl_context=client_tls)
    assert server.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert len(server.received) == 1


def test_a_certificate_that_is_not_trusted_is_refused(
    mail_server_factory: Callable[..., MailServer],
) -> None:
    server = mail_server_factory("starttls", login=True)
    settings = settings_for(server, "starttls", smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD)
    with pytest.raises(NotificationError, match=r"127\.0\.0\.1:\d+ \(starttls\)") as caught:
        send(settings, simple_message(settings))  # the system's CAs do not know the test CA
    assert "SSL" in str(caught.value)
    assert server.logins == []  # the password never left over an unverified connection
    assert server.received == []


def test_a_wrong_password_is_a_clear_error_without_the_password(
    mail_server_factory: Callable[..., MailServer],
    client_tls: ssl.SSLContext,
) -> None:
    server = mail_server_factory("starttls", login=True)
    wrong = "wrong-Pa55word-0000"
    settings = settings_for(server, "starttls", smtp_user=SMTP_USER, smtp_password=wrong)
    with pytest.raises(NotificationError, match="535") as caught:
        send(settings, simple_message(settings), ssl_context=client_tls)
    assert wrong not in str(caught.value)
    assert server.received == []


def test_a_server_that_is_down_is_a_clear_error() -> None:
    port = free_port()  # nothing listens here
    settings = NotifySettings.from_config(
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_from": "a@x.example",
            "smtp_to": ["b@x.example"],
        }
    )
    with pytest.raises(NotificationError, match=f"127.0.0.1:{port}.*ConnectionRefused"):
        send(settings, simple_message(settings))


# -- the words ----------------------------------------------------------------------------------


def failing_report(run_id: str = "run00001") -> RunReport:
    report = RunReport(
        run_id=run_id,
        started_at=datetime(2026, 3, 3, 2, tzinfo=UTC),
        division=123456,
        dry_run=False,
    )
    report.clearings = [
        ClearingReport("CLR-OK-1", "PX:CLR-OK-1", Outcome.BOOKED),
        ClearingReport(
            "CLR-2026-0042",
            "PX:CLR-2026-0042",
            Outcome.BLOCKED,
            settlement_date=date(2026, 3, 2),
            reason="GL account '4999' (PSP costs) does not exist in division 123456",
        ),
        ClearingReport(
            "CLR-2026-0043",
            "PX:CLR-2026-0043",
            Outcome.FAILED,
            settlement_date=date(2026, 3, 2),
            reason="Exact refused the entry dated 2026-03-02 (period 2026/3) in journal 25: "
            "Periode is afgesloten: 2026/3",
        ),
    ]
    return report


def test_the_mail_says_who_what_since_when_and_what_to_do(tmp_path: Path) -> None:
    settings = NotifySettings.from_config(
        {"smtp_host": "h", "smtp_from": "a@x.example", "smtp_to": ["b@x.example"]}
    )
    with RunHistory.from_url(
        f"sqlite:///{tmp_path / 's.sqlite'}", store_key="acme", division=123456
    ) as history:
        history.record(run_id="run00000", succeeded=False, summary="the run ended with an error")
        streak = history.record(run_id="run00001", succeeded=False, summary="2 of 3 ...")
    failure = Failure.from_report(failing_report(), "/reports/pay-exact-123456-x-run00001.html")
    message = compose(settings, customer="acme", division=123456, streak=streak, failure=failure)
    body = message.get_content()
    assert "acme" in message["Subject"]
    assert "2 failed runs in a row" in message["Subject"]
    assert "customer 'acme' (Exact Online administration 123456)" in body
    assert "failed 2 runs in a row" in body
    assert "2 of 3 clearings were not booked" in body
    assert "CLR-2026-0042 (settlement 2026-03-02): GL account '4999'" in body
    assert "CLR-2026-0043" in body
    assert "Periode is afgesloten" in body
    assert "CLR-OK-1" not in body  # booked: nothing to do about it
    assert "/reports/pay-exact-123456-x-run00001.html" in body
    assert "Earlier failed runs in this series:" in body
    assert "the run ended with an error" in body
    assert "What to do:" in body
    assert "target-exactonline check" in body
    assert "never booked twice" in body


def test_advice_fits_the_error() -> None:
    reauth = Failure.from_error(
        ReauthorizeRequired("Exact Online no longer accepts the stored refresh token")
    )
    assert any("target-exactonline authorize" in a for a in reauth.advice)
    settings_error = Failure.from_error(ValueError("setting 'division' must be a positive number"))
    assert any("Correct the setting" in a for a in settings_error.advice)


# -- one mail per streak ------------------------------------------------------------------------


def notifier_config(server_port: int, store: Path, **changes: Any) -> dict[str, Any]:
    return {
        "division": 123456,
        "store_url": f"sqlite:///{store}",
        "store_key": "acme",
        "notify_after_failures": 3,
        "smtp_host": "127.0.0.1",
        "smtp_port": server_port,
        "smtp_security": "none",
        "smtp_from": "pay-exact@merchant.example",
        "smtp_to": ["bookkeeper@merchant.example"],
        **changes,
    }


def test_one_mail_per_streak_and_a_success_ends_the_streak(
    mail_server_factory: Callable[..., MailServer], tmp_path: Path
) -> None:
    server = mail_server_factory()
    config = notifier_config(server.port, tmp_path / "store.sqlite")
    notifier = RunNotifier(config, logger=logging.getLogger("test"))
    failure = Failure.from_report(failing_report())
    sent_after = []
    for run in range(1, 6):
        notifier.failed(failure, run_id=f"f{run}")
        sent_after.append(len(server.received))
    assert sent_after == [0, 0, 1, 1, 1]  # the third failure in a row mails, once

    notifier.succeeded(run_id="ok")
    for run in range(1, 4):
        notifier.failed(
            Failure.from_error(RuntimeError("Exact is not answering")), run_id=f"g{run}"
        )
    assert len(server.received) == 2  # a new streak, a new mail
    second = server.bodies()[1]
    assert "failed 3 runs in a row" in second
    assert "Exact is not answering" in second

    # a dry run changes nothing
    dry = RunNotifier({**config, "dry_run": True}, logger=logging.getLogger("test"))
    dry.succeeded(run_id="dry")
    assert dry.last_action == "skipped"
    with RunHistory.from_url(config["store_url"], store_key="acme", division=123456) as history:
        assert history.streak().count == 3


def test_a_mail_that_cannot_be_sent_is_tried_after_the_next_failure(
    mail_server_factory: Callable[..., MailServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    config = notifier_config(port, tmp_path / "store.sqlite", notify_after_failures=2)
    notifier = RunNotifier(config, logger=logging.getLogger("test.notify"))
    failure = Failure.from_report(failing_report())
    with caplog.at_level(logging.ERROR, logger="test.notify"):
        notifier.failed(failure, run_id="f1")
        notifier.failed(failure, run_id="f2")  # due, but nothing listens on the port
    assert notifier.last_action == "recorded"
    assert "could not be sent" in caplog.text
    assert "tried again" in caplog.text

    server = MailServer(port)
    server.controller = Controller(server, hostname="127.0.0.1", port=port)
    server.controller.start()
    try:
        notifier.failed(failure, run_id="f3")
        notifier.failed(failure, run_id="f4")
    finally:
        server.stop()
    assert len(server.received) == 1
    assert "failed 3 runs in a row" in server.bodies()[0]


# -- through the target -------------------------------------------------------------------------

SCHEMAS = {
    "clearings": ["clearingId"],
    "clearing_records": ["reportingId"],
}


def singer_input(*, header: bool, group: str = "CT-1111-1111") -> str:
    lines = [
        {
            "type": "SCHEMA",
            "stream": stream,
            "schema": {"type": "object", "properties": {}},
            "key_properties": keys,
        }
        for stream, keys in SCHEMAS.items()
    ]
    if header:
        lines.append(
            {
                "type": "RECORD",
                "stream": "clearings",
                "record": {
                    "clearingId": "CLR-2026-0001",
                    "settlementDate": "2026-03-02",
                    "turnoverGroupCode": group,
                    "currency": "EUR",
                    "amount": 10,
                },
            }
        )
    lines.append(
        {
            "type": "RECORD",
            "stream": "clearing_records",
            "record": {
                "reportingId": "R-1",
                "clearingId": "CLR-2026-0001",
                "orderId": "O-1",
                "amount": 10,
                "currency": "EUR",
            },
        }
    )
    lines.append({"type": "STATE", "value": {"bookmarks": {}}})
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def run_target(config: dict[str, Any], text: str) -> tuple[TargetExactOnline, Exception | None]:
    def no_exact(_settings: Any) -> Any:
        raise AssertionError("this run must not call Exact")

    target = TargetExactOnline(config=config, client_factory=no_exact)
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            target.listen(io.StringIO(text))
    except Exception as exc:
        return target, exc
    return target, None


def test_target_runs_send_one_mail_after_three_failed_runs(
    mail_server_factory: Callable[..., MailServer], tmp_path: Path
) -> None:
    server = mail_server_factory("none", login=False)
    config = {
        "client_id": "app",
        "client_secret": "client-Secret-9d8e7f",
        "division": 123456,
        "bank_journal": "25",
        "gl_debtors": "1300",
        "gl_psp_costs": "4390",
        "gl_payouts": "2050",
        "gl_unassigned": "2090",
        "report_dir": str(tmp_path / "reports"),
        **notifier_config(server.port, tmp_path / "store.sqlite"),
        "smtp_user": None,
    }
    config = {k: v for k, v in config.items() if v is not None}
    # A clearing without its header cannot be booked: each of these runs fails (without Exact).
    for _ in range(2):
        _target, error = run_target(config, singer_input(header=False))
        assert error is not None
        assert "not booked" in str(error)
    assert server.received == []
    # A wrong setting is a failed run too (it ends in an error instead).
    _target, error = run_target(
        {**config, "matching_profile": "custom"}, singer_input(header=False)
    )
    assert error is not None
    assert len(server.received) == 1
    body = server.bodies()[0]
    assert "failed 3 runs in a row" in body
    assert "matching_fields" in body
    assert "Correct the setting" in body
    assert "client-Secret-9d8e7f" not in body

    # a fourth failure sends nothing; a run that books (here: skips) everything ends the streak
    run_target(config, singer_input(header=False))
    _target, error = run_target(
        {**config, "revenue_groups": ["CT-2222-2222"]}, singer_input(header=True)
    )
    assert error is None
    for _ in range(3):
        run_target(config, singer_input(header=False))
    assert len(server.received) == 2
    body = server.bodies()[1]
    assert "CLR-2026-0001" in body
    assert "report" in body
    report_line = next(line for line in body.splitlines() if line.strip().endswith(".html"))
    assert Path(report_line.strip()).exists()
