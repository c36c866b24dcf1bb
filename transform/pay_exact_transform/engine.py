"""The reconciliation engine: clearings + open items + settings in, booking plans out.

Three passes over a run, each linear:
1. validate every clearing and find each record's candidates (hash lookups only), counting
   how many records of the run claim each open item;
2. decide every record by rules 3 to 7, knowing the claims of the whole run;
3. assemble the plans and the relations to create.
No pass depends on the order of its input: clearings are handled by id, records by id, and
everything that reaches the output is sorted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .consistency import Check, check_clearing, signed_line
from .describe import (
    KIND_WORD,
    clean,
    customer_label,
    invoice_list,
    line_description,
    record_label,
    refs_text,
)
from .errors import InputError
from .index import OpenItemIndex, build_index, normalise_email, postings, without_cyclic_gc
from .keys import idempotency_key
from .model import (
    Clearing,
    ClearingLine,
    Direction,
    LineKind,
    OpenItem,
    PaymentRecord,
    RecordKind,
)
from .money import ZERO, check_amount, fmt, quantum
from .plan import (
    BlockReason,
    BookingPlan,
    CustomerKind,
    NewRelation,
    PlanLine,
    Reason,
    Role,
    Status,
)
from .profiles import resolve_profile
from .settings import MatchProfile, Settings
from .tokens import make_key_function

# Enum members looked up once: attribute access on an Enum class is slow in a hot loop.
_PAYMENT = RecordKind.PAYMENT
_CHARGEBACK = RecordKind.CHARGEBACK
_DEBTORS = Role.DEBTORS
_UNASSIGNED = Role.UNASSIGNED
_EXISTING = CustomerKind.EXISTING
_MATCHED = Reason.MATCHED
_BY_REFERENCE = 1
_BY_EMAIL = 2
MAX_HINTS = 3
FLAGGED = frozenset(
    {
        Reason.CHARGEBACK_UNMATCHED,
        Reason.CLAIMED_TWICE,
        Reason.OTHER_LINE,
        Reason.INCONSISTENT_DIFFERENCE,
    }
)


@dataclass(slots=True)
class _Context:
    """One clearing, validated, with its effective settings."""

    clearing: Clearing
    key: str
    records: list[PaymentRecord]
    check: Check
    gl: dict[Role, str]
    gl_debtors: str
    gl_unassigned: str
    quantum: Decimal
    journal: str | None
    sales_journal: str | None
    books: bool  # False when blocked: the records still claim open items


@dataclass(slots=True)
class _Found:
    """Pass-1 result for one record."""

    record: PaymentRecord
    signed: Decimal
    keys: list[str]
    candidates: list[int]
    mode: int  # _BY_REFERENCE or _BY_EMAIL (meaningful when candidates exist)
    cause: Reason | None  # NO_REFERENCE, NO_CANDIDATE or CURRENCY_MISMATCH when none
    hits: list[int]  # items carrying a reference, before the rule-2 filters


def plan_clearing(
    clearing: Clearing,
    open_items: OpenItemIndex | Sequence[OpenItem],
    settings: Settings,
) -> BookingPlan:
    """Plan one clearing on its own (a run of one)."""
    return plan_run([clearing], open_items, settings)[0]


def plan_run(
    clearings: Iterable[Clearing],
    open_items: OpenItemIndex | Sequence[OpenItem],
    settings: Settings,
) -> list[BookingPlan]:
    """Plan the clearings of one run jointly, sorted by clearing id.

    An open item that several records of the run point at is linked by none of them, so no
    open item is ever linked twice, within a plan or across plans.
    """
    with without_cyclic_gc():
        return _plan_run(clearings, open_items, settings)


def _plan_run(
    clearings: Iterable[Clearing],
    open_items: OpenItemIndex | Sequence[OpenItem],
    settings: Settings,
) -> list[BookingPlan]:
    index = open_items if isinstance(open_items, OpenItemIndex) else build_index(open_items)
    profile = resolve_profile(settings.profile)
    contexts = [_prepare(c, settings) for c in _distinct_clearings(clearings)]
    finder = _Finder(index, profile, settings)

    claims: dict[int, int] = {}
    found_per_clearing: list[list[_Found]] = []
    for ctx in contexts:
        found_here = []
        for record in ctx.records:
            found = finder.find(record, ctx.sales_journal)
            for idx in found.candidates:
                claims[idx] = claims.get(idx, 0) + 1
            found_here.append(found)
        found_per_clearing.append(found_here)

    decider = _Decider(index, profile, settings, claims)
    drafts = []
    for ctx, found_here in zip(contexts, found_per_clearing, strict=True):
        if ctx.books:
            drafts.append((ctx, _record_lines(ctx, found_here, decider, finder)))
        else:
            drafts.append((ctx, []))
    relations = decider.relations()
    return [_assemble(ctx, lines, relations) for ctx, lines in drafts]


# ---------------------------------------------------------------------------- validation


def _distinct_clearings(clearings: Iterable[Clearing]) -> list[Clearing]:
    by_id: dict[str, Clearing] = {}
    for clearing in clearings:
        if not isinstance(clearing, Clearing):
            got = type(clearing).__name__
            raise InputError("run", "clearings", f"must hold Clearing, got {got}")
        previous = by_id.get(clearing.clearing_id)
        if previous is not None and previous != clearing:
            raise InputError(
                f"clearing {clearing.clearing_id!r}", "clearing_id", "is used by two clearings"
            )
        by_id[clearing.clearing_id] = clearing
    return [by_id[k] for k in sorted(by_id)]


def _prepare(clearing: Clearing, settings: Settings) -> _Context:
    key = idempotency_key(clearing.clearing_id)
    where = f"clearing {clearing.clearing_id!r}"
    currency = clearing.currency
    if not currency or not isinstance(currency, str):
        raise InputError(where, "currency", "must be a currency code")
    if not isinstance(clearing.settlement_date, date):
        raise InputError(where, "settlement_date", "must be a date")
    check_amount(clearing.payout, currency, where, "payout", allow_negative=True)
    for line in clearing.lines:
        _validate_line(line, currency, where)
    records = _distinct_records(clearing, where)

    override = None
    group = clearing.revenue_group
    if group is not None:
        override = settings.revenue_group_overrides.get(group.code)
    gl = {
        Role.DEBTORS: settings.gl.debtors,
        Role.PSP_COSTS: settings.gl.psp_costs,
        Role.PAYOUTS: settings.gl.payouts,
        Role.UNASSIGNED: settings.gl.unassigned,
    }
    journal = None
    sales_journal = settings.sales_journal
    if override is not None:
        for role in Role:
            value = getattr(override, role.value)
            if value:
                gl[role] = value
        journal = override.journal
        sales_journal = override.sales_journal or sales_journal

    check = check_clearing(clearing, records, tuple(settings.currencies))
    books = check.problem is None or (
        settings.book_inconsistent_difference
        and check.problem is not BlockReason.CURRENCY_NOT_SUPPORTED
    )
    return _Context(
        clearing,
        key,
        records,
        check,
        gl,
        gl[Role.DEBTORS],
        gl[Role.UNASSIGNED],
        quantum(currency),
        journal,
        sales_journal,
        books,
    )


def _validate_line(line: ClearingLine, currency: str, where: str) -> None:
    if not isinstance(line, ClearingLine):
        raise InputError(where, "lines", f"must hold ClearingLine, got {type(line).__name__}")
    here = f"{where}, line {line.code!r}"
    if not isinstance(line.direction, Direction):
        raise InputError(here, "direction", f"must be CREDIT or DEBIT, got {line.direction!r}")
    if not isinstance(line.kind, LineKind):
        raise InputError(here, "kind", f"must be a LineKind, got {line.kind!r}")
    check_amount(line.amount, currency, here, "amount", allow_negative=False)
    if line.transactions is not None and (
        not isinstance(line.transactions, int) or line.transactions < 0
    ):
        raise InputError(here, "transactions", "must be None or a count >= 0")


def _distinct_records(clearing: Clearing, where: str) -> list[PaymentRecord]:
    by_id: dict[str, PaymentRecord] = {}
    quanta: dict[str, Decimal] = {}
    for record in clearing.records:
        if not isinstance(record, PaymentRecord):
            got = type(record).__name__
            raise InputError(where, "records", f"must hold PaymentRecord, got {got}")
        record_id = record.record_id
        previous = by_id.get(record_id)
        if previous is not None:
            if previous == record:
                continue  # the same record delivered twice
            raise InputError(f"{where}, record {record_id!r}", "record_id", "is used twice")
        if not record_id or not isinstance(record_id, str):
            raise InputError(where, "record_id", "must be a non-empty string")
        if record.kind.__class__ is not RecordKind:
            raise InputError(f"{where}, record {record_id!r}", "kind", f"is {record.kind!r}")
        currency = record.currency
        q = quanta.get(currency)
        if q is None:
            if not currency or not isinstance(currency, str):
                raise InputError(f"{where}, record {record_id!r}", "currency", "is missing")
            q = quanta[currency] = quantum(currency)
        amount = record.amount
        try:
            valid = amount.__class__ is Decimal and amount >= ZERO and amount.quantize(q) == amount
        except ArithmeticError:
            valid = False
        if not valid:
            check_amount(
                amount, currency, f"{where}, record {record_id!r}", "amount", allow_negative=False
            )
        by_id[record_id] = record
    return [by_id[k] for k in sorted(by_id)]


# ---------------------------------------------------------------------------- pass 1


class _Finder:
    """Rule 1 (references) and rule 2 (candidates), plus the candidates of rule 7."""

    def __init__(self, index: OpenItemIndex, profile: MatchProfile, settings: Settings) -> None:
        self.items = index.items
        self.index = index
        self.profile = profile
        self.table = index.references(profile) if profile.payment_fields else {}
        self.keys = make_key_function(
            strip_leading_zeros=profile.strip_leading_zeros,
            min_length=profile.min_length,
            require_digit=profile.require_digit,
            regex=profile.regex,
        )
        self.fields = profile.payment_fields
        self.window = settings.date_window_days

    def record_keys(self, record: PaymentRecord) -> list[str]:
        keys: list[str] = []
        since = self.profile.reference_since
        for name in self.fields:
            text = getattr(record, name)
            if not text:
                continue
            if name == "reference" and since is not None:
                when = record.transaction_date
                if when is None or when < since:
                    continue
            for key in self.keys(text):
                if key not in keys:
                    keys.append(key)
        return keys

    def eligible(self, item: OpenItem, record: PaymentRecord, sales_journal: str | None) -> bool:
        amount = item.amount
        if record.kind is _PAYMENT:
            if amount <= ZERO:
                return False
        elif amount >= ZERO:
            return False
        if item.currency != record.currency:
            return False
        if sales_journal is not None and item.journal != sales_journal:
            return False
        return self.window is None or self.in_window(item, record)

    def in_window(self, item: OpenItem, record: PaymentRecord) -> bool:
        if item.invoice_date is None or record.transaction_date is None:
            return True
        return abs((record.transaction_date - item.invoice_date).days) <= self.window  # type: ignore[operator]

    def find(self, record: PaymentRecord, sales_journal: str | None) -> _Found:
        signed = record.amount if record.kind is _PAYMENT else -record.amount
        keys = self.record_keys(record) if self.fields else []
        items = self.items
        hits: list[int] = []
        if keys:
            table = self.table
            if len(keys) == 1:
                found = table.get(keys[0])
                if found is not None:
                    hits = [found] if found.__class__ is int else found
            else:
                seen: set[int] = set()
                for key in keys:
                    for idx in postings(table, key):
                        if idx not in seen:
                            seen.add(idx)
                            hits.append(idx)
            if hits:
                candidates = [i for i in hits if self.eligible(items[i], record, sales_journal)]
                if candidates:
                    return _Found(record, signed, keys, candidates, _BY_REFERENCE, None, hits)
                cause = Reason.NO_CANDIDATE
                for i in hits:
                    item = items[i]
                    if item.currency != record.currency and self.eligible(
                        _with_currency(item, record.currency), record, sales_journal
                    ):
                        cause = Reason.CURRENCY_MISMATCH
                        break
            else:
                cause = Reason.NO_CANDIDATE
        else:
            cause = Reason.NO_REFERENCE
        if self.profile.email_amount:
            email = normalise_email(record.customer_email)
            if email is not None:
                customers = self.index.customers_for_email(email)
                if len(customers) == 1:
                    candidates = [
                        i
                        for i in self.index.items_of_customer(customers[0])
                        if items[i].amount == signed
                        and self.eligible(items[i], record, sales_journal)
                    ]
                    if candidates:
                        return _Found(record, signed, keys, candidates, _BY_EMAIL, None, hits)
        return _Found(record, signed, keys, [], _BY_REFERENCE, cause, hits)

    def rejection(self, item: OpenItem, record: PaymentRecord, sales_journal: str | None) -> str:
        """Why an item carrying the reference is not a candidate, in a few words."""
        if item.currency != record.currency:
            return f"in {item.currency}"
        if record.kind is _PAYMENT and item.amount < ZERO:
            return "a credit note"
        if record.kind is not _PAYMENT and item.amount > ZERO:
            return "an invoice, not a credit note"
        if item.amount == ZERO:
            return "nothing open"
        if sales_journal is not None and item.journal != sales_journal:
            return f"in journal {item.journal}, not {sales_journal}"
        return "outside the date window"


def _with_currency(item: OpenItem, currency: str) -> OpenItem:
    """The item as if it were in ``currency``: tells whether only the currency differs."""
    return OpenItem(
        item_id=item.item_id,
        invoice_number=item.invoice_number,
        customer_id=item.customer_id,
        amount=item.amount,
        currency=currency,
        journal=item.journal,
        invoice_date=item.invoice_date,
    )


# ---------------------------------------------------------------------------- pass 2


@dataclass(slots=True)
class _Relation:
    temp_id: str
    name: str
    email: str | None
    record_ids: list[str]


class _Decider:
    """Rules 3 to 7 for one record, given the claims of the whole run."""

    def __init__(
        self,
        index: OpenItemIndex,
        profile: MatchProfile,
        settings: Settings,
        claims: dict[int, int],
    ) -> None:
        self.index = index
        self.items = index.items
        self.profile = profile
        self.settings = settings
        self.claims = claims
        self._relations: dict[str, _Relation] = {}

    def relations(self) -> dict[str, NewRelation]:
        return {
            temp_id: NewRelation(r.temp_id, r.name, r.email, tuple(sorted(r.record_ids)))
            for temp_id, r in self._relations.items()
        }

    def decide(self, ctx: _Context, found: _Found, finder: _Finder) -> PlanLine:
        candidates = found.candidates
        if len(candidates) == 1:
            return self._one_candidate(ctx, found)
        if candidates:
            return self._several_candidates(ctx, found)
        return self._no_candidate(ctx, found, finder)

    def _one_candidate(self, ctx: _Context, found: _Found) -> PlanLine:
        record = found.record
        idx = found.candidates[0]
        item = self.items[idx]
        shown = (item.invoice_number,)
        claimed = self.claims[idx]
        if claimed > 1:  # rule 5: several records of the run point at this item
            return self._line(
                ctx,
                found,
                Reason.CLAIMED_TWICE,
                f"{self._origin(found)} points at invoice {item.invoice_number} "
                f"({customer_label(item)}), which {claimed} payments of this run claim "
                f"(a double payment?): booked on the customer, not linked.",
                customer=item.customer_id,
                kind=_EXISTING,
                candidates=shown,
                count=1,
            )
        if item.amount == found.signed:  # rule 3 (or rule 7 for an e-mail profile)
            if found.mode == _BY_EMAIL:
                reason = Reason.SHOPIFY_EMAIL_AMOUNT
                text = (
                    f"E-mail {normalise_email(record.customer_email)} belongs to one customer, "
                    f"whose only open item of {fmt(found.signed, record.currency)} is invoice "
                    f"{item.invoice_number} ({customer_label(item)}): linked."
                )
            else:
                reason = _MATCHED
                text = (
                    f"Reference {refs_text(found.keys)} matches only invoice "
                    f"{item.invoice_number} ({customer_label(item)}), open for exactly "
                    f"{found.signed.quantize(ctx.quantum)} {item.currency}: linked."
                )
            return self._line(
                ctx,
                found,
                reason,
                text,
                customer=item.customer_id,
                kind=_EXISTING,
                candidates=shown,
                count=1,
                link=item.invoice_number,
                open_item=item.item_id,
            )
        kind = "over-payment" if abs(found.signed) > abs(item.amount) else "partial payment"
        return self._line(  # rule 4
            ctx,
            found,
            Reason.AMOUNT_MISMATCH,
            f"{self._origin(found)} matches only invoice {item.invoice_number} "
            f"({customer_label(item)}), open for {fmt(item.amount, item.currency)}; the "
            f"{KIND_WORD[record.kind]} is {fmt(found.signed, record.currency)} ({kind}): "
            f"booked on the customer, not linked.",
            customer=item.customer_id,
            kind=_EXISTING,
            candidates=shown,
            count=1,
        )

    def _several_candidates(self, ctx: _Context, found: _Found) -> PlanLine:
        chosen = [self.items[i] for i in found.candidates]
        shown, count = invoice_list(chosen)
        customers = {item.customer_id for item in chosen}
        if len(customers) == 1:
            item = min(chosen, key=lambda i: i.item_id)
            return self._line(
                ctx,
                found,
                Reason.AMBIGUOUS,
                f"{self._origin(found)} matches {count} open items of one customer "
                f"({customer_label(item)}): booked on the customer, not linked.",
                customer=item.customer_id,
                kind=CustomerKind.EXISTING,
                candidates=shown,
                count=count,
            )
        return self._line(
            ctx,
            found,
            Reason.AMBIGUOUS,
            f"{self._origin(found)} matches {count} open items of {len(customers)} customers: "
            f"booked on the unassigned account, not linked.",
            candidates=shown,
            count=count,
        )

    def _origin(self, found: _Found) -> str:
        if found.mode == _BY_EMAIL:
            return f"E-mail {normalise_email(found.record.customer_email)} with this amount"
        return f"Reference {refs_text(found.keys)}"

    def _why_none(self, ctx: _Context, found: _Found, finder: _Finder) -> str:
        record = found.record
        if found.cause is Reason.NO_REFERENCE:
            fields = ", ".join(self.profile.payment_fields) or "no fields"
            return (
                f"No usable reference in the {KIND_WORD[record.kind]} "
                f"(profile {self.profile.name} reads: {fields})"
            )
        what = "open item" if record.kind is _PAYMENT else "credit note"
        text = f"No {what} carries reference {refs_text(found.keys)}"
        if found.hits:
            items = self.items
            shown = sorted(found.hits, key=lambda i: (items[i].invoice_number, items[i].item_id))
            parts = [
                f"invoice {items[i].invoice_number} is "
                f"{finder.rejection(items[i], record, ctx.sales_journal)}"
                for i in shown[:3]
            ]
            text += " that can take it (" + "; ".join(parts) + ")"
        return text

    def _no_candidate(self, ctx: _Context, found: _Found, finder: _Finder) -> PlanLine:
        record = found.record
        why = self._why_none(ctx, found, finder)
        hints = self._hints(ctx, found, finder)
        hint_text = _hint_text(hints)
        email = normalise_email(record.customer_email)
        email_customers = self.index.customers_for_email(email) if email else ()
        email_item = None
        if len(email_customers) == 1:
            of_customer = self.index.items_of_customer(email_customers[0])
            email_item = min((self.items[i] for i in of_customer), key=lambda i: i.item_id)
        unlinked = {"cause": found.cause, "hints": hints}

        if record.kind is _CHARGEBACK:
            item = self._chargeback_customer(found, ctx)
            source = "its reference"
            if item is None and email_item is not None:
                item, source = email_item, f"e-mail {email}"
            if item is not None:
                return self._line(
                    ctx,
                    found,
                    Reason.CHARGEBACK_UNMATCHED,
                    f"Chargeback: {why}. Customer {customer_label(item)} known from {source}: "
                    f"booked on the customer, re-opening the debt.{hint_text}",
                    customer=item.customer_id,
                    kind=CustomerKind.EXISTING,
                    **unlinked,
                )
            return self._fallback(
                ctx,
                found,
                f"Chargeback: {why}; the customer is unknown",
                hints,
                Reason.CHARGEBACK_UNMATCHED,
            )
        if email_item is not None:
            return self._line(
                ctx,
                found,
                Reason.EMAIL_CUSTOMER,
                f"{why}. E-mail {email} belongs to one customer ({customer_label(email_item)}): "
                f"booked on that customer, not linked.{hint_text}",
                customer=email_item.customer_id,
                kind=CustomerKind.EXISTING,
                **unlinked,
            )
        return self._fallback(ctx, found, why, hints, None)

    def _chargeback_customer(self, found: _Found, ctx: _Context) -> OpenItem | None:
        """The one customer behind the open items (any sign) that carry the reference."""
        items = self.items
        record = found.record
        relevant = [
            items[i]
            for i in found.hits
            if items[i].currency == record.currency
            and (ctx.sales_journal is None or items[i].journal == ctx.sales_journal)
        ]
        if relevant and len({item.customer_id for item in relevant}) == 1:
            return min(relevant, key=lambda i: i.item_id)
        return None

    def _fallback(
        self,
        ctx: _Context,
        found: _Found,
        why: str,
        hints: tuple[str, ...],
        reason: Reason | None,
    ) -> PlanLine:
        """Rule 6: standard debtor, else a new relation, else the unassigned account."""
        settings = self.settings
        hint_text = _hint_text(hints)
        unlinked = {"cause": found.cause, "hints": hints}
        if settings.standard_debtor is not None:
            return self._line(
                ctx,
                found,
                reason or Reason.STANDARD_DEBTOR,
                f"{why}: booked on the standard debtor {settings.standard_debtor}.{hint_text}",
                customer=settings.standard_debtor,
                kind=CustomerKind.STANDARD_DEBTOR,
                **unlinked,
            )
        missing = ""
        if settings.create_relations:
            relation = self._relation(ctx, found.record)
            if relation is not None:
                contact = f" <{relation.email}>" if relation.email else ""
                return self._line(
                    ctx,
                    found,
                    reason or Reason.NEW_RELATION,
                    f"{why}: booked on a new relation '{relation.name}'{contact} to be "
                    f"created.{hint_text}",
                    customer=relation.temp_id,
                    kind=CustomerKind.NEW_RELATION,
                    **unlinked,
                )
            missing = " (no name or e-mail to create a relation from)"
        return self._line(
            ctx,
            found,
            reason or Reason.UNASSIGNED,
            f"{why}: booked on the unassigned account{missing}.{hint_text}",
            **unlinked,
        )

    def _relation(self, ctx: _Context, record: PaymentRecord) -> _Relation | None:
        """The relation to create for a record, shared by all records with its e-mail."""
        email = normalise_email(record.customer_email)
        name = clean(record.customer_name) if record.customer_name else ""
        if email is None and not name:
            return None
        source = f"{ctx.clearing.clearing_id}/{record.record_id}"
        seed = f"email:{email}" if email is not None else f"record:{source}"
        temp_id = "new:" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        relation = self._relations.get(temp_id)
        if relation is None:
            relation = _Relation(temp_id, name or email or "", email, [])
            self._relations[temp_id] = relation
        elif name and relation.name == relation.email:
            relation.name = name  # records come in a fixed order: the first name wins
        relation.record_ids.append(source)
        return relation

    def _hints(self, ctx: _Context, found: _Found, finder: _Finder) -> tuple[str, ...]:
        """Rule 7: open items with exactly this amount, shown only when they are few.

        Without a journal or date filter every item of that amount and currency is eligible,
        so a long list is dismissed at once; otherwise the scan stops at the first item too
        many. Either way the answer does not depend on the order of the items.
        """
        items = self.items
        record = found.record
        same = self.index.items_with_amount(found.signed, record.currency)
        if not same or (
            len(same) > MAX_HINTS and ctx.sales_journal is None and finder.window is None
        ):
            return ()
        hits = []
        for idx in same:
            item = items[idx]
            if finder.eligible(item, record, ctx.sales_journal):
                if len(hits) == MAX_HINTS:
                    return ()
                hits.append(item)
        return tuple(sorted(f"invoice {i.invoice_number}" for i in hits))

    def _line(
        self,
        ctx: _Context,
        found: _Found,
        reason: Reason,
        explanation: str,
        *,
        customer: str | None = None,
        kind: CustomerKind | None = None,
        candidates: tuple[str, ...] = (),
        count: int = 0,
        link: str | None = None,
        open_item: str | None = None,
        cause: Reason | None = None,
        hints: tuple[str, ...] = (),
    ) -> PlanLine:
        record = found.record
        if customer is not None:
            role, gl = _DEBTORS, ctx.gl_debtors
        else:
            role, gl = _UNASSIGNED, ctx.gl_unassigned
        # Positional, in field order: this runs once per payment.
        return PlanLine(
            role,
            gl,
            found.signed.quantize(ctx.quantum),
            line_description(ctx.key, f"{KIND_WORD[record.kind]} {record_label(record)}"),
            reason,
            explanation,
            customer,
            kind,
            link,
            open_item,
            cause,
            record.record_id,
            record.kind,
            candidates,
            count,
            hints,
            reason in FLAGGED,
        )


def _hint_text(hints: tuple[str, ...]) -> str:
    if not hints:
        return ""
    return f" Hint: {', '.join(hints)} open for the same amount (an amount alone never links)."


def _record_lines(
    ctx: _Context, found_here: list[_Found], decider: _Decider, finder: _Finder
) -> list[PlanLine]:
    decide = decider.decide
    return [decide(ctx, found, finder) for found in found_here]


# ---------------------------------------------------------------------------- pass 3


def _assemble(
    ctx: _Context, record_lines: list[PlanLine], relations: dict[str, NewRelation]
) -> BookingPlan:
    clearing = ctx.clearing
    check = ctx.check
    currency = clearing.currency
    q = quantum(currency)
    key = ctx.key
    settlement = clearing.settlement_code or clearing.clearing_id
    description = line_description(key, f"payout {settlement}")
    group = clearing.revenue_group.code if clearing.revenue_group else None
    if not ctx.books:
        return BookingPlan(
            clearing_id=clearing.clearing_id,
            key=key,
            status=Status.BLOCKED,
            blocked_reason=check.problem,
            entry_date=clearing.settlement_date,
            currency=currency,
            revenue_group=group,
            journal=ctx.journal,
            description=description,
            lines=(),
            relations=(),
            totals=check.totals,
            flags=(check.problem.value,) if check.problem else (),
            explanation=f"Not booked: {check.explanation} It is retried on the next run.",
        )

    lines = list(record_lines)
    for line in sorted(clearing.lines, key=lambda x: (x.code, x.type_name, x.direction)):
        if line.kind not in (LineKind.FEES, LineKind.OTHER) or line.amount == ZERO:
            continue
        signed = signed_line(line.direction, line.amount).quantize(q)
        if line.kind is LineKind.FEES:
            role, reason = Role.PSP_COSTS, Reason.FEE
            text = f"Clearing line {line.code} ({line.type_name}): provider fees, on PSP costs."
        else:
            role, reason = Role.UNASSIGNED, Reason.OTHER_LINE
            text = (
                f"Clearing line {line.code} ({line.type_name}) is neither a payment nor a fee: "
                f"booked on the unassigned account for review."
            )
        lines.append(
            PlanLine(
                role=role,
                gl=ctx.gl[role],
                amount=signed,
                description=line_description(key, f"{line.type_name} {line.code}"),
                reason=reason,
                explanation=text,
                flagged=reason in FLAGGED,
            )
        )
    flags: list[str] = []
    if check.problem is not None:
        # Booking despite the problem was allowed: the difference waits on unassigned.
        flags.append(f"booked_despite_{check.problem.value}")
        difference = check.totals.difference.quantize(q)
        if difference != ZERO:
            lines.append(
                PlanLine(
                    role=Role.UNASSIGNED,
                    gl=ctx.gl[Role.UNASSIGNED],
                    amount=difference,
                    description=line_description(key, "difference, clearing does not add up"),
                    reason=Reason.INCONSISTENT_DIFFERENCE,
                    explanation=(
                        f"{check.explanation} The settings allow booking it: the difference "
                        f"{fmt(difference, currency)} is on the unassigned account."
                    ),
                    flagged=True,
                )
            )
    payout = clearing.payout.quantize(q)
    if payout != ZERO:
        lines.append(
            PlanLine(
                role=Role.PAYOUTS,
                gl=ctx.gl[Role.PAYOUTS],
                amount=-payout,
                description=line_description(key, f"payout {settlement}"),
                reason=Reason.PAYOUT,
                explanation=(
                    f"Payout {settlement} of {fmt(payout, currency)}: waits on the transit "
                    f"account for the bank line."
                ),
            )
        )
    new = CustomerKind.NEW_RELATION
    used = sorted({line.customer for line in lines if line.customer_kind is new and line.customer})
    flags.extend(sorted({line.reason.value for line in lines if line.flagged}))
    linked = sum(1 for line in lines if line.link is not None)
    records = len(record_lines)
    return BookingPlan(
        clearing_id=clearing.clearing_id,
        key=key,
        status=Status.READY,
        blocked_reason=None,
        entry_date=clearing.settlement_date,
        currency=currency,
        revenue_group=group,
        journal=ctx.journal,
        description=description,
        lines=tuple(lines),
        relations=tuple(relations[t] for t in used),
        totals=check.totals,
        flags=tuple(flags),
        explanation=f"{check.explanation} {linked} of {records} records linked.",
    )
