"""Seeding a store from ``ExactData``: master data first, then entries through the API's rules."""

from __future__ import annotations

import gc

from . import posting
from .data import ExactData
from .errors import ExactError
from .store import ExactStore


def load(store: ExactStore, data: ExactData) -> None:
    """Replace the store's content with ``data``; a bad fixture raises ValueError naming the record.

    Entries are posted with the same validation as API calls (closed periods excepted, since
    history lives there), so open items, settlements and ledger lines are always consistent.
    """
    store.load(data)
    # Seeding makes many small long-lived objects: cyclic GC passes only cost time here.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _post_entries(store, data)
    finally:
        if was_enabled:
            gc.enable()
    store.touch()


def _post_entries(store: ExactStore, data: ExactData) -> None:
    for section, post in (
        ("sales_entries", posting.post_sales_entry),
        ("bank_entries", posting.post_bank_entry),
        ("general_journal_entries", posting.post_general_journal_entry),
    ):
        for index, entry in enumerate(getattr(data, section)):
            try:
                post(store, store.resolve_codes(entry), seeding=True)
            except (ExactError, ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"exact.{section}[{index}]: {exc}") from exc
