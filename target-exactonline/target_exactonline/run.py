"""One booking run: the collected clearings in, bank entries in Exact and a report out.

Order of work (DESIGN §4, §6, §7):
1. group and convert the clearings; skip revenue groups not selected; block unreadable ones;
2. drop what the booking ledger already holds as posted (a rerun costs no Exact calls); a live
   run stops here, before any Exact call, while the self-check found a fact it relies on not
   holding (``refusal``; a dry run goes on and says so);
3. read the Exact context once, and the keys already booked in the bank journals (one paged
   read), which also settles clearings whose last POST had no answer;
4. plan all clearings jointly with the engine, validate every plan locally;
5. create the relations a plan needs, then post one bank entry per clearing, recording each
   step in the ledger before and after; a POST whose outcome is unknown is looked up before it
   is ever sent again;
6. report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pay_exact_transform import (
    PROFILES,
    BookingPlan,
    Clearing,
    CustomerKind,
    GLAccounts,
    InputError,
    NewRelation,
    OpenItem,
    PlanLine,
    Reason,
    RecordKind,
    RevenueGroupOverride,
    Role,
    Settings,
    Status,
    build_index,
    idempotency_key,
    plan_clearing,
    plan_run,
)
from pay_exact_transform import MatchProfile as EngineProfile

from target_exactonline import context as ctx
from target_exactonline import kill_points
from target_exactonline.collector import TRANSACTIONS, TURNOVER_GROUPS, ClearingBundle, Collector
from target_exactonline.commands import check_command
from target_exactonline.convert import (
    ConversionError,
    Converted,
    convert_bundle,
    transactions_by_order,
)
from target_exactonline.details import missing_details
from target_exactonline.exact_client.errors import (
    ExactAuthError,
    ExactBadRequest,
    ExactBudgetExhausted,
    ExactError,
    ExactForbidden,
    ExactRateLimited,
    ExactValidationError,
    UnknownOutcome,
)
from target_exactonline.exact_client.odata import quote_string
from target_exactonline.exact_payload import (
    ACCOUNTS,
    BANK_ENTRIES,
    PayloadError,
    account_body,
    bank_entry_body,
)
from target_exactonline.ledger import BookingLedger, LedgerConflict, LedgerRow, LinkedInvoice
from target_exactonline.progress import Progress
from target_exactonline.report import ClearingReport, Outcome, ReportLine, RunReport
from target_exactonline.settings import CUSTOM_PROFILE, TargetSettings
from target_exactonline.settlement_check import Judgement, judge_settlement
from target_exactonline.validate import check_plan, check_sales_journal

ATTENTION = {
    Reason.AMBIGUOUS: "Ambiguous: several open invoices fit; not linked",
    Reason.CLAIMED_TWICE: "Ambiguous: several payments point at one invoice; not linked",
    Reason.AMOUNT_MISMATCH: "Partial or over-payment; not linked",
    Reason.EMAIL_CUSTOMER: "Customer known by e-mail only; not linked",
    Reason.STANDARD_DEBTOR: "Unknown customer: booked on the standard debtor",
    Reason.NEW_RELATION: "Unknown customer: booked on a new customer",
    Reason.UNASSIGNED: "Unknown customer: booked on the unassigned account",
    Reason.CHARGEBACK_UNMATCHED: "Chargeback",
    Reason.CURRENCY_MISMATCH: "Invoice in another currency: booked on the customer, not linked",
    Reason.OTHER_LINE: "Unrecognised clearing line: booked on the unassigned account",
    Reason.INCONSISTENT_DIFFERENCE: "The clearing does not add up: difference on unassigned",
}


class ClearingsNotBooked(RuntimeError):
    """Raised after the run when any clearing was not booked (the others were)."""

    def __init__(self, report: RunReport) -> None:
        self.report = report
        failed = report.failed
        shown = ", ".join(c.clearing_id for c in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        super().__init__(
            f"{len(failed)} of {len(report.clearings)} clearings were not booked ({shown}{more}); "
            "they are retried on the next run. See the run report for the reasons."
        )


@dataclass(slots=True)
class _Item:
    """One clearing as it moves through the run."""

    clearing_id: str
    bundle: ClearingBundle
    report: ClearingReport
    converted: Converted | None = None
    plan: BookingPlan | None = None
    journal: str | None = None
    ledger_row: LedgerRow | None = None

    @property
    def clearing(self) -> Clearing | None:
        return self.converted.clearing if self.converted else None


@dataclass(slots=True)
class RunResult:
    report: RunReport
    earliest_unbooked: date | None
    progress_lines: list[str] = field(default_factory=list)


class _Stop(Exception):
    """Ends the posting loop: every clearing not yet handled is reported as not attempted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BookingRun:
    def __init__(
        self,
        settings: TargetSettings,
        *,
        client_factory: Callable[[], Any],
        ledger: BookingLedger,
        logger: logging.Logger,
        now: Callable[[], datetime] = _utcnow,
        run_id: str | None = None,
        refusal: str | None = None,
    ) -> None:
        self.settings = settings
        # Why the self-check says not to book (probe_store.ProbeStore.refusal), or None.
        self.refusal = refusal
        self._client_factory = client_factory
        self._client: Any = None
        self.ledger = ledger
        self.log = logger
        self.now = now
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.context = ctx.ExactContext()
        self._customer_ids: dict[str, str] = {}
        self._customer_names: dict[str, str] = {}
        self._rejections = 0
        self._problems: list[str] = []
        self._context_problems: list[str] = []  # found while reading Exact, run-wide
        self.progress: Progress | None = None

    # -- public -------------------------------------------------------------------------------

    def execute(self, collector: Collector) -> RunResult:
        s = self.settings
        report = RunReport(
            run_id=self.run_id, started_at=self.now(), division=s.division, dry_run=s.dry_run
        )
        report.problems.extend(p.describe() for p in collector.unattributed_problems())
        items = self._convert(collector)
        report.problems.extend(self._problems)
        report.clearings = [item.report for item in items]

        todo = self._drop_posted(items)
        if todo and self.refusal:
            if s.dry_run:
                report.problems.append(f"A live run would not book: {self.refusal}")
            else:
                report.stopped = self.refusal
                self._not_attempted(todo, self.refusal)
                self.log.error("Not booking: %s", self.refusal)
                todo = []
        if todo:
            try:
                todo = self._prepare(todo)
                self._book(todo)
            except _Stop as stop:
                report.stopped = stop.reason
                self._not_attempted(todo, stop.reason)
        report.problems.extend(self._context_problems)
        if self._client is not None:
            report.api_calls = self._client.calls_made
            report.api_remaining_today = self._client.remaining_today()
        report.finished_at = self.now()
        earliest = self._earliest_unbooked(items)
        return RunResult(
            report=report,
            earliest_unbooked=earliest,
            progress_lines=self.progress.lines if self.progress else [],
        )

    # -- 1. convert ---------------------------------------------------------------------------

    def _convert(self, collector: Collector) -> list[_Item]:
        transactions = transactions_by_order(collector.records(TRANSACTIONS))
        names = {
            str(g["code"]): str(g.get("name") or "")
            for g in collector.records(TURNOVER_GROUPS)
            if g.get("code")
        }
        self._check_group_settings(names)
        items = []
        judged: dict[Any, Judgement | None] = {}  # settlement code -> why it is not bookable
        for clearing_id, bundle in collector.bundles().items():
            report = ClearingReport(clearing_id=clearing_id, key=None, outcome=Outcome.BLOCKED)
            item = _Item(clearing_id, bundle, report)
            items.append(item)
            head = bundle.clearing or {}
            report.settlement_code = head.get("settlementCode") or (bundle.settlement or {}).get(
                "code"
            )
            report.settlement_date = _bundle_date(bundle)
            report.currency = head.get("currency")
            group = head.get("turnoverGroupCode") or _single(head.get("turnoverGroupCodes"))
            report.revenue_group = group
            try:
                report.key = idempotency_key(clearing_id)
            except InputError as exc:
                report.reason = f"the clearing id cannot be used as a booking key: {exc}"
                continue
            if names and group and group not in names:
                report.reason = (
                    f"revenue group {group} is not one of the merchant's revenue groups at Pay. "
                    f"({', '.join(sorted(names))})"
                )
                continue
            if bundle.clearing is not None and not self.settings.includes_group(group):
                report.outcome = Outcome.SKIPPED
                report.reason = (
                    f"revenue group {group or '(none)'} is not among the selected revenue groups"
                )
                continue
            code = (bundle.settlement or {}).get("code") or f"?{clearing_id}"
            if code not in judged:
                judged[code] = judge_settlement(bundle.settlement, clearing_id)
            verdict = judged[code]
            if verdict is not None:
                report.reason = verdict.reason
                report.blocked_reason = verdict.reason.split(":", 1)[0]  # its reason code
                report.totals = dict(verdict.totals)
                continue
            try:
                item.converted = convert_bundle(
                    bundle, transactions=transactions, group_names=names
                )
            except ConversionError as exc:
                report.reason = "; ".join(exc.problems)
                continue
            report.attention.extend(item.converted.notes)
            clearing = item.converted.clearing
            missing = missing_details(
                self._profile_of(clearing.revenue_group.code if clearing.revenue_group else None),
                bundle.records,
                transactions,
            )
            if missing:
                report.details_missing = missing
                self.log.warning("Clearing %s: %s", clearing_id, missing)
            report.settlement_date = clearing.settlement_date
            report.currency = clearing.currency
            if item.converted.mixed_groups and self.settings.revenue_groups:
                report.reason = (
                    f"the clearing mixes revenue groups {', '.join(item.converted.mixed_groups)}; "
                    "with selected revenue groups each clearing must hold one group (turn on "
                    "'payout per revenue group' at Pay.)"
                )
                continue
            report.outcome = Outcome.NOT_ATTEMPTED  # until the run decides
            group_code = clearing.revenue_group.code if clearing.revenue_group else None
            item.journal = self.settings.bank_journal_for(group_code)
            report.journal = item.journal
        return items

    def _check_group_settings(self, names: dict[str, str]) -> None:
        """Settings that name a revenue group Pay. does not know (when the groups arrived)."""
        if not names:
            return
        s = self.settings
        for code in sorted((s.revenue_groups | set(s.overrides)) - set(names)):
            self._problems.append(
                f"the settings name revenue group {code}, which is not one of the merchant's "
                f"revenue groups at Pay. ({', '.join(sorted(names))})"
            )

    # -- 2. the ledger ------------------------------------------------------------------------

    def _drop_posted(self, items: list[_Item]) -> list[_Item]:
        """Clearings the ledger holds as posted are done, whatever this run's copy looks like."""
        rows = self.ledger.rows(i.clearing_id for i in items)
        todo = []
        for item in items:
            row = item.ledger_row = rows.get(item.clearing_id)
            if row is not None and row.is_posted:
                item.report.outcome = Outcome.ALREADY_BOOKED
                item.report.entry_number = row.entry_number
                item.report.entry_id = row.entry_id
                item.report.reason = None
            elif item.report.outcome is Outcome.BLOCKED:
                if row is not None and row.outcome_unknown:
                    # Posted once without an answer, and this run's copy cannot be read: only
                    # a person can tell whether Exact holds it.
                    item.report.reason = (
                        f"{item.report.reason}; an earlier attempt to book it had no answer, so "
                        f"check Exact for lines starting with {row.booking_key} before fixing it"
                    )
                if not self.settings.dry_run:
                    self._ledger_blocked(item, item.report.reason or "not bookable")
                self.log.warning("Clearing %s not booked: %s", item.clearing_id, item.report.reason)
            elif item.report.outcome is Outcome.NOT_ATTEMPTED:
                todo.append(item)
        return todo

    # -- 3. + 4. context, plans, checks -------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def _read(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ExactError as exc:
            raise _Stop(f"reading {what} from Exact failed: {exc}") from None

    def _prepare(self, todo: list[_Item]) -> list[_Item]:
        s = self.settings
        clearings = [i.clearing for i in todo if i.clearing is not None]
        dates = [c.settlement_date for c in clearings]
        groups = {c.revenue_group.code if c.revenue_group else None for c in clearings}
        bank_journals = {i.journal for i in todo if i.journal}
        sales_journals = s.all_sales_journals()
        gl_codes: dict[str, set[str]] = {}
        for group in groups:
            for role, code in s.gl_for(group).items():
                gl_codes.setdefault(code, set()).add(role)

        c = self.context
        c.journals = self._read(
            "the journals", lambda: ctx.read_journals(self.client, bank_journals | sales_journals)
        )
        c.gl_accounts = self._read(
            "the GL accounts", lambda: ctx.read_gl_accounts(self.client, gl_codes)
        )
        c.periods = self._read(
            "the financial periods", lambda: ctx.read_periods(self.client, min(dates), max(dates))
        )
        booked = self._read(
            "the entries already booked",
            lambda: ctx.read_booked(self.client, bank_journals, min(dates)),
        )
        todo = self._settle_found(todo, booked)
        if not todo:
            return todo

        journal_problems = {
            code: problem
            for code in sales_journals
            if (problem := check_sales_journal(code, c.journals.get(code), s.division))
        }
        receivables = self._read(
            "the open invoices",
            lambda: ctx.read_receivables(self.client),
        )
        c.open_items = receivables.items
        c.receivable_signs = receivables.signs
        if receivables.signs.disagreement:
            self._context_problems.append(receivables.signs.describe())
        if any(r.customer_email for clearing in clearings for r in clearing.records):
            # Payments carry e-mails (the tap's enrichment): the open items get their
            # customers' e-mails so e-mail rules can apply, and new relations can be checked
            # against existing customers. One bulk read of the accounts.
            self._load_accounts()
            c.open_items = [
                dataclasses.replace(item, customer_email=account.email)
                if (account := c.accounts_by_id.get(item.customer_id)) and account.email
                else item
                for item in c.open_items
            ]
        for item in c.open_items:
            self._customer_ids.setdefault(item.customer_id, item.customer_id)
            self._customer_names.setdefault(item.customer_id, _customer_text(item))
        standard_problem = None
        if s.standard_debtor_code:
            account = self._read(
                "the standard debtor",
                lambda: ctx.read_account_by_code(self.client, s.standard_debtor_code or ""),
            )
            if account is None:
                standard_problem = (
                    f"standard debtor code {s.standard_debtor_code!r} does not exist in "
                    f"division {s.division}"
                )
            else:
                self._customer_ids[s.standard_debtor_code] = account.id
                self._customer_names[s.standard_debtor_code] = (
                    f"standard debtor {s.standard_debtor_code} ({account.name or ''})".replace(
                        " ()", ""
                    )
                )

        kill_points.reached("context_read")
        self._plan(todo)
        ready = []
        for item in todo:
            plan = item.plan
            if plan is None:
                continue
            self._fill_report(item)
            if plan.status is Status.BLOCKED:
                self._block(item, plan.explanation)
                continue
            doubtful = c.receivable_signs.blocks(line.link for line in plan.lines)
            if doubtful:
                self._block(item, doubtful)
                continue
            problems = check_plan(
                plan,
                journal_code=item.journal or s.bank_journal,
                context=c,
                division=s.division,
                sales_journal_problems=self._sales_journal_problems(item, journal_problems),
            )
            if standard_problem and any(
                line.customer_kind is CustomerKind.STANDARD_DEBTOR for line in plan.lines
            ):
                problems.insert(0, standard_problem)
            if problems:
                self._block(item, "; ".join(problems))
                continue
            ready.append(item)
        return ready

    def _sales_journal_problems(self, item: _Item, problems: dict[str, str]) -> list[str]:
        group = (
            item.clearing.revenue_group.code
            if item.clearing and item.clearing.revenue_group
            else None
        )
        override = self.settings.overrides.get(group or "")
        code = (override.sales_journal if override else None) or self.settings.sales_journal
        return [problems[code]] if code in problems else []

    def _settle_found(self, todo: list[_Item], booked: dict[str, ctx.BookedEntry]) -> list[_Item]:
        """Clearings Exact already holds (a lost ledger, a POST whose answer was lost)."""
        remaining = []
        for item in todo:
            entry = booked.get(item.clearing_id)
            row = item.ledger_row
            if entry is not None:
                if not self.settings.dry_run:
                    self.ledger.record_posted_elsewhere(
                        item.clearing_id,
                        booking_key=item.report.key or "",
                        settlement_date=item.report.settlement_date,
                        entry_id=entry.entry_id,
                        entry_number=entry.entry_number,
                    )
                item.report.outcome = Outcome.ALREADY_BOOKED
                item.report.entry_id = entry.entry_id
                item.report.entry_number = entry.entry_number
                item.report.attention.append(
                    "found already booked in Exact by its key (the booking ledger did not know)"
                    if row is None or not row.outcome_unknown
                    else "the previous run's POST had no answer; Exact holds the entry"
                )
                continue
            if row is not None and row.outcome_unknown and not self.settings.dry_run:
                # The POST never reached Exact: it may be planned and sent again.
                self.ledger.mark_failed(
                    item.clearing_id, "the previous attempt had no answer and is not in Exact"
                )
            remaining.append(item)
        return remaining

    def _engine_profile(self, name: str) -> str | EngineProfile:
        s = self.settings
        if name == CUSTOM_PROFILE:
            return EngineProfile(
                name=CUSTOM_PROFILE, payment_fields=s.matching_fields, regex=s.matching_regex
            )
        return name

    def _profile_of(self, group: str | None) -> EngineProfile:
        override = self.settings.overrides.get(group or "")
        name = (override.matching_profile if override else None) or self.settings.matching_profile
        profile = self._engine_profile(name)
        return PROFILES[profile] if isinstance(profile, str) else profile

    def _engine_settings(self, clearings: list[Clearing]) -> Settings:
        s = self.settings
        overrides = {
            code: RevenueGroupOverride(
                journal=o.bank_journal,
                sales_journal=o.sales_journal,
                debtors=o.gl.get("debtors"),
                psp_costs=o.gl.get("psp_costs"),
                payouts=o.gl.get("payouts"),
                unassigned=o.gl.get("unassigned"),
                profile=self._engine_profile(o.matching_profile) if o.matching_profile else None,
            )
            for code, o in s.overrides.items()
        }
        return Settings(
            gl=GLAccounts(**s.gl),
            # Every currency passes the engine; whether the journal takes it is checked per plan
            # with the journal named.
            currencies=tuple(sorted({c.currency for c in clearings})) or ("EUR",),
            sales_journal=s.sales_journal,
            standard_debtor=s.standard_debtor_code,
            create_relations=s.create_relations,
            book_inconsistent_difference=s.book_inconsistent_difference,
            revenue_group_overrides=overrides,
            profile=self._engine_profile(s.matching_profile),
        )

    def _plan(self, todo: list[_Item]) -> None:
        """Plan all clearings of the run with the engine in one call.

        Revenue groups may sell through different webshops and so read references with
        different profiles; the engine takes a profile per group and counts the claims on an
        open item across all of them, so an invoice that payments of two groups point at is
        linked by neither, whatever the order of the clearings.
        """
        by_id = {i.clearing_id: i for i in todo}
        clearings = [i.clearing for i in todo if i.clearing is not None]
        settings = self._engine_settings(clearings)
        index = build_index(self.context.open_items)
        try:
            plans = plan_run(clearings, index, settings)
        except InputError:
            # One clearing the engine cannot take must not stop the others: find it, block it,
            # and plan the rest together.
            good = []
            for clearing in clearings:
                try:
                    plan_clearing(clearing, build_index(()), settings)
                except InputError as exc:
                    self._block(by_id[clearing.clearing_id], str(exc))
                else:
                    good.append(clearing)
            plans = plan_run(good, index, settings)
        for plan in plans:
            by_id[plan.clearing_id].plan = plan

    # -- reporting helpers --------------------------------------------------------------------

    def _customer_label(self, line: PlanLine, relations: dict[str, NewRelation]) -> str | None:
        if line.customer is None:
            return None
        if line.customer_kind is CustomerKind.NEW_RELATION:
            relation = relations.get(line.customer)
            if relation is not None:
                email = f" <{relation.email}>" if relation.email else ""
                return f"new customer {relation.name}{email}"
        return self._customer_names.get(line.customer, line.customer)

    def _fill_report(self, item: _Item) -> None:
        plan = item.plan
        assert plan is not None
        report = item.report
        relations = {r.temp_id: r for r in plan.relations}
        # Every figure of the plan's totals, so figures the engine adds show up by themselves.
        report.totals = {
            name: value
            for name, value in dataclasses.asdict(plan.totals).items()
            if isinstance(value, Decimal)
        }
        report.blocked_reason = plan.blocked_reason.value if plan.blocked_reason else None
        report.lines = [
            ReportLine(
                role=line.role.value,
                gl=line.gl,
                amount=line.amount,
                description=line.description,
                reason=line.reason.value,
                explanation=line.explanation,
                customer=self._customer_label(line, relations),
                invoice=line.link,
                record_id=line.record_id,
                candidates=line.candidates,
                attention=_attention(line),
                record_kind=line.record_kind.value if line.record_kind else None,
                booked_on=_booked_on(line),
            )
            for line in plan.lines
        ]
        report.keep_figures()
        if plan.status is Status.BLOCKED:
            report.reason = plan.explanation

    # -- 5. posting ---------------------------------------------------------------------------

    def _book(self, ready: list[_Item]) -> None:
        if self.settings.dry_run:
            for item in ready:
                item.report.outcome = Outcome.WOULD_BOOK
                item.report.reason = None
            return
        self.progress = Progress(
            self.log,
            len(ready),
            calls_made=lambda: self.client.calls_made,
            remaining_today=self.client.remaining_today,
        )
        remaining = list(ready)
        try:
            while remaining:
                item = remaining[0]
                self._book_one(item)
                remaining.pop(0)
                self.progress.step(ok=item.report.outcome is Outcome.BOOKED)
        except _Stop as stop:
            self._not_attempted(remaining, stop.reason)
            raise

    def _book_one(self, item: _Item) -> None:
        plan = item.plan
        assert plan is not None
        new_relations = [r for r in plan.relations if r.temp_id not in self._customer_ids]
        needed = 2 + len(new_relations)  # the POST, a possible look-up, the relations
        if not self.client.can_afford(needed):
            raise _Stop(
                f"the daily Exact API budget is used up ({self.client.remaining_today()} calls "
                "left); the remaining clearings are booked on the next run"
            )
        try:
            self.ledger.plan(
                item.clearing_id,
                booking_key=plan.key,
                plan_digest=_digest(plan),
                settlement_date=plan.entry_date,
            )
        except LedgerConflict as exc:
            item.report.outcome = Outcome.FAILED
            item.report.reason = str(exc)
            return
        for relation in new_relations:
            if not self._create_relation(item, relation):
                return
        try:
            body = bank_entry_body(
                plan,
                journal_code=item.journal or self.settings.bank_journal,
                gl_ids={code: gl.id for code, gl in self.context.gl_accounts.items()},
                customer_ids=self._customer_ids,
                psp_costs_vat_code=self.settings.psp_costs_vat_code,
            )
        except PayloadError as exc:
            self._fail(item, f"the entry could not be built: {exc}")
            return
        self._post(item, body)

    def _post(self, item: _Item, body: dict[str, Any]) -> None:
        plan = item.plan
        assert plan is not None
        self.ledger.start_posting(item.clearing_id)
        kill_points.reached("before_post")
        try:
            entry = self.client.post(BANK_ENTRIES, body)
        except UnknownOutcome as exc:
            found = self._look_up(item)
            if found is not None:
                self._posted(item, found.entry_id, found.entry_number)
                return
            # Not there yet. Exact may still be storing it (it went on after the client's
            # timeout, or the connection broke after the request went out): sending it again
            # now could book it twice. The next run looks it up again before sending it.
            self._fail(
                item,
                f"Exact did not answer and the entry is not in Exact ({exc}); the next run "
                "looks it up again before it sends it again",
            )
            return
        except (ExactValidationError, ExactBadRequest) as exc:
            self._rejected(item, exc)
            return
        except (ExactForbidden, ExactAuthError) as exc:
            self._fail(item, f"Exact refused access: {exc}")
            raise _Stop(
                f"Exact refused access ({exc}); `{check_command()}` says what is missing"
            ) from None
        except (ExactBudgetExhausted, ExactRateLimited) as exc:
            self._fail(item, f"not sent: {exc}")
            raise _Stop(str(exc)) from None
        except ExactError as exc:
            self._rejected(item, exc)
            return
        kill_points.reached("after_post")
        entry_id = str(entry.get("EntryID") or "")
        number = entry.get("EntryNumber")
        self._posted(item, entry_id, int(number) if number is not None else None)

    def _look_up(self, item: _Item) -> ctx.BookedEntry | None:
        plan = item.plan
        assert plan is not None
        try:
            found = ctx.read_booked(
                self.client,
                [item.journal or self.settings.bank_journal],
                plan.entry_date,
                description=plan.lines[0].description,
                on=plan.entry_date,
            )
        except ExactError as exc:
            self._fail(item, f"Exact did not answer the POST and the look-up failed too: {exc}")
            raise _Stop(f"Exact is not answering: {exc}") from None
        return found.get(item.clearing_id)

    def _posted(self, item: _Item, entry_id: str, entry_number: int | None) -> None:
        self.ledger.mark_posted(item.clearing_id, entry_id=entry_id, entry_number=entry_number)
        kill_points.reached("after_ledger")
        plan = item.plan
        if plan is not None:
            # For the self-check: these invoices must no longer be open once Exact has the entry.
            self.ledger.record_links(
                item.clearing_id,
                [
                    LinkedInvoice(
                        clearing_id=item.clearing_id,
                        invoice_number=line.link,
                        receivable_id=line.open_item,
                        amount=line.amount,
                        currency=plan.currency,
                        customer_id=self._customer_ids.get(line.customer or ""),
                    )
                    for line in plan.lines
                    if line.link and line.open_item
                ],
            )
        item.report.outcome = Outcome.BOOKED
        item.report.entry_id = entry_id
        item.report.entry_number = entry_number
        item.report.reason = None

    def _rejected(self, item: _Item, exc: ExactError) -> None:
        self._rejections += 1
        plan = item.plan
        assert plan is not None
        period = self.context.period_for(plan.entry_date)
        where = f"dated {plan.entry_date.isoformat()}"
        if period is not None:
            where += f" (period {period.year}/{period.number})"
        journal = item.journal or self.settings.bank_journal
        # Exact's text is localised and only shown, never interpreted; the date, period and
        # journal say where to look (a closed period, a blocked account, ...).
        self._fail(item, f"Exact refused the entry {where} in journal {journal}: {exc}")
        if self._rejections >= self.settings.max_rejections:
            raise _Stop(
                f"Exact refused {self._rejections} entries in this run; stopping to protect the "
                "app's error budget (10 errors per endpoint per hour)"
            )

    def _create_relation(self, item: _Item, relation: NewRelation) -> bool:
        key = f"email:{relation.email}" if relation.email else relation.temp_id
        known = self.ledger.known_relation(key)
        if known is None and relation.email:
            existing = self._existing_account(relation.email)
            if existing is not None:
                known = (existing.id, existing.code)
                self.ledger.remember_relation(
                    key, account_id=existing.id, account_code=existing.code
                )
        if known is not None:
            self._customer_ids[relation.temp_id] = known[0]
            return True
        try:
            created = self.client.post(ACCOUNTS, account_body(relation))
        except UnknownOutcome as exc:
            found = self._find_account_by_email(relation.email) if relation.email else None
            if found is None:
                self._fail(item, f"creating customer {relation.name!r} got no answer: {exc}")
                return False
            created = {"ID": found.id, "Code": found.code}
        except (ExactValidationError, ExactBadRequest) as exc:
            self._rejections += 1
            self._fail(item, f"Exact refused to create customer {relation.name!r}: {exc}")
            return False
        except (ExactForbidden, ExactAuthError) as exc:
            self._fail(item, f"Exact refused to create customer {relation.name!r}: {exc}")
            raise _Stop(f"Exact refused access ({exc})") from None
        except ExactError as exc:
            self._fail(item, f"creating customer {relation.name!r} failed: {exc}")
            raise _Stop(str(exc)) from None
        kill_points.reached("relation_created")
        account_id = str(created.get("ID") or "")
        code = created.get("Code")
        self.ledger.remember_relation(key, account_id=account_id, account_code=code)
        self._customer_ids[relation.temp_id] = account_id
        item.report.relations_created.append(
            f"{relation.name}" + (f" <{relation.email}>" if relation.email else "")
        )
        return True

    def _existing_account(self, email: str) -> ctx.Account | None:
        """An Exact customer that already has this e-mail (read once, in bulk, when needed)."""
        self._load_accounts()
        found = self.context.accounts_by_email.get(email.strip().lower()) or []
        return found[0] if len(found) == 1 else None

    def _load_accounts(self) -> None:
        c = self.context
        if not c.accounts_read:
            c.add_accounts(self._read("the customers", lambda: ctx.read_accounts(self.client)))
            c.accounts_read = True

    def _find_account_by_email(self, email: str) -> ctx.Account | None:
        rows = self.client.get_all(
            ACCOUNTS, select="ID,Code,Name,Email", filter=f"Email eq {quote_string(email)}", top=1
        )
        for row in rows:
            return ctx.Account(str(row["ID"]), row.get("Code"), row.get("Name"), row.get("Email"))
        return None

    # -- outcomes -----------------------------------------------------------------------------

    def _fail(self, item: _Item, reason: str) -> None:
        item.report.outcome = Outcome.FAILED
        item.report.reason = reason
        row = self.ledger.get(item.clearing_id)
        if row is not None and not row.is_posted:
            self.ledger.mark_failed(item.clearing_id, reason)
        self.log.error("Clearing %s not booked: %s", item.clearing_id, reason)

    def _block(self, item: _Item, reason: str) -> None:
        item.report.outcome = Outcome.BLOCKED
        item.report.reason = reason
        if not self.settings.dry_run:
            self._ledger_blocked(item, reason)
        self.log.warning("Clearing %s not booked: %s", item.clearing_id, reason)

    def _ledger_blocked(self, item: _Item, reason: str) -> None:
        try:
            self.ledger.mark_blocked(
                item.clearing_id,
                reason,
                booking_key=item.report.key or f"?{item.clearing_id}",
                settlement_date=item.report.settlement_date,
                plan_digest=_digest(item.plan) if item.plan else None,
            )
        except LedgerConflict as exc:
            self.log.warning("Clearing %s: %s", item.clearing_id, exc)

    def _not_attempted(self, items: Iterable[_Item], reason: str) -> None:
        for item in items:
            if item.report.outcome is Outcome.NOT_ATTEMPTED:
                item.report.reason = reason

    def _earliest_unbooked(self, items: list[_Item]) -> date | None:
        known = [i.report.settlement_date for i in items if i.report.settlement_date]
        dates = []
        for item in items:
            if item.report.outcome.is_problem:
                dates.append(item.report.settlement_date or (min(known) if known else None))
        dates = [d for d in dates if d is not None]
        return min(dates) if dates else None


def _attention(line: PlanLine) -> str | None:
    if line.record_kind is RecordKind.CHARGEBACK:
        return ATTENTION[Reason.CHARGEBACK_UNMATCHED] if line.link is None else "Chargeback"
    return ATTENTION.get(line.reason)


def _booked_on(line: PlanLine) -> str | None:
    if line.customer_kind is CustomerKind.STANDARD_DEBTOR:
        return "standard_debtor"
    if line.customer_kind is not None:
        return "customer" if line.customer_kind is CustomerKind.EXISTING else "new_relation"
    return "unassigned" if line.role is Role.UNASSIGNED else None


def _digest(plan: BookingPlan) -> str:
    lines = [
        [line.gl, str(line.amount), line.customer, line.link, line.description]
        for line in plan.lines
    ]
    text = json.dumps([plan.key, str(plan.entry_date), plan.currency, plan.journal, lines])
    return hashlib.sha256(text.encode()).hexdigest()


def _customer_text(item: OpenItem) -> str:
    """A customer as a bookkeeper finds it in Exact: the name with the account code beside it."""
    code = item.customer_code.strip() if item.customer_code else None
    if item.customer_name and code:
        return f"{item.customer_name} ({code})"
    return item.customer_name or code or item.customer_id


def _single(values: Any) -> str | None:
    if isinstance(values, list) and len(values) == 1:
        return str(values[0])
    return None


def _bundle_date(bundle: ClearingBundle) -> date | None:
    for source in (bundle.clearing, bundle.settlement, *bundle.lines):
        if not source:
            continue
        value = source.get("settlementDate")
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None
