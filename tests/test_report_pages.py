"""The report pages of the screenshots in ``docs/images``, opened in a real headless browser.

``bin/report_screenshots.py`` runs two merchants through tap-pay and the target against the
sandboxes: the demo merchant and a merchant with 1,000 clearings (a Shopify shop read without
transaction details, one settlement a cent off). This test makes the same two runs, opens each
report page in Debian's Chromium and reads, from the DOM after the page's script ran, the run's
money, each clearing's money, the settled counts, the attention table (also filtered and sorted
from the address) and the findings at the top, and checks them against the bank entries the run
left in Exact and against the merchant's data at Pay.: not against the report's own figures.

Skips only where no Chromium is installed, saying so; CI installs it (``.ci/run``) and sets
PAY_EXACT_REQUIRE_CHROMIUM=1, which turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
GL = {"debtors": "1300", "fees": "4390", "payouts": "2050", "unassigned": "2090"}
MONEY = ("received", "linked", "customers", "standard_debtor", "unassigned", "fees", "refunds",
         "chargebacks", "payout")  # fmt: skip
RECORD = re.compile(r"transaction (\S+)")
EXTERNAL = re.compile(r"src=|<link|@import|url\(|(https?|ftp)://", re.IGNORECASE)


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "report_screenshots", ROOT / "bin" / "report_screenshots.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


shots = _script()


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shots.chromium_path()
    if found is None:
        message = "no Chromium on this machine (apt-get install -y chromium; CI installs it)"
        if os.environ.get("PAY_EXACT_REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)
    return str(found)


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "").split()[0])


@dataclass
class Page(HTMLParser):
    """What a bookkeeper reads on the page, taken from the DOM Chromium serialised."""

    run_money: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    clearing_money: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    attention: list[dict[str, Any]] = field(default_factory=list)
    not_booked: list[str] = field(default_factory=list)
    stated: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    open_sections: set[str] = field(default_factory=set)
    count: str = ""

    def __post_init__(self) -> None:
        super().__init__()
        self._text: list[str] | None = None
        self._into: tuple[str, ...] = ()
        self._currency = ""
        self._clearing = ""
        self._row: dict[str, Any] | None = None

    def read(self, dom: str) -> Page:
        self.feed(dom)
        self.close()
        return self

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "details" and "clearing" in (a.get("class") or ""):
            self._clearing = a.get("id") or ""
            self.sections.append(self._clearing)
            if "open" in a:
                self.open_sections.add(self._clearing)
        elif tag == "tr" and a.get("data-currency"):
            self._currency = a["data-currency"] or ""
        elif tag == "tr" and a.get("data-clearing"):
            self.not_booked.append(a["data-clearing"] or "")
        elif tag == "tr" and a.get("data-kind"):
            self._row = {"kind": a["data-kind"], "hidden": "hidden" in a, "cells": []}
            self.attention.append(self._row)
        elif tag == "td" and a.get("data-key"):
            self._start("money", a["data-key"] or "")
        elif tag == "td" and self._row is not None:
            self._start("cell")
        elif tag == "span" and a.get("id") == "attention-count":
            self._start("count")
        elif tag == "strong" and "stated" in (a.get("class") or ""):
            self._start("stated")
        elif tag in ("h2", "p"):
            self._start(tag)

    def _start(self, *into: str) -> None:
        self._text, self._into = [], into

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "details":
            self._clearing = ""
        if self._text is None or tag not in ("td", "span", "strong", "h2", "p"):
            return
        text = " ".join("".join(self._text).split())
        kind, *rest = self._into
        self._text = None
        if kind == "money" and self._clearing:
            self.clearing_money.setdefault(self._clearing, {})[rest[0]] = amount(text)
        elif kind == "money":
            self.run_money.setdefault(self._currency, {})[rest[0]] = amount(text)
        elif kind == "cell" and self._row is not None:
            self._row["cells"].append(text)
        elif kind == "count":
            self.count = text
        elif kind == "stated":
            self.stated.append(text)
        elif kind == "h2":
            self.headings.append(text)
        elif kind == "p":
            self.paragraphs.append(text)


def open_page(chromium: str, url: str) -> Page:
    dom = shots.dump_dom(chromium, url)
    return Page().read(dom)


def anchor(clearing_id: str) -> str:
    return "c-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in clearing_id)


def money_in_exact(entries: list[dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """Each clearing's money as its bank entry in Exact holds it, in the report's columns."""
    out: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        lines = entry["BankEntryLines"]
        key = lines[0]["Description"].split()[0]
        into = out.setdefault(key.removeprefix("PX:"), dict.fromkeys(MONEY, Decimal(0)))
        for line in lines:
            value, gl = line["AmountFC"], line["GLAccountCode"]
            what = line["Description"].split()[1]
            if what == "payment":
                into["received"] += value
            elif what in ("refund", "chargeback"):
                into[f"{what}s"] -= value
            if gl == GL["fees"]:
                into["fees"] -= value
            elif gl == GL["payouts"]:
                into["payout"] -= value
            elif gl == GL["unassigned"]:
                into["unassigned"] += value
            elif line["OurRef"] is not None:
                into["linked"] += value
            else:  # no standard debtor is set for these merchants: a debtor is a customer
                into["customers"] += value
    return out


def check_page(page: Page, entries: list[dict[str, Any]], *, clearings: int, html: str) -> None:
    """The page against the bank entries of the Pay. journal in Exact."""
    assert not EXTERNAL.search(html)  # nothing to fetch: it works offline
    exact = money_in_exact(entries)
    assert len(page.sections) == clearings
    # Each booked clearing's money is what its bank entry holds.
    booked = {c: m for c, m in page.clearing_money.items() if c.removeprefix("c-") in exact}
    assert len(booked) == len(exact)
    for clearing_id, money in exact.items():
        assert page.clearing_money[anchor(clearing_id)] == money, clearing_id
    # The run's money is the sum over the bank entries, and ties to the payout.
    run = {name: sum((m[name] for m in exact.values()), Decimal(0)) for name in MONEY}
    assert page.run_money == {"EUR": run}
    assert run["linked"] + run["customers"] + run["standard_debtor"] + run["unassigned"] == (
        run["fees"] + run["payout"]
    )
    # Invoices (settled by payments) and credit notes (by refunds) are counted apart.
    linked = [line for e in entries for line in e["BankEntryLines"] if line["OurRef"] is not None]
    invoices = sum(1 for line in linked if line["AmountFC"] > 0)
    notes = len(linked) - invoices
    settled = f"{invoices:,} invoices and {notes:,} credit note{'' if notes == 1 else 's'} settled"
    assert any(settled in text for text in page.paragraphs), settled
    # Every payment left unlinked in Exact is a line of the attention table, with its amount.
    unlinked = {
        found.group(1): line["AmountFC"]
        for e in entries
        for line in e["BankEntryLines"]
        if line["OurRef"] is None and (found := RECORD.search(line["Notes"] or ""))
    }
    shown = {row["cells"][5]: amount(row["cells"][4]) for row in page.attention if row["cells"][5]}
    assert set(unlinked) <= set(shown)
    assert {record: shown[record] for record in unlinked} == unlinked
    assert page.count == f"{len(page.attention)} of {len(page.attention)} lines shown"
    assert not any(row["hidden"] for row in page.attention)


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    shown = shots.photographed("1000")
    run = shots.run_report(
        shown.merchant, shown.seed, tmp_path_factory.mktemp("thousand"), **shown.settings
    )
    return shown, run


def test_the_screenshots_are_in_the_docs() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    for name in ("report-demo.png", "report-1000.png", "report-1000-unassigned.png"):
        assert (IMAGES / name).stat().st_size > 10_000, name
        assert f"(images/{name})" in guide, name


def test_the_demo_merchants_page_shows_what_was_booked(chromium: str, tmp_path: Path) -> None:
    shown = shots.photographed("demo")
    run = shots.run_report(shown.merchant, shown.seed, tmp_path, **shown.settings)
    page = open_page(chromium, run.page.as_uri())
    check_page(page, run.entries, clearings=len(run.entries), html=run.page.read_text())
    assert not page.not_booked
    assert not page.open_sections  # every payout booked: every section folded
    assert len(page.attention) > 10
    kinds = Counter(row["kind"] for row in page.attention)
    assert {"amount_mismatch", "ambiguous", "currency_mismatch"} <= set(kinds)


def test_the_1000_clearings_page_shows_what_was_booked_and_what_was_not(
    chromium: str, thousand: tuple[Any, Any]
) -> None:
    shown, run = thousand
    page = open_page(chromium, run.page.as_uri())
    check_page(page, run.entries, clearings=1000, html=run.page.read_text())
    assert len(run.entries) == 1000 - len(shown.not_booked)
    # The payouts not booked are at the top, open, with Pay.'s stated amount beside the sum.
    assert sorted(page.not_booked) == sorted(shown.not_booked)
    assert page.open_sections == {anchor(c) for c in shown.not_booked}
    settlement = next(
        s
        for s in shown.merchant.pay["settlements"]
        if shown.not_booked[0] in [c["clearingId"] for c in s["clearings"]]
    )
    stated = Decimal(settlement["amount"]["value"]) / 100  # the sandbox states cents
    expected = (
        f"Settlement amount stated by Pay.: {stated:,.2f} EUR; settlement lines added up: "
        f"{stated + Decimal('0.01'):,.2f} EUR; difference: -0.01 EUR"
    )
    assert page.stated == [expected] * len(shown.not_booked)
    # Its clearings' own payouts add up to its lines, a cent more than Pay. states.
    assert page.headings[0] == (
        f"Not booked, and why: {len(shown.not_booked)} payouts "
        f"({stated + Decimal('0.01'):,.2f} EUR)"
    )
    # The Shopify shop's clearings were matched without transaction details, and say so.
    shop = {
        c["clearingId"]
        for s in shown.merchant.pay["settlements"]
        for c in s["clearings"]
        if c["clearingLines"][0]["turnoverGroup"]["name"] == "Shop"
    } - set(shown.not_booked)
    assert page.headings[1] == f"Matched without transaction details: {len(shop)} clearings"


def test_the_1000_clearings_attention_table_filters_and_sorts_from_the_address(
    chromium: str, thousand: tuple[Any, Any]
) -> None:
    _, run = thousand
    everything = open_page(chromium, run.page.as_uri())
    by_kind: dict[str, list[Decimal]] = defaultdict(list)
    for row in everything.attention:
        if row["cells"][4]:  # a finding about a whole clearing has no amount
            by_kind[row["kind"]].append(amount(row["cells"][4]))
    page = open_page(chromium, f"{run.page.as_uri()}?kind=unassigned&sort=4&dir=desc")
    shown = [row for row in page.attention if not row["hidden"]]
    assert page.count == f"{len(shown)} of {len(everything.attention)} lines shown"
    assert {row["kind"] for row in shown} == {"unassigned"}
    amounts = [amount(row["cells"][4]) for row in shown]
    assert sorted(amounts, reverse=True) == amounts  # the largest first
    assert sorted(amounts) == sorted(by_kind["unassigned"])
    assert len(shown) > 100
