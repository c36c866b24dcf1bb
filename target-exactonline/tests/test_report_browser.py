"""The report page in a real headless browser (Debian's Chromium): its scripts run, and the
totals and the attention table read from the DOM are what the run booked.

Skips only where no Chromium is installed, saying so; CI installs it (``.ci/run``) and sets
PAY_EXACT_REQUIRE_CHROMIUM=1, which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from target_exactonline.report import (
    ClearingReport,
    Outcome,
    ReportLine,
    RunReport,
    render_html,
)

D = Decimal
CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        message = "no Chromium on this machine (apt-get install -y chromium; CI installs it)"
        if os.environ.get("PAY_EXACT_REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def dump_dom(chromium: str, url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, in a fresh profile."""
    done = subprocess.run(
        [*(chromium, *FLAGS), f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


class Dom(HTMLParser):
    """What the test reads: the run's money cells, the attention rows (shown or hidden, in
    order), the attention count and which clearing sections are open."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.money: dict[str, str] = {}
        self.rows: list[tuple[bool, list[str]]] = []
        self.count = ""
        self.open: set[str] = set()
        self._where: list[str] = []
        self._cell: list[str] | None = None
        self._in_money = self._in_attention = False
        self._key: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._in_money = a.get("id") == "run-money"
            self._in_attention = a.get("id") == "attention"
        if tag == "details" and "open" in a and a.get("id"):
            self.open.add(a["id"] or "")
        if tag == "span" and a.get("id") == "attention-count":
            self._key = "count"
            self._cell = []
        if self._in_money and tag == "td" and a.get("data-key"):
            self._key = a["data-key"]
            self._cell = []
        if self._in_attention and tag == "tr" and a.get("data-kind"):
            self.rows.append(("hidden" in a, []))
        if self._in_attention and tag == "td" and self.rows:
            self._key = "cell"
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._cell is None or tag not in ("td", "span"):
            return
        text = "".join(self._cell).strip()
        if self._key == "count":
            self.count = text
        elif self._key == "cell":
            self.rows[-1][1].append(text)
        elif self._key:
            self.money[self._key] = text
        self._cell, self._key = None, None


def line(amount: str, reason: str, **kw: object) -> ReportLine:
    role = {"fee": "psp_costs", "payout": "payouts", "unassigned": "unassigned"}.get(
        reason, "debtors"
    )
    return ReportLine(role, "1300", D(amount), f"PX:C {reason}", reason, f"{reason} here", **kw)  # type: ignore[arg-type]


def report() -> RunReport:
    booked = ClearingReport(
        "CLR-1", "PX:CLR-1", Outcome.BOOKED, date(2026, 3, 4), currency="EUR",
        lines=[
            line("121.00", "matched", invoice="24700012", record_id="R-1", record_kind="payment",
                 customer="Jansen BV (10042)", booked_on="customer"),
            line("50.00", "amount_mismatch", record_id="R-2", record_kind="payment",
                 customer="Pieter de Vries (10043)", booked_on="customer",
                 attention="Partial or over-payment; not linked"),
            line("-25.00", "matched", invoice="25000109", record_id="R-3", record_kind="refund",
                 customer="Jansen BV (10042)", booked_on="customer"),
            line("9.95", "standard_debtor", record_id="R-4", record_kind="payment",
                 booked_on="standard_debtor", customer="standard debtor 9999",
                 attention="Unknown customer: booked on the standard debtor"),
            line("300.00", "unassigned", record_id="R-5", record_kind="payment",
                 booked_on="unassigned",
                 attention="Unknown customer: booked on the unassigned account"),
            line("-2.35", "fee"),
            line("-453.60", "payout"),
        ],
        totals={"payments": D("480.95"), "refunds": D("25.00"), "payout": D("453.60")},
    )  # fmt: skip
    blocked = ClearingReport(
        "CLR-2", "PX:CLR-2", Outcome.BLOCKED, date(2026, 3, 5), currency="EUR",
        reason="the clearing does not add up", blocked_reason="totals_inconsistent",
        totals={"payments": D("100.00"), "fees": D("1.00"), "payout": D("98.00"),
                "difference": D("-1.00"), "lines_net": D("99.00")},
    )  # fmt: skip
    return RunReport(
        "r1", datetime(2026, 3, 6, 2, 0, tzinfo=UTC), 123456, False, clearings=[booked, blocked]
    )


def test_the_browser_reads_the_runs_money_and_the_attention_table(
    chromium: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report()), encoding="utf-8")
    dom = Dom(dump_dom(chromium, page.as_uri(), tmp_path / "profile"))
    assert dom.money == {
        "received": "480.95",
        "linked": "96.00",  # 121.00 settles an invoice, -25.00 a credit note
        "customers": "50.00",
        "standard_debtor": "9.95",
        "unassigned": "300.00",
        "fees": "2.35",
        "refunds": "25.00",
        "chargebacks": "0.00",
        "payout": "453.60",
    }
    assert dom.count == "3 of 3 lines shown"  # written by the page's script
    assert [cells[2] for _, cells in dom.rows] == [
        "Partial or over-payment; not linked",
        "Unknown customer: booked on the standard debtor",
        "Unknown customer: booked on the unassigned account",
    ]
    assert "c-CLR-2" in dom.open  # the payout not booked is open; the booked one is folded
    assert "c-CLR-1" not in dom.open


def test_the_attention_table_filters_and_sorts_from_the_address(
    chromium: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report()), encoding="utf-8")
    url = f"{page.as_uri()}?q=unknown&sort=4&dir=desc#c-CLR-1"
    dom = Dom(dump_dom(chromium, url, tmp_path / "profile"))
    assert dom.count == "2 of 3 lines shown"
    shown = [cells for hidden, cells in dom.rows if not hidden]
    assert [cells[4] for cells in shown] == ["300.00 EUR", "9.95 EUR"]  # largest first
    assert "c-CLR-1" in dom.open  # the link's target section opened itself


def test_the_stated_payout_stands_beside_the_sum_of_its_lines(tmp_path: Path) -> None:
    html = render_html(report())
    top = html[: html.index("<h2>Summary</h2>")]
    assert re.search(r"Not booked, and why: 1 payout \(98\.00 EUR\)", top)
    assert "Pay. states a payout of 98.00 EUR" in top
    assert "its payments minus refunds, chargebacks and fees add up to 99.00 EUR" in top
    assert "book_inconsistent_difference" in top  # what to do
