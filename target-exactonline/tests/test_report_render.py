"""The run report: JSON lines that round-trip, and an HTML page with everything escaped."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from target_exactonline import report as report_module
from target_exactonline.report import (
    ClearingReport,
    Outcome,
    ReportLine,
    ReportWriter,
    RunReport,
    jsonl_lines,
    render_html,
    write_report,
)


def sample() -> RunReport:
    booked = ClearingReport(
        clearing_id="CLR-1",
        key="PX:CLR-1",
        outcome=Outcome.BOOKED,
        settlement_date=date(2026, 3, 4),
        currency="EUR",
        entry_number=25000007,
        lines=[
            ReportLine(
                "debtors",
                "1300",
                Decimal("121.00"),
                "PX:CLR-1 ORD-1",
                "matched",
                "invoice 24700012 open 121.00",
                customer="Jansen BV",
                invoice="24700012",
                record_id="R-1",
            ),
            ReportLine(
                "debtors",
                "1300",
                Decimal("50.00"),
                "PX:CLR-1 ORD-2",
                "amount_mismatch",
                "open 60.00, paid 50.00",
                customer="<script>alert(1)</script>",
                record_id="R-2",
                candidates=("24700013",),
                attention="Partial payment",
            ),
            ReportLine("psp_costs", "4390", Decimal("-2.35"), "PX:CLR-1 fees", "fee", "fees"),
            ReportLine(
                "payouts", "2150", Decimal("-168.65"), "PX:CLR-1 payout", "payout", "payout"
            ),
        ],
        totals={"payments": Decimal("171.00"), "payout": Decimal("168.65")},
    )
    blocked = ClearingReport(
        clearing_id="CLR-2",
        key="PX:CLR-2",
        outcome=Outcome.BLOCKED,
        reason='GL account "9999" does not exist in division 1 & cannot be used',
        attention=["Chargeback of 10.00 EUR"],
    )
    return RunReport(
        run_id="r1",
        started_at=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
        finished_at=datetime(2026, 3, 5, 2, 1, tzinfo=UTC),
        division=1,
        dry_run=False,
        clearings=[booked, blocked],
        problems=["settlements record code=S9: settlementDate is not a date"],
        api_calls=12,
        api_remaining_today=4988,
    )  # fmt: skip


def test_jsonl_has_one_object_per_line_with_exact_amounts() -> None:
    lines = [json.loads(x) for x in jsonl_lines(sample())]
    assert [x["type"] for x in lines] == ["run", "clearing", "clearing", "problem", "summary"]
    first = lines[1]
    assert first["entry_number"] == 25000007
    assert first["lines"][0]["amount"] == "121.00"
    assert first["lines"][0]["invoice"] == "24700012"
    assert lines[2]["outcome"] == "blocked"
    assert lines[-1]["counts"] == {"blocked": 1, "booked": 1}
    assert "1 booked, 1 not booked" in lines[-1]["text"]


def test_a_clearing_line_holds_what_plain_json_of_its_fields_holds() -> None:
    for clearing in sample().clearings:
        clearing.keep_figures()
        clearing.relations_created = ["Jan <jan@example.nl>"]
        written = json.loads(report_module._jsonl_clearing(clearing))
        plain = report_module._plain_clearing(clearing)
        assert written == json.loads(json.dumps(plain))
        assert written["lines"] == [] or written["lines"][0]["amount"] == "121.00"


@pytest.mark.parametrize("odd", ["\u2028", "\u2029", "\x85", "é €"])
def test_a_clearing_stays_one_line_whatever_its_text_holds(odd: str) -> None:
    report = sample()
    first = report.clearings[0]
    first.lines[0] = replace(first.lines[0], explanation=f"paid by Jan{odd}Jansen")
    text = "\n".join(jsonl_lines(report))
    lines = text.splitlines()  # what a reader of the file does, at every Unicode line break
    assert len(lines) == 5
    clearing = json.loads(lines[1])
    assert clearing["lines"][0]["explanation"] == f"paid by Jan{odd}Jansen"
    assert list(clearing) == sorted(clearing)  # keys sorted, as before


def test_html_escapes_everything_and_shows_what_a_bookkeeper_needs() -> None:
    page = render_html(sample())
    assert page.count("<script>") == 1  # only the page's own inline script
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;9999&quot;" in page
    assert "&amp; cannot" in page
    for needed in ("25000007", "24700012", "121.00", "-168.65", "Partial payment",
                   "Chargeback of 10.00 EUR", "Not booked, and why", "Needs attention",
                   "settlementDate is not a date", "4,988 left today"):  # fmt: skip
        assert needed in page, needed
    assert "Dry run" not in page
    # what needs attention says who and why, next to the clearing, without scrolling to it
    needs = page[page.index("Needs attention") : page.index("<h2>Clearings</h2>")]
    for shown in ("Partial payment", "<td class=id>R-2</td>",
                  "&lt;script&gt;alert(1)&lt;/script&gt;", "50.00",
                  "open 60.00, paid 50.00 Invoices considered: 24700013.",
                  "Chargeback of 10.00 EUR"):  # fmt: skip
        assert shown in needs, shown
    # the lines of a booked clearing sum to zero, and the page says so
    assert "Sum of the lines</td><td class=num>0.00" in page


def test_dry_run_is_announced() -> None:
    report = sample()
    report.dry_run = True
    assert "nothing was written to Exact Online" in render_html(report)


def test_write_report_creates_both_files(tmp_path) -> None:
    jsonl, page = write_report(sample(), tmp_path / "reports")
    assert jsonl.suffix == ".jsonl"
    assert page.suffix == ".html"
    assert len(jsonl.read_text().splitlines()) == 5
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert not list((tmp_path / "reports").glob("*.tmp"))


@pytest.mark.parametrize("retained", [0, 20_000])
def test_written_as_the_run_goes_the_report_is_the_same_and_lines_leave_memory(
    tmp_path, monkeypatch, retained: int
) -> None:
    whole = write_report(sample(), tmp_path / "whole")
    monkeypatch.setattr(report_module, "RETAINED_LINES", retained)
    report = sample()
    clearings, report.clearings = report.clearings, []
    writer = ReportWriter(report, tmp_path / "streamed")
    for clearing in clearings:  # as the run decides them, one at a time
        report.clearings.append(clearing)
        writer.add(clearing)
    streamed = writer.finish()
    assert [p.read_text() for p in streamed] == [p.read_text() for p in whole]
    assert [len(c.lines) for c in report.clearings] == ([0, 0] if retained == 0 else [4, 0])
    assert "2 lines booked" not in report.summary()
    assert "4 lines booked, 1 invoice settled" in report.summary()
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == sorted(
        p.name for p in streamed
    )  # no part files left behind


OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_the_operations_guide_describes_the_report_and_lines_as_they_are() -> None:
    from pay_exact_transform import (
        Clearing,
        ClearingLine,
        Direction,
        GLAccounts,
        LineKind,
        PaymentRecord,
        RecordKind,
        Settings,
        plan_clearing,
    )
    from target_exactonline.exact_payload import bank_entry_body
    from target_exactonline.report import MONEY_COLUMNS

    guide = OPERATIONS.read_text()
    page = render_html(sample())
    for heading in ("Not booked, and why", "Needs attention", "Summary", "Clearings"):
        assert f"**{heading}**" in guide
        assert heading in page
    for _, label, _ in MONEY_COLUMNS:
        assert label.split()[0] in guide, label
    # The example lines in Exact are what the engine and the target write for that payout.
    record = PaymentRecord(
        "R-000486136", RecordKind.PAYMENT, Decimal("14.50"), "EUR", reference="1452",
        description="Order 1452", order_id="1661180545X1ca9c",
    )  # fmt: skip
    lines = (
        ClearingLine("FT-1102-0461-4278", 10, "iDEAL", Direction.CREDIT, Decimal("14.50"),
                     LineKind.PAYMENTS, 1),
        ClearingLine("FT-1102-0461-4292", 9101, "Invoice settlement", Direction.DEBIT,
                     Decimal("0.29"), LineKind.FEES),
    )  # fmt: skip
    clearing = Clearing(
        "CLEARING-20250770507", "TGIQ-HG9J", date(2025, 3, 4), "EUR", None, lines, (record,),
        Decimal("14.21"),
    )  # fmt: skip
    gl = GLAccounts(debtors="1300", psp_costs="4390", payouts="2050", unassigned="2090")
    plan = plan_clearing(clearing, [], Settings(gl=gl, standard_debtor="9999"))
    body = bank_entry_body(
        plan, journal_code="25", gl_ids={c: c for c in ("1300", "4390", "2050", "2090")},
        customer_ids={"9999": "guid"},
    )  # fmt: skip
    for entry_line in body["BankEntryLines"][:2]:
        assert f"description  {entry_line['Description']}\n" in guide
        assert f"notes        {entry_line['Notes']}\n" in guide


def test_the_runs_money_adds_up_kept_figures_when_the_lines_are_gone() -> None:
    from target_exactonline.report import run_money, settled_counts

    report = sample()
    booked = report.clearings[0]
    booked.lines = [
        replace(line, record_kind="payment", booked_on="customer") if line.record_id else line
        for line in booked.lines
    ]
    before = run_money(report)
    assert before["EUR"]["linked"] == Decimal("121.00")
    assert before["EUR"]["customers"] == Decimal("50.00")
    assert before["EUR"]["payout"] == Decimal("168.65")
    booked.keep_figures()
    booked.lines = []  # a long run lets go of the lines once they are written
    assert run_money(report) == before
    assert settled_counts(report.clearings) == (1, 0)
    assert "1 invoice settled" in render_html(report)
