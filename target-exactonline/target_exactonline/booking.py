"""Phase 5 of a booking run: one checked plan booked in Exact.

The relations a plan needs are created first, then one bank entry is posted per clearing; each
step is recorded in the ledger before and after, and a POST whose outcome is unknown is looked
up before it is ever sent again. ``Stop`` ends the posting for the whole run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pay_exact_transform import BookingPlan, NewRelation

from target_exactonline import context as ctx
from target_exactonline import kill_points
from target_exactonline.clearing_item import Item, Outcomes, Stop, plan_digest
from target_exactonline.commands import check_command
from target_exactonline.context_reading import ExactFacts, load_accounts
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
from target_exactonline.lazy_client import LazyClient
from target_exactonline.ledger import BookingLedger, LedgerConflict, LedgerRow, LinkedInvoice
from target_exactonline.report import Outcome
from target_exactonline.settings import TargetSettings


class Booker:
    def __init__(
        self,
        settings: TargetSettings,
        *,
        client: LazyClient,
        ledger: BookingLedger,
        facts: ExactFacts,
        outcomes: Outcomes,
    ) -> None:
        self.settings = settings
        self._client = client
        self.ledger = ledger
        self.facts = facts
        self.outcomes = outcomes
        self._rejections = 0

    @property
    def client(self) -> Any:
        return self._client()

    def book(self, item: Item) -> None:
        plan = item.plan
        assert plan is not None
        customer_ids = self.facts.customer_ids
        new_relations = [r for r in plan.relations if r.temp_id not in customer_ids]
        needed = 2 + len(new_relations)  # the POST, a possible look-up, the relations
        reserve = self.settings.daily_call_reserve
        if not self.client.can_afford(needed + reserve):
            left = self.client.remaining_today()
            if reserve:
                raise Stop(
                    f"the daily Exact API budget is used up to its reserve ({left} calls left, "
                    f"{reserve} kept free for the division's other apps by "
                    "'daily_call_reserve'); the remaining clearings are booked on the next run"
                )
            raise Stop(
                f"the daily Exact API budget is used up ({left} calls left); the remaining "
                "clearings are booked on the next run"
            )
        # Planned before the customers are created; otherwise planned and marked posting in
        # one commit, just before the POST (``_post``).
        if new_relations and not self._in_ledger(
            item, lambda: self.ledger.plan(item.clearing_id, **_planned(plan))
        ):
            return
        for relation in new_relations:
            if not self._create_relation(item, relation):
                return
        try:
            body = bank_entry_body(
                plan,
                journal_code=item.journal or self.settings.bank_journal,
                gl_ids={code: gl.id for code, gl in self.facts.context.gl_accounts.items()},
                customer_ids=customer_ids,
                psp_costs_vat_code=self.settings.psp_costs_vat_code,
            )
        except PayloadError as exc:
            self.outcomes.fail(item, f"the entry could not be built: {exc}")
            return
        self._post(item, body, planned=bool(new_relations))

    def _in_ledger(self, item: Item, write: Callable[[], LedgerRow]) -> bool:
        """One ledger step before Exact is called; a conflict fails the clearing instead."""
        try:
            write()
        except LedgerConflict as exc:
            item.report.outcome = Outcome.FAILED
            item.report.reason = str(exc)
            return False
        return True

    def _post(self, item: Item, body: dict[str, Any], *, planned: bool) -> None:
        plan = item.plan
        assert plan is not None
        fields = {} if planned else _planned(plan)
        if not self._in_ledger(item, lambda: self.ledger.start_posting(item.clearing_id, **fields)):
            return
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
            self.outcomes.fail(
                item,
                f"Exact did not answer and the entry is not in Exact ({exc}); the next run "
                "looks it up again before it sends it again",
            )
            return
        except (ExactValidationError, ExactBadRequest) as exc:
            self._rejected(item, exc)
            return
        except (ExactForbidden, ExactAuthError) as exc:
            self.outcomes.fail(item, f"Exact refused access: {exc}")
            raise Stop(
                f"Exact refused access ({exc}); `{check_command()}` says what is missing"
            ) from None
        except (ExactBudgetExhausted, ExactRateLimited) as exc:
            self.outcomes.fail(item, f"not sent: {exc}")
            raise Stop(str(exc)) from None
        except ExactError as exc:
            self._rejected(item, exc)
            return
        kill_points.reached("after_post")
        entry_id = str(entry.get("EntryID") or "")
        number = entry.get("EntryNumber")
        self._posted(item, entry_id, int(number) if number is not None else None)

    def _look_up(self, item: Item) -> ctx.BookedEntry | None:
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
            self.outcomes.fail(
                item, f"Exact did not answer the POST and the look-up failed too: {exc}"
            )
            raise Stop(f"Exact is not answering: {exc}") from None
        return found.get(item.clearing_id)

    def _posted(self, item: Item, entry_id: str, entry_number: int | None) -> None:
        # Committed with the next clearing's 'posting' (or the run's end): if the process dies
        # first, the row says 'posting' and the next run finds the entry by its key.
        self.ledger.mark_posted_later(
            item.clearing_id, entry_id=entry_id, entry_number=entry_number
        )
        kill_points.reached("after_ledger")
        plan = item.plan
        if plan is not None:
            # For the self-check: these invoices must no longer be open once Exact has the entry.
            self.ledger.record_links_later(
                item.clearing_id,
                [
                    LinkedInvoice(
                        clearing_id=item.clearing_id,
                        invoice_number=line.link,
                        receivable_id=line.open_item,
                        amount=line.amount,
                        currency=plan.currency,
                        customer_id=self.facts.customer_ids.get(line.customer or ""),
                    )
                    for line in plan.lines
                    if line.link and line.open_item
                ],
            )
        item.report.outcome = Outcome.BOOKED
        item.report.entry_id = entry_id
        item.report.entry_number = entry_number
        item.report.reason = None

    def _rejected(self, item: Item, exc: ExactError) -> None:
        self._rejections += 1
        plan = item.plan
        assert plan is not None
        period = self.facts.context.period_for(plan.entry_date)
        where = f"dated {plan.entry_date.isoformat()}"
        if period is not None:
            where += f" (period {period.year}/{period.number})"
        journal = item.journal or self.settings.bank_journal
        # Exact's text is localised and only shown, never interpreted; the date, period and
        # journal say where to look (a closed period, a blocked account, ...).
        self.outcomes.fail(item, f"Exact refused the entry {where} in journal {journal}: {exc}")
        if self._rejections >= self.settings.max_rejections:
            raise Stop(
                f"Exact refused {self._rejections} entries in this run; stopping to protect the "
                "app's error budget (10 errors per endpoint per hour)"
            )

    def _create_relation(self, item: Item, relation: NewRelation) -> bool:
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
            self.facts.customer_ids[relation.temp_id] = known[0]
            return True
        fail = self.outcomes.fail
        try:
            created = self.client.post(ACCOUNTS, account_body(relation))
        except UnknownOutcome as exc:
            found = self._find_account_by_email(relation.email) if relation.email else None
            if found is None:
                fail(item, f"creating customer {relation.name!r} got no answer: {exc}")
                return False
            created = {"ID": found.id, "Code": found.code}
        except (ExactValidationError, ExactBadRequest) as exc:
            self._rejections += 1
            fail(item, f"Exact refused to create customer {relation.name!r}: {exc}")
            return False
        except (ExactForbidden, ExactAuthError) as exc:
            fail(item, f"Exact refused to create customer {relation.name!r}: {exc}")
            raise Stop(f"Exact refused access ({exc})") from None
        except ExactError as exc:
            fail(item, f"creating customer {relation.name!r} failed: {exc}")
            raise Stop(str(exc)) from None
        kill_points.reached("relation_created")
        account_id = str(created.get("ID") or "")
        code = created.get("Code")
        self.ledger.remember_relation(key, account_id=account_id, account_code=code)
        self.facts.customer_ids[relation.temp_id] = account_id
        item.report.relations_created.append(
            f"{relation.name}" + (f" <{relation.email}>" if relation.email else "")
        )
        return True

    def _existing_account(self, email: str) -> ctx.Account | None:
        """An Exact customer that already has this e-mail (read once, in bulk, when needed)."""
        load_accounts(self.facts.context, self._client)
        found = self.facts.context.accounts_by_email.get(email.strip().lower()) or []
        return found[0] if len(found) == 1 else None

    def _find_account_by_email(self, email: str) -> ctx.Account | None:
        rows = self.client.get_all(
            ACCOUNTS, select="ID,Code,Name,Email", filter=f"Email eq {quote_string(email)}", top=1
        )
        for row in rows:
            return ctx.Account(str(row["ID"]), row.get("Code"), row.get("Name"), row.get("Email"))
        return None


def _planned(plan: BookingPlan) -> dict[str, Any]:
    """The ledger's fields of a planned clearing."""
    return {
        "booking_key": plan.key,
        "plan_digest": plan_digest(plan),
        "settlement_date": plan.entry_date,
    }
