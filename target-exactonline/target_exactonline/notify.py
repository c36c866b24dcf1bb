"""An e-mail after repeated failed runs of a customer (DESIGN §9), one per streak.

A run that leaves clearings unbooked, or ends in an error, is a failed run; the clearings are
retried on the next run, so one failure needs nobody. After ``notify_after_failures`` failed
runs in a row (default 3) one e-mail goes out over SMTP: which customer, what failed (the
clearings and their reasons, or the run's error), since when, and what to do. The streak then
sends nothing more; a successful run ends it, and the next streak sends its own mail. The
outcomes live in the target's store (``run_history.py``), so this works when runs move between
machines.

Dry runs, and runs whose input held no Pay. clearings, do not count either way: they say
nothing about whether booking works. (When the tap itself fails, Meltano reports that run.)

A mail that cannot be sent is logged and tried again after the next failed run; it never
changes the run's own outcome.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from target_exactonline.commands import authorize_command, check_command
from target_exactonline.exact_client.countries import DEFAULT_COUNTRY, EXACT_HOSTS, country_for
from target_exactonline.exact_client.errors import ExactForbidden, ReauthorizeRequired
from target_exactonline.exact_client.redaction import redact, register_secret
from target_exactonline.exact_client.token_store import DEFAULT_TOKEN_STORE_URL
from target_exactonline.run_history import RunHistory, Streak

DEFAULT_AFTER_FAILURES = 3
SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
SMTP_TIMEOUT_S = 30.0
SHOWN_CLEARINGS = 20  # clearings listed in a mail; the report has all of them


class NotifySettingsError(ValueError):
    """A notification setting is wrong; the message names it."""


class NotificationError(RuntimeError):
    """The mail could not be sent (the text names the server, never the password)."""


def notification_properties() -> list[th.Property]:
    """The notification settings, for the target's settings schema."""
    return [
        th.Property(
            "notify_after_failures",
            th.IntegerType,
            default=DEFAULT_AFTER_FAILURES,
            description=(
                "Send one e-mail after this many failed runs in a row for this customer (a "
                "run fails when a clearing is not booked or the run ends in an error). One "
                "mail per series; a successful run ends the series."
            ),
        ),
        th.Property(
            "smtp_host",
            th.StringType,
            description="SMTP server for failure e-mails. Empty: no e-mails are sent.",
        ),
        th.Property(
            "smtp_port",
            th.IntegerType,
            description="SMTP port. Default: 587 with starttls, 465 with ssl, 25 with none.",
        ),
        th.Property(
            "smtp_security",
            th.StringType,
            default="starttls",
            allowed_values=list(SECURITY_MODES),
            description=(
                "How the SMTP connection is secured: starttls (upgrade a plain connection), "
                "ssl (TLS from the start) or none."
            ),
        ),
        th.Property("smtp_user", th.StringType, description="SMTP user name, if the server asks."),
        th.Property(
            "smtp_password",
            th.StringType,
            secret=True,
            description="SMTP password for smtp_user.",
        ),
        th.Property(
            "smtp_from",
            th.StringType,
            description="Sender address of failure e-mails. Default: smtp_user when it is one.",
        ),
        th.Property(
            "smtp_to",
            th.ArrayType(th.StringType),
            description="Who receives failure e-mails (one or more addresses).",
        ),
    ]


def with_notification_settings(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the target's settings schema with the notification settings added."""
    extra = th.PropertiesList(*notification_properties()).to_dict()
    result = dict(schema)
    result["properties"] = {**schema.get("properties", {}), **extra["properties"]}
    return result


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotifySettings:
    after_failures: int = DEFAULT_AFTER_FAILURES
    host: str | None = None
    port: int = DEFAULT_PORTS["starttls"]
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    timeout: float = SMTP_TIMEOUT_S

    @property
    def enabled(self) -> bool:
        return self.host is not None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NotifySettings:
        def text(name: str) -> str | None:
            value = config.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                raise NotifySettingsError(
                    f"setting {name!r} must be text, got {type(value).__name__}"
                )
            return value.strip() or None

        def whole(name: str, default: int | None) -> int | None:
            value = config.get(name)
            if value is None or value == "":
                return default
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise NotifySettingsError(f"setting {name!r} must be a whole number")
            return value

        after = whole("notify_after_failures", DEFAULT_AFTER_FAILURES)
        assert after is not None
        if after < 1:
            raise NotifySettingsError(
                "setting 'notify_after_failures' must be 1 or more (leave 'smtp_host' empty to "
                "send no e-mails)"
            )
        security = (text("smtp_security") or "starttls").lower()
        if security not in SECURITY_MODES:
            raise NotifySettingsError(
                f"setting 'smtp_security' must be one of {', '.join(SECURITY_MODES)}, "
                f"got {security!r}"
            )
        port = whole("smtp_port", DEFAULT_PORTS[security])
        assert port is not None
        if not 0 < port < 65536:
            raise NotifySettingsError("setting 'smtp_port' must be a port number (1-65535)")
        password = text("smtp_password")
        register_secret(password)
        host = text("smtp_host")
        user = text("smtp_user")
        raw_to = config.get("smtp_to") or []
        if isinstance(raw_to, str):
            # From an environment variable: a JSON list, or addresses split by , or ;
            try:
                parsed = json.loads(raw_to) if raw_to.strip().startswith("[") else None
            except ValueError:
                parsed = None
            raw_to = parsed if parsed is not None else raw_to.replace(";", ",").split(",")
        if not isinstance(raw_to, list | tuple):
            raise NotifySettingsError("setting 'smtp_to' must be a list of e-mail addresses")
        recipients = tuple(str(a).strip() for a in raw_to if str(a).strip())
        sender = text("smtp_from") or (user if user and "@" in user else None)
        if host is not None:
            if not recipients:
                raise NotifySettingsError(
                    "setting 'smtp_to' is required when 'smtp_host' is set: who gets the e-mail?"
                )
            if sender is None:
                raise NotifySettingsError(
                    "setting 'smtp_from' is required when 'smtp_host' is set (the sender address)"
                )
            for address in (sender, *recipients):
                if "@" not in address or any(c in address for c in "\r\n"):
                    raise NotifySettingsError(
                        f"setting 'smtp_from'/'smtp_to' holds {address!r}, which is not an "
                        "e-mail address"
                    )
            if password is not None and user is None:
                raise NotifySettingsError("setting 'smtp_password' is set without 'smtp_user'")
        return cls(
            after_failures=after,
            host=host,
            port=port,
            security=security,
            user=user,
            password=password,
            sender=sender,
            recipients=recipients,
        )


# -- what failed ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong in one run, in words for the mail and one line for the history."""

    summary: str  # one line: stored per run and listed for earlier runs
    details: tuple[str, ...] = ()  # the clearings and their reasons, or the error
    advice: tuple[str, ...] = ()  # what to do first, specific to this failure
    report_path: str | None = None

    @classmethod
    def from_report(cls, report: Any, report_path: str | None = None) -> Failure:
        """A run that ended with clearings not booked (``RunReport``)."""
        failed = list(report.failed)
        summary = f"{len(failed)} of {len(report.clearings)} clearings were not booked"
        if report.stopped:
            summary += f"; the run stopped early: {report.stopped}"
        details = []
        for clearing in failed[:SHOWN_CLEARINGS]:
            when = f" (settlement {clearing.settlement_date})" if clearing.settlement_date else ""
            details.append(f"{clearing.clearing_id}{when}: {clearing.reason or 'no reason given'}")
        if len(failed) > SHOWN_CLEARINGS:
            details.append(f"... and {len(failed) - SHOWN_CLEARINGS} more (see the report)")
        advice = [
            "Open the run report: it says for every clearing why it was not booked. What it "
            "names (a setting, a GL account or journal, a closed period in Exact, Pay. data that "
            "does not add up) needs fixing before the clearing can be booked.",
        ]
        if report.stopped:
            advice.insert(0, f"The run stopped before it was done: {report.stopped}.")
        return cls(
            summary=redact(summary),
            details=tuple(redact(d) for d in details),
            advice=tuple(redact(a) for a in advice),
            report_path=report_path,
        )

    @classmethod
    def from_error(cls, error: BaseException) -> Failure:
        """A run that ended in an error before its bookings were done."""
        text = redact(str(error)) or type(error).__name__
        summary = f"the run ended with an error: {text}"
        advice: list[str] = []
        if isinstance(error, ReauthorizeRequired):
            advice.append(
                "The connection to Exact Online must be authorised again: run "
                f"`{authorize_command()}`."
            )
        elif isinstance(error, ExactForbidden):
            advice.append(
                f"Exact Online refused access: `{check_command()}` says which user right, "
                "app scope or division access is missing."
            )
        elif isinstance(error, ValueError) and "setting" in text:
            advice.append("Correct the setting named above in this customer's configuration.")
        return cls(summary=summary, details=(text,), advice=tuple(advice))


# -- the mail ---------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    if value is None:
        return "an unknown time"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def compose(
    settings: NotifySettings,
    *,
    customer: str,
    division: int | None,
    streak: Streak,
    failure: Failure,
) -> EmailMessage:
    """The notification for ``streak``, whose newest run failed with ``failure``."""
    where = f"customer {customer!r}" + (
        f" (Exact Online administration {division})" if division else ""
    )
    latest = streak.latest
    lines = [
        "Hello,",
        "",
        f"Booking Pay. payouts into Exact Online has failed {streak.count} runs in a row for "
        f"{where}, since {_when(streak.since)}.",
        "",
        f"What failed in the last run ({_when(latest.finished_at if latest else None)}"
        + (f", run {latest.run_id}" if latest else "")
        + "):",
        f"  {failure.summary}",
    ]
    lines += [f"  - {d}" for d in failure.details if d != failure.summary]
    if failure.report_path:
        lines += ["", "The run report (every clearing, and why it was or was not booked):"]
        lines.append(f"  {failure.report_path}")
    earlier = streak.recent[1:]
    if earlier:
        lines += ["", "Earlier failed runs in this series:"]
        lines += [f"  - {_when(r.finished_at)}: {r.summary or 'no details'}" for r in earlier]
        if streak.count > len(streak.recent):
            lines.append(f"  - ... and {streak.count - len(streak.recent)} earlier")
    steps = [
        *failure.advice,
        f"Check the connection and the settings: `{check_command()}` lists what is missing "
        "in Exact Online.",
        "Then run it again, or wait for the next scheduled run. Runs can be repeated safely: "
        "a clearing already booked is never booked twice, and every clearing not booked is "
        "tried again.",
    ]
    lines += ["", "What to do:"]
    lines += [f"  {n}. {step}" for n, step in enumerate(steps, 1)]
    lines += [
        "",
        "You get this e-mail once per series of failed runs; the next successful run ends the "
        "series.",
    ]
    message = EmailMessage()
    message["Subject"] = (
        f"pay-exact: Pay. payouts for {customer} not booked in Exact Online "
        f"({streak.count} failed runs in a row)"
    )
    message["From"] = settings.sender or ""
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pay-exact.invalid")
    message.set_content(redact("\n".join(lines)) + "\n")
    return message


def send(
    settings: NotifySettings, message: EmailMessage, *, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Send ``message`` through the configured server; raises NotificationError."""
    if settings.host is None:
        raise NotificationError("no SMTP server is configured (setting 'smtp_host')")
    where = f"{settings.host}:{settings.port} ({settings.security})"
    context = ssl_context or ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.user is not None:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise NotificationError(
            redact(f"the failure e-mail could not be sent through {where}: {_describe(exc)}")
        ) from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if exc.smtp_error else ""
        return f"{type(exc).__name__} {exc.smtp_code} {text}".strip()
    return f"{type(exc).__name__}: {exc}"


# -- the run hook -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Customer:
    store_url: str
    store_key: str
    division: int
    country: str = DEFAULT_COUNTRY

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> _Customer:
        def text(name: str) -> str | None:
            value = config.get(name)
            return value.strip() or None if isinstance(value, str) else None

        division = config.get("division")
        if isinstance(division, str) and division.strip().isdigit():
            division = int(division)
        if isinstance(division, bool) or not isinstance(division, int) or division <= 0:
            division = 0  # the division setting itself is wrong; still one customer
        country = country_for(text("exact_country"), text("exact_base_url"))
        return cls(
            store_url=text("store_url") or DEFAULT_TOKEN_STORE_URL,
            store_key=text("store_key") or os.environ.get("MELTANO_ENVIRONMENT") or "default",
            division=division,
            # A wrong country setting failed the run already; its outcome still counts.
            country=country if country in EXACT_HOSTS else DEFAULT_COUNTRY,
        )


class RunNotifier:
    """Records the outcome of each run and sends the streak's mail when it is due."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        logger: logging.Logger,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = NotifySettings.from_config(config)
        self.customer = _Customer.from_config(config)
        self.dry_run = bool(config.get("dry_run", False))
        self.log = logger
        self._ssl_context = ssl_context
        self._clock = clock
        #: What the last call decided, for tests and logs: "recorded", "mailed", "skipped".
        self.last_action: str | None = None

    def _history(self) -> RunHistory:
        kwargs: dict[str, Any] = {"clock": self._clock} if self._clock else {}
        return RunHistory.from_url(
            self.customer.store_url,
            store_key=self.customer.store_key,
            division=self.customer.division,
            country=self.customer.country,
            **kwargs,
        )

    def succeeded(self, *, run_id: str) -> None:
        if self.dry_run:
            self.last_action = "skipped"
            return
        with self._history() as history:
            before = history.streak()
            history.record(run_id=run_id, succeeded=True, summary="booked")
        if before.count:
            self.log.info(
                "This run succeeded after %d failed runs in a row; the series has ended",
                before.count,
            )
        self.last_action = "recorded"

    def failed(self, failure: Failure, *, run_id: str) -> None:
        if self.dry_run:
            self.last_action = "skipped"
            return
        with self._history() as history:
            streak = history.record(run_id=run_id, succeeded=False, summary=failure.summary)
            self.last_action = "recorded"
            due = streak.count >= self.settings.after_failures and not streak.notified
            if not self.settings.enabled:
                if due:
                    self.log.warning(
                        "%d failed runs in a row for %r; no e-mail is sent because 'smtp_host' "
                        "is not set",
                        streak.count,
                        self.customer.store_key,
                    )
                return
            if not due:
                return
            message = compose(
                self.settings,
                customer=self.customer.store_key,
                division=self.customer.division or None,
                streak=streak,
                failure=failure,
            )
            try:
                send(self.settings, message, ssl_context=self._ssl_context)
            except NotificationError as exc:
                # Not marked as sent: the next failed run of this series tries again.
                self.log.error("%s; it is tried again after the next failed run", exc)
                return
            history.mark_notified(streak)
        self.last_action = "mailed"
        self.log.warning(
            "%d failed runs in a row: a notification was sent to %s",
            streak.count,
            ", ".join(self.settings.recipients),
        )


def report_path_for(report: Any, report_dir: str | os.PathLike[str] | None) -> str | None:
    """The HTML report this run wrote (named after its run id), if it is there."""
    if report_dir is None:
        return None
    found = sorted(Path(report_dir).glob(f"pay-exact-*-{report.run_id}.html"))
    return str(found[-1].resolve()) if found else None


@contextlib.contextmanager
def notifications(
    config: Mapping[str, Any],
    *,
    logger: logging.Logger,
    result: Callable[[], Any],
    has_clearings: Callable[[], bool],
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[RunNotifier]:
    """Wrap one target run: its outcome is recorded, and the streak's mail sent when due.

    ``result`` returns the run's ``RunResult`` (None when nothing was booked or planned);
    ``has_clearings`` says whether the input held Pay. clearings (a run without any does not
    count). The notification settings are checked on entry, so a wrong one stops the run
    before it books. Errors inside the run pass through unchanged; problems of the notifier
    itself are logged.
    """
    notifier = RunNotifier(config, logger=logger, ssl_context=ssl_context, clock=clock)
    try:
        yield notifier
    except Exception as exc:
        if has_clearings() or result() is not None:
            _after(notifier, config, result(), exc)
        else:
            notifier.last_action = "skipped"
        raise
    else:
        _after(notifier, config, result(), None)


def _after(
    notifier: RunNotifier, config: Mapping[str, Any], result: Any, error: Exception | None
) -> None:
    try:
        report = getattr(error, "report", None) or (result.report if result else None)
        run_id = report.run_id if report is not None else uuid.uuid4().hex[:8]
        if error is None:
            if result is None:
                notifier.last_action = "skipped"  # no clearings: says nothing either way
                return
            notifier.succeeded(run_id=run_id)
            return
        if report is not None and getattr(error, "report", None) is not None:
            failure = Failure.from_report(report, report_path_for(report, _report_dir(config)))
        else:
            failure = Failure.from_error(error)
        notifier.failed(failure, run_id=run_id)
    except Exception as exc:  # the notifier never changes the run's outcome
        notifier.log.error(
            "Recording this run's outcome for failure e-mails failed: %s", redact(exc)
        )


def _report_dir(config: Mapping[str, Any]) -> str:
    value = config.get("report_dir")
    return value if isinstance(value, str) and value.strip() else "reports"
