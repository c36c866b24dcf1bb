"""The customers a run knows by engine id: those of the open items, asked of the open-item
store when a plan names them (a year's backfill has hundreds of thousands), and the few added
during the run (the standard debtor, relations created), held here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pay_exact_transform import OpenItem

from target_exactonline.open_item_store import OpenItemStore

# Store answers kept: a window's customers are asked for by the check, the report and the
# entry's body, each a query otherwise; the cap keeps a year's backfill from keeping them all.
_ANSWERS_KEPT = 4096


class _Known(Mapping[str, str]):
    """What is added (``[id] = value``) comes first, then what the store answers."""

    def __init__(self, store: OpenItemStore | None = None) -> None:
        self.store = store
        self.added: dict[str, str] = {}
        self._answers: dict[str, str | None] = {}

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

    def _find(self, customer: str) -> str | None:
        found = self.added.get(customer)
        if found is None and self.store is not None:
            answers = self._answers
            if customer in answers:
                found = answers[customer]
            else:
                if len(answers) >= _ANSWERS_KEPT:
                    answers.clear()
                found = answers[customer] = self._stored(self.store, customer)
        return found

    def _stored(self, store: OpenItemStore, customer: str) -> str | None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        yield from self.added
        if self.store is not None:
            yield from (c for c in self.store.customer_ids() if c not in self.added)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class CustomerIds(_Known):
    """Engine customer id -> Exact account id; an open item's customer is its own account."""

    def _stored(self, store: OpenItemStore, customer: str) -> str | None:
        return customer if store.has_customer(customer) else None


class CustomerNames(_Known):
    """Engine customer id -> how a bookkeeper finds the customer in Exact (for the report)."""

    def _stored(self, store: OpenItemStore, customer: str) -> str | None:
        item = store.first_of_customer(customer)
        return customer_text(item) if item is not None else None


def customer_text(item: OpenItem) -> str:
    """A customer as a bookkeeper finds it in Exact: the name with the account code beside it."""
    code = item.customer_code.strip() if item.customer_code else None
    if item.customer_name and code:
        return f"{item.customer_name} ({code})"
    return item.customer_name or code or item.customer_id
