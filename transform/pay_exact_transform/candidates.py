"""Rules 1 and 2: the references of a payment and the open items that are its candidates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .describe import KIND_WORD
from .index import OpenItemLookup, Postings, normalise_email, postings
from .model import ItemFacts, OpenItem, PaymentRecord, RecordKind
from .money import ZERO
from .plan import Reason
from .settings import MatchProfile, Settings
from .tokens import make_key_function

_PAYMENT = RecordKind.PAYMENT
BY_REFERENCE = 1
BY_EMAIL = 2
# A reference carried by more open items than this identifies none of them: it is a year, a
# customer number or a word of a template. Ignoring it keeps the work per payment bounded
# (the engine stays O(n + m)) and keeps such words from making every payment ambiguous.
COMMON_REFERENCE = 50


@dataclass(slots=True)
class Found:
    """Pass-1 result for one record."""

    record: PaymentRecord
    signed: Decimal
    keys: list[str]
    candidates: list[int]
    mode: int  # BY_REFERENCE or BY_EMAIL (meaningful when candidates exist)
    cause: Reason | None  # NO_REFERENCE, NO_CANDIDATE or CURRENCY_MISMATCH when none
    hits: list[int]  # items carrying a reference, before the rule-2 filters
    common: tuple[str, ...] = ()  # references ignored because too many open items carry them

    def kept(self) -> KeptFind:
        """What pass 2 needs again, as plain data without the record (``restore``)."""
        cause = self.cause.value if self.cause is not None else None
        return (self.keys, self.candidates, self.mode, cause, self.hits, list(self.common))


# A record's ``Found`` without the record: plain lists, numbers and text, so that a caller can
# keep a window's finds on disk between the passes in any format that keeps those.
KeptFind = tuple[list[str], list[int], int, str | None, list[int], list[str]]
_REASONS = {reason.value: reason for reason in Reason}


def restore(record: PaymentRecord, kept: Sequence) -> Found:
    """The ``Found`` that ``kept()`` gave, with its record."""
    keys, candidates, mode, cause, hits, common = kept
    reason = _REASONS[cause] if cause is not None else None
    return Found(
        record, _signed(record), list(keys), list(candidates), mode, reason, list(hits),
        tuple(common),
    )  # fmt: skip


def _signed(record: PaymentRecord) -> Decimal:
    """The record's amount signed as the open item it settles: positive for a payment (an
    invoice), negative for a refund or chargeback (a credit note)."""
    return record.amount if record.kind is _PAYMENT else -record.amount


class Finder:
    """Rule 1 (references) and rule 2 (candidates), plus the candidates of rule 7."""

    def __init__(self, index: OpenItemLookup, profile: MatchProfile, settings: Settings) -> None:
        # What rule 2 reads of each item: its facts where the lookup offers them, else the item.
        self.facts: Sequence[ItemFacts | OpenItem] = getattr(index, "facts", index.items)
        self.index = index
        self.profile = profile
        self.table = index.references(profile) if profile.payment_fields else {}
        # One clearing's references looked up at once (``look_up``), where the open items can
        # answer many keys in one question (``get_many``: a database) rather than one per payment.
        self._get_many = getattr(self.table, "get_many", None)
        self._clearing_keys: dict[int, list[str]] = {}  # id(record) -> its keys
        self._clearing_table: Mapping[str, Postings] = {}
        self.keys = make_key_function(
            strip_leading_zeros=profile.strip_leading_zeros,
            min_length=profile.min_length,
            require_digit=profile.require_digit,
            regex=profile.regex,
        )
        self.fields = profile.payment_fields
        self.window = settings.date_window_days
        self._all_lengths: Callable[[str], list[str]] | None = None  # built when first needed

    def look_up(self, records: Sequence[PaymentRecord]) -> None:
        """Ask for the references of these records (one clearing's) in one question, when the
        open items offer it; ``find`` then answers those records from it until ``forget``."""
        if self._get_many is None or not self.fields:
            return
        keys_of = {id(record): self.record_keys(record) for record in records}
        self._clearing_table = self._get_many({k for keys in keys_of.values() for k in keys})
        self._clearing_keys = keys_of

    def forget(self) -> None:
        """The records of ``look_up`` are done (their ids may be reused by new objects)."""
        self._clearing_keys = {}
        self._clearing_table = {}

    def record_keys(self, record: PaymentRecord) -> list[str]:
        texts = []
        since = self.profile.reference_since
        for name in self.fields:
            text = getattr(record, name)
            if not text:
                continue
            if name == "reference" and since is not None:
                when = record.transaction_date
                if when is None or when < since:
                    continue
            texts.append(text)
        if not texts:
            return []
        if self.profile.regex is None:
            # A space separates references: one pass over the joined fields finds the same
            # keys as one pass per field. A regex might span fields, so it reads each alone.
            return self.keys(texts[0] if len(texts) == 1 else " ".join(texts))
        keys: list[str] = []
        for text in texts:
            for key in self.keys(text):
                if key not in keys:
                    keys.append(key)
        return keys

    def eligible(
        self, item: ItemFacts | OpenItem, record: PaymentRecord, sales_journal: str | None
    ) -> bool:
        """Rule 2 for an item that carries one of the record's references."""
        # Written out rather than calling fits_apart_from_currency: once per hit.
        if item.currency != record.currency:
            return False
        amount = item.amount
        if record.kind is _PAYMENT:
            if amount <= ZERO:
                return False
        elif amount >= ZERO:
            return False
        if sales_journal is not None and item.journal != sales_journal:
            return False
        return self.window is None or self.in_window(item, record)

    def fits_apart_from_currency(
        self, item: ItemFacts | OpenItem, record: PaymentRecord, sales_journal: str | None
    ) -> bool:
        """Rule 2 without the currency: tells a currency mismatch from other misses."""
        amount = item.amount
        if record.kind is _PAYMENT:
            if amount <= ZERO:
                return False
        elif amount >= ZERO:
            return False
        if sales_journal is not None and item.journal != sales_journal:
            return False
        return self.window is None or self.in_window(item, record)

    def in_window(self, item: ItemFacts | OpenItem, record: PaymentRecord) -> bool:
        if item.invoice_date is None or record.transaction_date is None:
            return True
        return abs((record.transaction_date - item.invoice_date).days) <= self.window  # type: ignore[operator]

    def find(self, record: PaymentRecord, sales_journal: str | None) -> Found:
        signed = _signed(record)
        keys = self._clearing_keys.get(id(record)) if self._clearing_keys else None
        if keys is not None:
            table = self._clearing_table  # holds every key of this record
        else:
            keys = self.record_keys(record) if self.fields else []
            table = self.table
        items = self.facts
        hits: list[int] = []
        common: tuple[str, ...] = ()
        if keys:
            found = table.get(keys[0]) if len(keys) == 1 else None
            if found.__class__ is int:  # the common case: one reference, one open item
                hits = [found]  # type: ignore[list-item]
            elif found is not None or len(keys) > 1:
                hits, keys, common = self._hits(keys, table)
            if hits:
                candidates = [i for i in hits if self.eligible(items[i], record, sales_journal)]
                if candidates:
                    return Found(record, signed, keys, candidates, BY_REFERENCE, None, hits, common)
                cause = Reason.NO_CANDIDATE
                for i in hits:
                    if self.fits_apart_from_currency(items[i], record, sales_journal):
                        cause = Reason.CURRENCY_MISMATCH  # eligible but for the currency
                        break
            else:
                cause = Reason.NO_CANDIDATE if keys else Reason.NO_REFERENCE
        else:
            cause = Reason.NO_REFERENCE
        if self.profile.email_amount:
            email = normalise_email(record.customer_email)
            if email is not None:
                customers = self.index.customers_for_email(email)
                if len(customers) == 1:
                    candidates = [
                        i
                        for i in self.index.items_of_customer_with_amount(customers[0], signed)
                        if self.eligible(items[i], record, sales_journal)
                    ]
                    if candidates:
                        return Found(record, signed, keys, candidates, BY_EMAIL, None, hits, common)
        return Found(record, signed, keys, [], BY_REFERENCE, cause, hits, common)

    def _hits(
        self, keys: list[str], table: Mapping[str, Postings]
    ) -> tuple[list[int], list[str], tuple[str, ...]]:
        """Items carrying any of the keys, the keys that count, and the common ones."""
        hits: list[int] = []
        seen: set[int] = set()
        kept: list[str] = []
        common: list[str] = []
        for key in keys:
            found = postings(table, key)
            if len(found) > COMMON_REFERENCE:
                common.append(key)
                continue
            kept.append(key)
            for idx in found:
                if idx not in seen:
                    seen.add(idx)
                    hits.append(idx)
        return hits, kept, tuple(common)

    def rejection(self, item: OpenItem, record: PaymentRecord, sales_journal: str | None) -> str:
        """Why an item carrying the reference is not a candidate ("... but <this>")."""
        if item.currency != record.currency:
            return f"is in {item.currency}, the {KIND_WORD[record.kind]} in {record.currency}"
        if record.kind is _PAYMENT and item.amount < ZERO:
            return "a payment does not settle a credit note"
        if record.kind is not _PAYMENT and item.amount > ZERO:
            return f"a {KIND_WORD[record.kind]} settles a credit note, not an invoice"
        if item.amount == ZERO:
            return "has nothing open"
        if sales_journal is not None and item.journal != sales_journal:
            return (
                f"is in journal {item.journal}, which is not selected (the sales journal is "
                f"{sales_journal})"
            )
        return "is outside the date window"

    def short_references(self, record: PaymentRecord) -> list[str]:
        """References in the payment's fields that only their length keeps from counting."""
        if self._all_lengths is None:
            profile = self.profile
            self._all_lengths = make_key_function(
                strip_leading_zeros=profile.strip_leading_zeros,
                min_length=1,
                require_digit=profile.require_digit,
                regex=profile.regex,
            )
        found: list[str] = []
        for name in self.fields:
            text = getattr(record, name)
            for key in self._all_lengths(text) if text else ():
                if len(key) < self.profile.min_length and key not in found:
                    found.append(key)
        return found
