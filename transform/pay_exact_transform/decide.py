"""Rules 3 to 7: what each payment books, on whom, and whether it links an open item."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .candidates import BY_EMAIL, COMMON_REFERENCE, Finder, Found
from .claims import ClaimCounts
from .describe import (
    KIND_WORD,
    clean,
    customer_label,
    invoice_list,
    item_word,
    line_description,
    record_codes,
    record_notes,
    refs_text,
)
from .index import OpenItemLookup, normalise_email
from .model import OpenItem, PaymentRecord, RecordKind
from .money import fmt
from .plan import FLAGGED, CustomerKind, NewRelation, PlanLine, Reason, Role
from .prepare import ClearingContext
from .settings import Settings

# Enum members looked up once: attribute access on an Enum class is slow in a hot loop.
_PAYMENT = RecordKind.PAYMENT
_CHARGEBACK = RecordKind.CHARGEBACK
_DEBTORS = Role.DEBTORS
_UNASSIGNED = Role.UNASSIGNED
_EXISTING = CustomerKind.EXISTING
_MATCHED = Reason.MATCHED
MAX_HINTS = 3  # more open items of the same amount than this are no hint at all


@dataclass(slots=True)
class PendingRelation:
    """A relation to create, while the run is still collecting the records that need it."""

    temp_id: str
    name: str
    email: str | None
    record_ids: list[str]
    named_by: tuple[str, str] | None  # (clearing id, record id) of the record that named it


class Decider:
    """Rules 3 to 7 for one record, given the claims of the whole run (all profiles)."""

    def __init__(
        self,
        index: OpenItemLookup,
        settings: Settings,
        claims: ClaimCounts,
    ) -> None:
        self.index = index
        self.items = index.items
        self.settings = settings
        self.claims = claims
        self._relations: dict[str, PendingRelation] = {}
        self._representatives: dict[str, OpenItem] = {}
        # Set once every record of the run has been seen (``RunPlanner``): from then on a record
        # finds its relation without being added to it a second time.
        self.relations_known = False

    def relations(self) -> dict[str, NewRelation]:
        return {
            temp_id: NewRelation(r.temp_id, r.name, r.email, tuple(sorted(r.record_ids)))
            for temp_id, r in self._relations.items()
        }

    def decide(self, ctx: ClearingContext, found: Found, finder: Finder) -> PlanLine:
        candidates = found.candidates
        if len(candidates) == 1:
            idx = candidates[0]
            item = self.items[idx]
            if found.mode != BY_EMAIL and item.amount == found.signed and self.claims[idx] == 1:
                return self._matched(ctx, found, item)
            return self._one_candidate(ctx, found)
        if candidates:
            return self._several_candidates(ctx, found)
        return self._no_candidate(ctx, found, finder)

    def _matched(self, ctx: ClearingContext, found: Found, item: OpenItem) -> PlanLine:
        """Rule 3, the common case, written out: it runs for most payments of a run."""
        record = found.record
        keys = found.keys
        amount = found.signed.quantize(ctx.quantum)
        return PlanLine(
            _DEBTORS,
            ctx.gl_debtors,
            amount,
            line_description(ctx.key, KIND_WORD[record.kind], record_codes(record)),
            _MATCHED,
            f"Reference {keys[0] if len(keys) == 1 else refs_text(keys)} matches only "
            f"{'invoice' if item.amount > 0 else 'credit note'} {item.invoice_number} "
            f"({customer_label(item)}), open for "
            f"exactly {amount} {item.currency}: linked.",
            item.customer_id,
            _EXISTING,
            item.invoice_number,
            item.item_id,
            None,
            record.record_id,
            record.kind,
            (item.invoice_number,),
            1,
            (),
            False,
            record_notes(record),
        )

    def _one_candidate(self, ctx: ClearingContext, found: Found) -> PlanLine:
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
                f"{self._origin(found)} points at {item_word(item)} {item.invoice_number} "
                f"({customer_label(item)}), which {claimed} records of this run claim "
                f"(paid twice?): booked on the customer, not linked.",
                customer=item.customer_id,
                kind=_EXISTING,
                candidates=shown,
                count=1,
            )
        if item.amount == found.signed:  # rule 3 (or rule 7 for an e-mail profile)
            if found.mode == BY_EMAIL:
                reason = Reason.SHOPIFY_EMAIL_AMOUNT
                text = (
                    f"E-mail {normalise_email(record.customer_email)} belongs to one customer, "
                    f"whose only open item of {fmt(found.signed, record.currency)} is "
                    f"{item_word(item)} {item.invoice_number} ({customer_label(item)}): linked."
                )
            else:
                reason = _MATCHED
                text = (
                    f"Reference {refs_text(found.keys)} matches only {item_word(item)} "
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
        word = KIND_WORD[record.kind]
        kind = f"over-{word}" if abs(found.signed) > abs(item.amount) else f"partial {word}"
        return self._line(  # rule 4
            ctx,
            found,
            Reason.AMOUNT_MISMATCH,
            f"{self._origin(found)} matches only {item_word(item)} {item.invoice_number} "
            f"({customer_label(item)}), open for {fmt(item.amount, item.currency)}; the "
            f"{word} is {fmt(found.signed, record.currency)} ({kind}): "
            f"booked on the customer, not linked.",
            customer=item.customer_id,
            kind=_EXISTING,
            candidates=shown,
            count=1,
        )

    def _several_candidates(self, ctx: ClearingContext, found: Found) -> PlanLine:
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

    def _origin(self, found: Found) -> str:
        if found.mode == BY_EMAIL:
            return f"E-mail {normalise_email(found.record.customer_email)} with this amount"
        return f"Reference {refs_text(found.keys)}"

    def _why_none(self, ctx: ClearingContext, found: Found, finder: Finder) -> str:
        why = self._why_no_reference(ctx, found, finder)
        if not finder.profile.email_amount:
            return why
        email = normalise_email(found.record.customer_email)
        if email is None:
            by_email = "no customer e-mail arrived with the payment (transaction details)"
        else:
            customers = self.index.customers_for_email(email)
            if len(customers) == 1:
                return why  # the e-mail rule below names the customer
            by_email = (
                f"e-mail {email} belongs to no customer with open items"
                if not customers
                else f"e-mail {email} belongs to {len(customers)} customers"
            )
        if not finder.profile.payment_fields:
            name = finder.profile.name
            return (
                f"{by_email[0].upper()}{by_email[1:]} (profile {name} reads: no fields, only "
                f"the e-mail and the amount)"
            )
        return f"{why}; {by_email}"

    def _why_no_reference(self, ctx: ClearingContext, found: Found, finder: Finder) -> str:
        record = found.record
        if found.cause is Reason.NO_REFERENCE:
            if found.common:
                return (
                    f"Reference {refs_text(list(found.common))} is on more than "
                    f"{COMMON_REFERENCE} open items, too common to identify one"
                )
            profile = finder.profile  # the profile of this clearing's revenue group
            fields = ", ".join(profile.payment_fields) or "no fields"
            short = finder.short_references(record)
            if short:
                quoted = ", ".join(f"'{key}'" for key in short[:3])
                verb = "is" if len(short) == 1 else "are"
                return (
                    f"{quoted} {verb} shorter than the {profile.min_length} characters a "
                    f"reference needs (profile {profile.name} reads: {fields})"
                )
            return (
                f"No usable reference in the {KIND_WORD[record.kind]} "
                f"(profile {profile.name} reads: {fields})"
            )
        what = "open item" if record.kind is _PAYMENT else "credit note"
        if not found.hits:
            return f"No {what} carries reference {refs_text(found.keys)}"
        items = self.items
        shown = sorted(found.hits, key=lambda i: (items[i].invoice_number, items[i].item_id))
        parts = []
        for n, i in enumerate(shown[:3]):
            item = items[i]
            carries = f"reference {refs_text(found.keys)}" if n == 0 else "it too"
            word = item_word(item)
            parts.append(
                f"{word[0].upper() + word[1:] if n == 0 else word} {item.invoice_number} "
                f"carries {carries} but {finder.rejection(item, record, ctx.sales_journal)}"
            )
        more = f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""
        return "; ".join(parts) + more

    def _currency_customer(
        self, ctx: ClearingContext, found: Found, finder: Finder
    ) -> OpenItem | None:
        """The one open item the reference identifies, when only its currency differs."""
        if found.cause is not Reason.CURRENCY_MISMATCH:
            return None
        record = found.record
        fitting = [
            self.items[i]
            for i in found.hits
            if finder.fits_apart_from_currency(self.items[i], record, ctx.sales_journal)
        ]
        return fitting[0] if len(fitting) == 1 else None

    def _no_candidate(self, ctx: ClearingContext, found: Found, finder: Finder) -> PlanLine:
        record = found.record
        # Until every record of the run is seen (``RunPlanner``'s first pass) a line is decided
        # only for the relation it may need, and then dropped: its explanation and rule 7's
        # hints, which decide nothing, wait for the second pass.
        explained = self.relations_known
        why = self._why_none(ctx, found, finder) if explained else ""
        hints = self._hints(ctx, found, finder) if explained else ()
        hint_text = _hint_text(hints)
        email = normalise_email(record.customer_email)
        email_customers = self.index.customers_for_email(email) if email else ()
        email_item = self._representative(email_customers[0]) if len(email_customers) == 1 else None
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
        other = self._currency_customer(ctx, found, finder)
        if other is not None:
            return self._line(
                ctx,
                found,
                Reason.CURRENCY_MISMATCH,
                f"Reference {refs_text(found.keys)} identifies only {item_word(other)} "
                f"{other.invoice_number} ({customer_label(other)}), open for "
                f"{fmt(other.amount, other.currency)}; the {KIND_WORD[record.kind]} is "
                f"{fmt(found.signed, record.currency)}: booked on the customer, not linked "
                f"(the currencies differ).{hint_text}",
                customer=other.customer_id,
                kind=CustomerKind.EXISTING,
                **unlinked,
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

    def _representative(self, customer_id: str) -> OpenItem:
        """One open item of the customer (the lowest id), for the customer's name; cached,
        so a customer with many open items and many payments stays linear."""
        item = self._representatives.get(customer_id)
        if item is None:
            of_customer = self.index.items_of_customer(customer_id)
            item = min((self.items[i] for i in of_customer), key=lambda i: i.item_id)
            self._representatives[customer_id] = item
        return item

    def _chargeback_customer(self, found: Found, ctx: ClearingContext) -> OpenItem | None:
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
        ctx: ClearingContext,
        found: Found,
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

    def _relation(self, ctx: ClearingContext, record: PaymentRecord) -> PendingRelation | None:
        """The relation to create for a record, shared by all records with its e-mail."""
        email = normalise_email(record.customer_email)
        name = clean(record.customer_name) if record.customer_name else ""
        if email is None and not name:
            return None
        source = f"{ctx.clearing.clearing_id}/{record.record_id}"
        seed = f"email:{email}" if email is not None else f"record:{source}"
        temp_id = "new:" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        relation = self._relations.get(temp_id)
        if self.relations_known and relation is not None:
            return relation
        if relation is None:
            relation = PendingRelation(temp_id, name or email or "", email, [], None)
            self._relations[temp_id] = relation
        where = (ctx.clearing.clearing_id, record.record_id)
        if name and (relation.named_by is None or where < relation.named_by):
            # The first record with a name, in (clearing id, record id) order, names it,
            # whichever order the records are seen in.
            relation.name = name
            relation.named_by = where
        relation.record_ids.append(source)
        return relation

    def _hints(self, ctx: ClearingContext, found: Found, finder: Finder) -> tuple[str, ...]:
        """Rule 7: open items with exactly this amount, shown only when they are few.

        Without a journal or date filter every item of that amount and currency is eligible,
        so a long list is dismissed at once; otherwise the scan stops at the first item too
        many. Either way the answer does not depend on the order of the items.
        """
        record = found.record
        same = self.index.items_with_amount(found.signed, record.currency)
        unfiltered = ctx.sales_journal is None and finder.window is None
        if not same or len(same) > (MAX_HINTS if unfiltered else COMMON_REFERENCE):
            return ()
        # Eligibility from the items' facts (read in one question where they offer it): only
        # the few hints are read whole, for their invoice numbers.
        facts = finder.facts
        read_ahead = getattr(facts, "read_ahead", None)
        if read_ahead is not None:
            read_ahead(same)
        hits = []
        for idx in same:
            if finder.eligible(facts[idx], record, ctx.sales_journal):
                if len(hits) == MAX_HINTS:
                    return ()
                hits.append(idx)
        items = self.items
        return tuple(sorted(f"invoice {items[idx].invoice_number}" for idx in hits))

    def _line(
        self,
        ctx: ClearingContext,
        found: Found,
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
            line_description(ctx.key, KIND_WORD[record.kind], record_codes(record)),
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
            record_notes(record),
        )


def _hint_text(hints: tuple[str, ...]) -> str:
    if not hints:
        return ""
    return f" Hint: {', '.join(hints)} open for the same amount (an amount alone never links)."


def record_lines(
    ctx: ClearingContext, found_here: list[Found], decider: Decider, finder: Finder
) -> list[PlanLine]:
    decide = decider.decide
    return [decide(ctx, found, finder) for found in found_here]
