"""Hash indexes over a ledger's open items, built once per run and shared by its clearings."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from operator import attrgetter
from typing import Protocol, runtime_checkable

from .errors import InputError
from .model import OpenItem
from .money import amount_ok, check_amount, exact_decimals, quantum
from .settings import MatchProfile
from .tokens import make_key_function

# A posting list: one item index, or several (kept small: a list only on collisions).
Postings = int | list[int]


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while indexing or planning.

    A run allocates millions of small objects that never form reference cycles; the cyclic
    collector would rescan all of them again and again (tripling the run time at a million
    payments) without ever freeing one. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def normalise_email(email: str | None) -> str | None:
    """Lower-cased, trimmed e-mail address, or None when it is not an address."""
    if not email:
        return None
    cleaned = email.strip().casefold()
    return cleaned if "@" in cleaned else None


def _add(table: dict, key: object, idx: int) -> None:
    current = table.get(key)
    if current is None:
        table[key] = idx
    elif current.__class__ is int:
        if current != idx:
            table[key] = [current, idx]
    elif current[-1] != idx:  # items are added in order, so a repeat is always the last one
        current.append(idx)


def postings(table: dict, key: object) -> list[int]:
    """Item indexes stored under ``key`` (empty when none)."""
    found = table.get(key)
    if found is None:
        return []
    if found.__class__ is int:
        return [found]
    return found


@runtime_checkable
class OpenItemLookup(Protocol):
    """What the engine asks of a ledger's open items; ``OpenItemIndex`` holds them in memory,
    a caller may hold them elsewhere (a database) and answer the same questions.

    Items are known by their position in ``items``; every list of positions is ascending,
    so an implementation gives the same plans as ``OpenItemIndex`` over the same items. A
    reference table may also offer ``get_many(keys) -> dict`` (the postings of every key that
    has any): the engine then asks for one clearing's keys at once, where a question costs more
    than a dict lookup. A lookup may also offer ``facts``: a sequence by the same positions of
    each item's ``ItemFacts``, which the engine then reads instead of whole items where it only
    asks whether an item is eligible (rule 2), as it does for every reference of every payment.
    """

    @property
    def items(self) -> Sequence[OpenItem]: ...

    def __len__(self) -> int: ...

    def references(self, profile: MatchProfile) -> Mapping[str, Postings]: ...

    def customers_for_email(self, email: str) -> tuple[str, ...]: ...

    def items_of_customer(self, customer_id: str) -> list[int]: ...

    def items_of_customer_with_amount(self, customer_id: str, amount: Decimal) -> list[int]: ...

    def items_with_amount(self, amount: Decimal, currency: str) -> list[int]: ...


def reference_keys(profile: MatchProfile) -> Callable[[OpenItem], list[str]]:
    """The distinct reference keys of one open item under ``profile``'s ledger fields and key
    rules: what ``OpenItemLookup.references`` files the item under."""
    keys = make_key_function(
        strip_leading_zeros=profile.strip_leading_zeros,
        min_length=profile.min_length,
        require_digit=profile.require_digit,
    )
    fetch = attrgetter(*profile.ledger_fields)
    single = len(profile.ledger_fields) == 1
    join = " ".join

    def of(item: OpenItem) -> list[str]:
        # A space separates references, so one pass over the joined fields finds the same
        # keys as one pass per field, with a fraction of the calls.
        text = fetch(item) if single else join(filter(None, fetch(item)))
        return keys(text) if text else []

    return of


def profile_config(profile: MatchProfile) -> tuple:
    """The parts of a profile that decide an open item's reference keys: profiles that agree
    on them share one reference table."""
    return (
        profile.ledger_fields,
        profile.strip_leading_zeros,
        profile.min_length,
        profile.require_digit,
    )


class OpenItemIndex:
    """The open items of one ledger with lazily built hash indexes.

    Building is O(m); each index (references per profile, customers per e-mail, items per
    customer, items per amount) is built on first use and kept for the next clearing.
    """

    __slots__ = (
        "_by_amount",
        "_by_customer",
        "_by_customer_amount",
        "_by_email",
        "_tables",
        "items",
    )

    def __init__(self, items: tuple[OpenItem, ...]) -> None:
        self.items = items
        self._tables: dict[tuple, dict[str, Postings]] = {}
        self._by_email: dict[str, tuple[str, ...]] | None = None
        self._by_customer: dict[str, Postings] | None = None
        self._by_amount: dict[str, dict[Decimal, Postings]] | None = None
        self._by_customer_amount: dict[tuple[str, Decimal], Postings] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def references(self, profile: MatchProfile) -> dict[str, Postings]:
        """Reference key -> open items, for the ledger fields and key rules of ``profile``."""
        config = profile_config(profile)
        table = self._tables.get(config)
        if table is None:
            table = self._build_references(profile)
            self._tables[config] = table
        return table

    def _build_references(self, profile: MatchProfile) -> dict[str, Postings]:
        keys_of = reference_keys(profile)
        table: dict[str, Postings] = {}
        get = table.get
        for idx, item in enumerate(self.items):
            for key in keys_of(item):  # distinct keys
                current = get(key)
                if current is None:
                    table[key] = idx
                elif current.__class__ is int:
                    table[key] = [current, idx]
                else:
                    current.append(idx)
        return table

    def customers_for_email(self, email: str) -> tuple[str, ...]:
        """Customer ids whose open items carry this (normalised) e-mail, sorted."""
        if self._by_email is None:
            grouped: dict[str, set[str]] = {}
            for item in self.items:
                address = normalise_email(item.customer_email)
                if address is not None:
                    grouped.setdefault(address, set()).add(item.customer_id)
            self._by_email = {k: tuple(sorted(v)) for k, v in grouped.items()}
        return self._by_email.get(email, ())

    def items_of_customer(self, customer_id: str) -> list[int]:
        if self._by_customer is None:
            table: dict[str, Postings] = {}
            for idx, item in enumerate(self.items):
                _add(table, item.customer_id, idx)
            self._by_customer = table
        return postings(self._by_customer, customer_id)

    def items_of_customer_with_amount(self, customer_id: str, amount: Decimal) -> list[int]:
        """Items of one customer whose open amount (with its sign) is exactly ``amount``."""
        if self._by_customer_amount is None:
            table: dict[tuple[str, Decimal], Postings] = {}
            for idx, item in enumerate(self.items):
                _add(table, (item.customer_id, item.amount), idx)
            self._by_customer_amount = table
        return postings(self._by_customer_amount, (customer_id, amount))

    def items_with_amount(self, amount: Decimal, currency: str) -> list[int]:
        """Items whose open amount (with its sign) is exactly ``amount`` in ``currency``."""
        if self._by_amount is None:
            table: dict[str, dict[Decimal, Postings]] = {}
            for idx, item in enumerate(self.items):
                per_currency = table.get(item.currency)
                if per_currency is None:
                    per_currency = table[item.currency] = {}
                _add(per_currency, item.amount, idx)
            self._by_amount = table
        per_currency = self._by_amount.get(currency)
        return postings(per_currency, amount) if per_currency else []


def build_index(open_items: Iterable[OpenItem]) -> OpenItemIndex:
    """Validate the open items and index them (O(m)).

    Items must have distinct ``item_id``s; an exact repeat of an item is dropped, two
    different items with one id are an error (the plan would depend on which came first).
    """
    with without_cyclic_gc(), exact_decimals():
        return _build_index(open_items)


def _build_index(open_items: Iterable[OpenItem]) -> OpenItemIndex:
    items: list[OpenItem] = []
    seen: dict[str, OpenItem] = {}
    quanta: dict[str, Decimal] = {}
    for item in open_items:
        check_open_item(item, quanta)
        previous = seen.get(item.item_id)
        if previous is not None:
            if previous == item:
                continue
            raise same_id_error(item.item_id)
        seen[item.item_id] = item
        items.append(item)
    return OpenItemIndex(tuple(items))


def same_id_error(item_id: str) -> InputError:
    return InputError(f"open item {item_id!r}", "item_id", "is used by two different items")


def check_open_item(item: object, quanta: dict[str, Decimal]) -> None:
    """Raise ``InputError`` naming the item and field when ``item`` is not a valid open item.

    ``quanta`` caches each currency's smallest unit across calls."""
    if not isinstance(item, OpenItem):
        got = type(item).__name__
        raise InputError("open items", "item", f"must be an OpenItem, got {got}")
    item_id = item.item_id
    where = f"open item {item_id!r}"
    if not item_id or not isinstance(item_id, str):
        raise InputError(where, "item_id", "must be a non-empty string")
    if not item.customer_id or not isinstance(item.customer_id, str):
        raise InputError(where, "customer_id", "must be a non-empty string")
    if not item.invoice_number or not isinstance(item.invoice_number, str):
        raise InputError(where, "invoice_number", "must be a non-empty string")
    currency = item.currency
    q = quanta.get(currency)
    if q is None:
        if not currency or not isinstance(currency, str):
            raise InputError(where, "currency", "must be a currency code")
        q = quanta[currency] = quantum(currency)
    if not amount_ok(item.amount, q, allow_negative=True):
        check_amount(item.amount, currency, where, "amount", allow_negative=True)
