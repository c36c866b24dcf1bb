"""``ExactData``: one Exact division's seed, from a JSON fixture or built by the generator.

The fixture format is documented in ``sandbox/README.md`` ("Exact Online sandbox"). In short, a
file holds an ``exact`` object (and may hold ``pay`` and ``truth`` beside it) with:

- ``division``: ``Code`` (int), ``Description``, ``Currency``, ``Country``.
- ``user``: the ``current/Me`` fields (``UserID``, ``FullName``, ``Email``, ``LanguageCode``).
- ``gl_accounts``: ``Code``, ``Description``, ``Type`` (+ optional ``ID``, ``VATCode``, ...).
- ``journals``: ``Code``, ``Description``, ``Type``, ``GLAccountCode`` or ``GLAccount``,
  ``Currency``, ``AllowVariableCurrency``, ``OpeningBalance`` (bank journals, optional).
- ``financial_years``: ``{"year": 2025, "closed_periods": [1, 2]}`` (12 monthly periods), and/or
  ``periods``: explicit ``FinYear``, ``FinPeriod``, ``StartDate``, ``EndDate``, ``Closed``.
- ``vat_codes``: ``Code``, ``Description``, ``Percentage`` (``"0.21"``), ``GLAccountCode``.
- ``exchange_rates``: currency -> rate into the division currency (``{"USD": "0.92"}``).
- ``accounts``: ``Code`` (unpadded or padded), ``Name``, ``Email``, ``Country`` (+ optional ``ID``).
- ``sales_entries``, ``bank_entries``, ``general_journal_entries``: the same bodies a client would
  POST (see the reference), with two conveniences: ``CustomerCode`` instead of ``Customer`` and
  ``GLAccountCode`` instead of ``GLAccount``; amounts may be strings. They are posted at start-up
  through the same rules as API calls (closed periods excepted), so open items, settlements and
  transaction lines are consistent.

Amounts are read as ``Decimal`` (JSON numbers and numeric strings alike).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import jsonout

Record = dict[str, Any]

SECTIONS = (
    "gl_accounts",
    "journals",
    "financial_years",
    "periods",
    "vat_codes",
    "accounts",
    "sales_entries",
    "bank_entries",
    "general_journal_entries",
)


@dataclass
class ExactData:
    division: Record = field(
        default_factory=lambda: {"Code": 1, "Description": "Sandbox", "Currency": "EUR"}
    )
    user: Record = field(default_factory=dict)
    gl_accounts: list[Record] = field(default_factory=list)
    journals: list[Record] = field(default_factory=list)
    financial_years: list[Record] = field(default_factory=list)
    periods: list[Record] = field(default_factory=list)
    vat_codes: list[Record] = field(default_factory=list)
    exchange_rates: dict[str, Any] = field(default_factory=dict)
    accounts: list[Record] = field(default_factory=list)
    sales_entries: list[Record] = field(default_factory=list)
    bank_entries: list[Record] = field(default_factory=list)
    general_journal_entries: list[Record] = field(default_factory=list)
    # Scenario facts for tests (which order is which case); never served by the API.
    truth: Record = field(default_factory=dict)

    @classmethod
    def from_dict(cls, section: Record, *, truth: Record | None = None) -> ExactData:
        """Build from the ``exact`` object of a fixture."""
        if not isinstance(section, dict):
            raise ValueError("the 'exact' fixture section must be a JSON object")
        unknown = set(section) - {
            "division",
            "user",
            "exchange_rates",
            "truth",
            *SECTIONS,
        }
        if unknown:
            raise ValueError(f"unknown keys in the 'exact' fixture section: {sorted(unknown)}")
        if "division" not in section or "Code" not in section["division"]:
            raise ValueError("the 'exact' fixture section needs division.Code")
        data = cls(
            division=dict(section["division"]),
            user=dict(section.get("user", {})),
            exchange_rates=dict(section.get("exchange_rates", {})),
            truth=dict(truth if truth is not None else section.get("truth", {})),
        )
        for name in SECTIONS:
            value = section.get(name, [])
            if not isinstance(value, list):
                raise ValueError(f"'exact.{name}' must be a list")
            setattr(data, name, copy.deepcopy(value))
        return data

    @classmethod
    def from_json(cls, text: str | bytes) -> ExactData:
        document = jsonout.loads(text)
        if not isinstance(document, dict):
            raise ValueError("an Exact fixture must be a JSON object")
        if "exact" in document:
            return cls.from_dict(document["exact"], truth=document.get("truth"))
        return cls.from_dict(document)

    @classmethod
    def load(cls, path: str | Path) -> ExactData:
        try:
            return cls.from_json(Path(path).read_bytes())
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def to_dict(self) -> Record:
        section: Record = {
            "division": self.division,
            "user": self.user,
            "exchange_rates": self.exchange_rates,
        }
        for name in SECTIONS:
            section[name] = getattr(self, name)
        return section

    def to_json(self) -> str:
        """A fixture document (``exact`` plus ``truth``) that :meth:`from_json` reads back."""
        return jsonout.dumps({"exact": self.to_dict(), "truth": self.truth})
