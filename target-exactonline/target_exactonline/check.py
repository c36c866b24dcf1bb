"""``target-exactonline check``: can this configuration book into Exact Online?

Verifies, with reads only: the stored connection (credentials), the user, access to the
division, the bank and sales journals and their types, every configured GL account and its
type, the standard debtor, a financial period for today, and read rights on every endpoint a run
uses. Then the self-check (``probes.py``): each fact the product relies on that the reference
only infers, judged on the division's own data, recorded in the store for the live runs.
Prints one plain line per finding; exit status 0 when everything needed is there and no probe a
run depends on failed, 1 otherwise, 2 when the settings themselves are wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from target_exactonline import context as ctx
from target_exactonline.commands import authorize_command
from target_exactonline.exact_client.authorize import load_config
from target_exactonline.exact_client.errors import (
    ExactAuthError,
    ExactError,
    ExactForbidden,
    ReauthorizeRequired,
)
from target_exactonline.exact_client.redaction import redact
from target_exactonline.exact_client.settings import ExactSettings
from target_exactonline.ledger import BookingLedger, make_store_engine
from target_exactonline.probe_store import ProbeStore
from target_exactonline.probes import (
    BLOCKING,
    PROBE_FACTS,
    Outcome,
    ProbeResult,
    run_probes,
)
from target_exactonline.settings import SettingsError, TargetSettings
from target_exactonline.validate import check_bank_journal, check_gl, check_sales_journal

# What each read needs in Exact (the app's scopes and the user's rights).
READS: tuple[tuple[str, str, bool, str], ...] = (
    (ctx.RECEIVABLES, "open invoices", True, "Financial receivables"),
    (ctx.TRANSACTION_LINES, "booked ledger lines", True, "Financial accounting"),
    (ctx.ACCOUNTS, "customers", True, "Crm accounts"),
    (ctx.PERIODS, "financial periods", False, "Financial generalledgers"),
)


@dataclass(slots=True)
class Findings:
    lines: list[tuple[str, str]] = field(default_factory=list)
    # The connection and the division work, so the probes can read.
    reachable: bool = False
    probes: list[ProbeResult] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.lines.append(("OK", text))

    def missing(self, text: str) -> None:
        self.lines.append(("MISSING", text))

    def note(self, text: str) -> None:
        self.lines.append(("NOTE", text))

    @property
    def passed(self) -> bool:
        return all(kind != "MISSING" for kind, _ in self.lines) and not self.blocking

    @property
    def blocking(self) -> list[ProbeResult]:
        return [p for p in self.probes if p.name in BLOCKING and p.outcome is Outcome.DID_NOT_HOLD]

    def add_probes(self, results: list[ProbeResult]) -> None:
        self.probes.extend(results)
        for result in results:
            advice = f" {_sentence(result.advice)}" if result.advice else ""
            where = "" if result.name in BLOCKING else " (live runs do not depend on it)"
            self.lines.append(
                (
                    result.outcome.label,
                    f"{result.name}: {PROBE_FACTS[result.name]}{where}. "
                    f"Seen: {result.seen}.{advice}",
                )
            )


def run_checks(
    settings: TargetSettings,
    client: Any,
    *,
    today: datetime | None = None,
) -> Findings:
    found = Findings()
    division = settings.division
    try:
        me = client.me()
    except ReauthorizeRequired as exc:
        found.missing(
            f"The stored Exact Online connection can no longer be used ({redact(exc)}). "
            f"Run `{authorize_command()}` to connect again."
        )
        return found
    except ExactAuthError as exc:
        found.missing(
            f"Exact Online does not accept this connection ({redact(exc)}). Check client_id and "
            f"client_secret, and run `{authorize_command()}` if no connection was stored yet."
        )
        return found
    except ExactError as exc:
        found.missing(f"Exact Online could not be reached: {redact(exc)}")
        return found
    user = me.get("FullName") or me.get("UserID") or "the connected user"
    found.ok(f"Connected to Exact Online as {user}.")

    try:
        client.check_division()
    except ExactForbidden as exc:
        why = f" (Exact says: {exc.reason})" if exc.reason else ""
        found.missing(
            f"The connection has no access to division {division}{why}. Grant the user access "
            "to this administration, or choose it when consenting."
        )
        return found
    except ExactError as exc:
        found.missing(f"Division {division} cannot be read: {redact(exc)}")
        return found
    found.ok(f"Division {division} is accessible.")
    found.reachable = True

    try:
        journals = ctx.read_journals(
            client, settings.all_bank_journals() | settings.all_sales_journals()
        )
    except ExactError as exc:
        found.missing(_read_problem("journals", "Financial generalledgers", exc))
        return found
    for code in sorted(settings.all_bank_journals()):
        problem = check_bank_journal(code, journals.get(code), division)
        if problem:
            found.missing(_sentence(problem))
        else:
            journal = journals[code]
            currency = journal.currency or "the division's currency"
            extra = " (other currencies allowed)" if journal.allow_variable_currency else ""
            found.ok(f"Bank journal {code} ({journal.description}) in {currency}{extra}.")
    for code in sorted(settings.all_sales_journals()):
        problem = check_sales_journal(code, journals.get(code), division)
        if problem:
            found.missing(_sentence(problem))
        else:
            found.ok(f"Sales journal {code} ({journals[code].description}).")
    if not settings.all_sales_journals():
        found.note("No sales journal set: open invoices of every sales journal are matched.")

    roles = settings.all_gl_codes()
    try:
        accounts = ctx.read_gl_accounts(client, roles)
    except ExactError as exc:
        found.missing(_read_problem("GL accounts", "Financial generalledgers", exc))
        return found
    for code in sorted(roles):
        for role in sorted(roles[code]):
            problem = check_gl(code, role, accounts.get(code), division)
            if problem:
                found.missing(_sentence(problem))
            else:
                gl = accounts[code]
                found.ok(f"GL account {code} ({gl.description}) fits {role.replace('_', ' ')}.")

    if settings.standard_debtor_code:
        try:
            debtor = ctx.read_account_by_code(client, settings.standard_debtor_code)
        except ExactError as exc:
            found.missing(_read_problem("customers", "Crm accounts", exc))
            debtor = None
        else:
            if debtor is None:
                found.missing(
                    f"Standard debtor {settings.standard_debtor_code} does not exist in division "
                    f"{division}."
                )
            else:
                found.ok(f"Standard debtor {settings.standard_debtor_code} ({debtor.name}).")

    day = (today or datetime.now(UTC)).date()
    for path, what, bulk, scope in READS:
        try:
            if path == ctx.PERIODS:
                periods = ctx.read_periods(client, day, day)
                if periods:
                    found.ok(f"Can read {what}; {periods[0].year}/{periods[0].number} holds today.")
                else:
                    found.missing(
                        f"There is no financial period for today ({day.isoformat()}) in Exact; "
                        "create the financial year before booking in it."
                    )
                continue
            for _row in client.get_all(
                path, select="ID" if path != ctx.TRANSACTION_LINES else "EntryID", top=1, bulk=bulk
            ):
                break
            found.ok(f"Can read {what}.")
        except ExactError as exc:
            found.missing(_read_problem(what, scope, exc))

    found.note(
        "Creating bank entries and customers needs the 'Financial accounting' and 'Crm accounts' "
        "rights for writing; Exact only shows a missing write right when a booking is sent."
    )
    if settings.create_relations:
        found.note("create_relations is on: payments of unknown customers create new customers.")
    remaining = client.remaining_today()
    if remaining is not None:
        found.note(f"{remaining} Exact API calls are left today for this division.")
    return found


def _read_problem(what: str, scope: str, exc: ExactError) -> str:
    if isinstance(exc, ExactForbidden):
        return (
            f"No right to read {what}: give the app the '{scope}' scope and the user the matching "
            f"rights in Exact ({redact(exc)})."
        )
    return f"Reading {what} failed: {redact(exc)}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="target-exactonline check",
        description="Check that the configuration can book into Exact Online (reads only).",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="JSON config file (repeatable), or ENV for TARGET_EXACTONLINE_* variables",
    )
    return parser


def run(
    argv: list[str],
    *,
    stdout: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    client_factory: Callable[[dict[str, Any]], Any] | None = None,
) -> int:
    """Run the check; returns the exit status. Output goes to stderr unless ``stdout`` is given
    (stdout of a target is reserved for state)."""
    out = stdout or sys.stderr
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config, environ)
        settings = TargetSettings.from_config(config)
        client = (
            client_factory(config)
            if client_factory is not None
            else ExactSettings.from_config(config, environ).client()
        )
    except SettingsError as exc:
        print(f"Setting problem: {redact(exc)}", file=out)
        return 2
    findings = run_checks(settings, client)
    if findings.reachable:
        self_check(findings, settings, client)
    for kind, text in findings.lines:
        print(f"{kind + ' ':<8}{text}", file=out)
    if findings.passed:
        verdict = "Everything this target needs is in place."
    elif any(kind == "MISSING" for kind, _ in findings.lines):
        verdict = "Something is missing (see MISSING above); bookings would fail."
    else:
        names = ", ".join(p.name for p in findings.blocking)
        verdict = (
            f"A fact this product relies on did not hold ({names}); live runs refuse to book "
            "until a check finds it holding. Dry runs still plan everything."
        )
    print(verdict, file=out)
    return 0 if findings.passed else 1


def self_check(findings: Findings, settings: TargetSettings, client: Any) -> None:
    """Run the probes and record their results for this division in the target's store."""
    engine = make_store_engine(settings.store_url)
    try:
        customer = {
            "division": settings.division,
            "store_key": settings.store_key,
            "country": settings.country,
        }
        ledger = BookingLedger(engine, **customer)
        results = run_probes(client, ledger.recent_links)
        ProbeStore(engine, **customer).record(results)
    except SQLAlchemyError as exc:
        # Without the store the results cannot reach the live runs: that is missing, not noted.
        found = f" ({type(exc.orig or exc).__name__})" if hasattr(exc, "orig") else ""
        findings.missing(
            f"The self-check cannot use the store in store_url{found}; its results would not "
            "reach the live runs. Check store_url."
        )
        return
    finally:
        engine.dispose()
    findings.add_probes(results)
