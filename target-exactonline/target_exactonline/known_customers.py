"""The customers a run knows by engine id: those of the open items, asked of the open-item
store when a plan names them (a year's backfill has hundreds of thousands), and the few added
during the run (the standard debtor, relations created), held here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from target_exactonline.open_item_store import CustomerRow, OpenItemStore


class _Known(Mapping[str, str]):
    """What is added (``[id] = value``) comes first, then what the store answers (the store
    keeps its answers: the ids and the names of a customer cost one question)."""

    def __init__(self, store: OpenItemStore | None = None) -> None:
        self.store = store
        self.added: dict[str, str] = {}

    def __setitem__(self, customer: str, value: str) -> None:
        self.added[customer] = value

    def __getitem__(self, customer: str) -> str:
        found = self._find(customer)
        if found is None:
            raise KeyError(customer)
        return found

    def get(self, customer: str, default: str | None = None) -> str | None:  # type: ignore[override]
        found = self._find(customer)
        return default if found is None else found

    def prefetch(self, customers: Iterable[str]) -> None:
        """Ask the store for these customers at once (a clearing's, before its lines)."""
        if self.store is not None:
            self.store.read_customers(c for c in customers if c not in self.added)

    def _find(self, customer: str) -> str | None:
        found = self.added.get(customer)
        if found is None and self.store is not None:
            row = self.store.customer(customer)
            if row is not None:
                found = self._stored(customer, row)
        return found

    def _stored(self, customer: str, row: CustomerRow) -> str:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        yield from self.added
        if self.store is not None:
            yield from (c for c in self.store.customer_ids() if c not in self.added)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class CustomerIds(_Known):
    """Engine customer id -> Exact account id; an open item's customer is its own account."""

    def _stored(self, customer: str, row: CustomerRow) -> str:
        return customer


class CustomerNames(_Known):
    """Engine customer id -> how a bookkeeper finds the customer in Exact (for the report)."""

    def _stored(self, customer: str, row: CustomerRow) -> str:
        code, name = row
        return customer_text(customer, code, name)


def customer_text(customer_id: str, code: str | None, name: str | None) -> str:
    """A customer as a bookkeeper finds it in Exact: the name with the account code beside it."""
    code = code.strip() if code else None
    if name and code:
        return f"{name} ({code})"
    return name or code or customer_id
