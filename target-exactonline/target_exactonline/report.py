"""The run report: JSON lines for machines and one HTML page a bookkeeper can read.

Per clearing: the entry number, every line with amount, customer, invoice and reason, the
totals, and what was not booked and why; on top, what needs a person's attention. The HTML page
is self-contained (inline style, no scripts) and every value in it is escaped.
"""

from __future__ import annotations

import enum
import html
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


class Outcome(enum.StrEnum):
    BOOKED = "booked"  # posted in this run
    ALREADY_BOOKED = "already_booked"  # posted before (ledger or found in Exact by its key)
    WOULD_BOOK = "would_book"  # dry run: this is what would be posted
    BLOCKED = "blocked"  # not bookable as it is (data, plan or settings); retried next run
    FAILED = "failed"  # Exact refused it or the outcome stayed unknown; retried next run
    NOT_ATTEMPTED = "not_attempted"  # the run stopped before it (budget, authorisation)
    SKIPPED = "skipped"  # revenue group not selected

    @property
    def is_problem(self) -> bool:
        return self in (Outcome.BLOCKED, Outcome.FAILED, Outcome.NOT_ATTEMPTED)

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    Outcome.BOOKED: "Booked",
    Outcome.ALREADY_BOOKED: "Already booked",
    Outcome.WOULD_BOOK: "Would be booked (dry run)",
    Outcome.BLOCKED: "Not booked",
    Outcome.FAILED: "Failed",
    Outcome.NOT_ATTEMPTED: "Not attempted",
    Outcome.SKIPPED: "Skipped",
}


@dataclass(frozen=True, slots=True)
class ReportLine:
    role: str
    gl: str
    amount: Decimal
    description: str
    reason: str
    explanation: str
    customer: str | None = None  # how a person recognises the customer (name, code)
    invoice: str | None = None  # the invoice number linked (only at a 100 % match)
    record_id: str | None = None
    candidates: tuple[str, ...] = ()
    attention: str | None = None  # why a person should look at this line


@dataclass(slots=True)
class ClearingReport:
    clearing_id: str
    key: str | None
    outcome: Outcome
    settlement_date: date | None = None
    settlement_code: str | None = None
    currency: str | None = None
    revenue_group: str | None = None
    journal: str | None = None
    entry_number: int | None = None
    entry_id: str | None = None
    reason: str | None = None  # why it was not booked
    lines: list[ReportLine] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)
    relations_created: list[str] = field(default_factory=list)

    @property
    def linked_count(self) -> int:
        return sum(1 for line in self.lines if line.invoice)


@dataclass(slots=True)
class RunReport:
    run_id: str
    started_at: datetime
    division: int
    dry_run: bool
    finished_at: datetime | None = None
    clearings: list[ClearingReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # run-wide, not tied to one clearing
    api_calls: int | None = None
    api_remaining_today: int | None = None
    stopped: str | None = None  # why the run stopped early, if it did

    def counts(self) -> Counter[Outcome]:
        return Counter(c.outcome for c in self.clearings)

    @property
    def failed(self) -> list[ClearingReport]:
        return [c for c in self.clearings if c.outcome.is_problem]

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[o]} {o.label.lower()}" for o in Outcome if counts[o]]
        lines = sum(len(c.lines) for c in self.clearings if c.outcome is Outcome.BOOKED)
        linked = sum(c.linked_count for c in self.clearings if c.outcome is Outcome.BOOKED)
        text = f"{len(self.clearings)} clearings: " + (", ".join(parts) or "nothing to do")
        if lines:
            text += f"; {lines} lines booked, {linked} invoices settled"
        if self.api_calls is not None:
            text += f"; {self.api_calls} Exact API calls"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text


# JSON lines ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def jsonl_lines(report: RunReport) -> Iterable[str]:
    """One JSON object per line: the run, each clearing (with its lines), each problem, totals."""
    yield json.dumps(
        {
            "type": "run",
            "run_id": report.run_id,
            "started_at": _plain(report.started_at),
            "finished_at": _plain(report.finished_at),
            "division": report.division,
            "dry_run": report.dry_run,
        }
    )
    for clearing in report.clearings:
        item = _plain(asdict(clearing))
        item["type"] = "clearing"
        yield json.dumps(item, sort_keys=True)
    for problem in report.problems:
        yield json.dumps({"type": "problem", "message": problem})
    yield json.dumps(
        {
            "type": "summary",
            "counts": {o.value: n for o, n in sorted(report.counts().items())},
            "api_calls": report.api_calls,
            "api_remaining_today": report.api_remaining_today,
            "stopped": report.stopped,
            "text": report.summary(),
        }
    )


# HTML ----------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.muted{color:#5b6375}.banner{background:#fff4d6;border:1px solid #e0b84a;padding:.6rem 1rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem}
th,td{border-bottom:1px solid #dde1e8;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f8;font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
tr.total td{font-weight:600;border-top:2px solid #9aa3b5}
.tag{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85rem}
.booked,.already_booked{background:#ddf3e4}.would_book{background:#e3ecfb}
.blocked,.failed,.not_attempted{background:#fbe1e1}.skipped{background:#eceff3}
.attention{background:#fff8e6}section{border-top:1px solid #c9ced8;margin-top:1.5rem}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if value.as_tuple().exponent >= -2 else f"{value:,}"


def render_html(report: RunReport) -> str:
    counts = report.counts()
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Pay. bookings, division {_e(report.division)}, run {_e(report.run_id)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Pay. bookings in Exact Online, division {_e(report.division)}</h1>",
        f'<p class="muted">Run {_e(report.run_id)}, started {_e(_when(report.started_at))}'
        + (f", finished {_e(_when(report.finished_at))}" if report.finished_at else "")
        + "</p>",
    ]
    if report.dry_run:
        out.append(
            '<p class="banner"><strong>Dry run:</strong> nothing was written to Exact Online. '
            "This page shows what would be booked.</p>"
        )
    if report.stopped:
        out.append(
            f'<p class="banner"><strong>The run stopped early:</strong> {_e(report.stopped)}</p>'
        )

    out.append("<h2>Summary</h2><table><tr><th>Outcome</th><th class=num>Clearings</th></tr>")
    for outcome in Outcome:
        if counts[outcome]:
            out.append(
                f'<tr><td><span class="tag {outcome.value}">{_e(outcome.label)}</span></td>'
                f"<td class=num>{counts[outcome]}</td></tr>"
            )
    out.append(f"<tr class=total><td>Total</td><td class=num>{len(report.clearings)}</td></tr>")
    out.append("</table>")
    if report.api_calls is not None:
        remaining = (
            f", {report.api_remaining_today:,} left today"
            if report.api_remaining_today is not None
            else ""
        )
        out.append(
            f'<p class="muted">Exact API calls in this run: {report.api_calls}{remaining}.</p>'
        )

    attention = _attention_rows(report)
    not_booked = [c for c in report.clearings if c.outcome.is_problem]
    if not_booked or report.problems:
        out.append("<h2>Not booked, and why</h2><table><tr><th>Clearing</th><th>Date</th>")
        out.append("<th>Outcome</th><th>Reason</th></tr>")
        for c in not_booked:
            out.append(
                f'<tr><td><a href="#{_anchor(c.clearing_id)}">{_e(c.clearing_id)}</a></td>'
                f"<td>{_e(c.settlement_date)}</td>"
                f'<td><span class="tag {c.outcome.value}">{_e(c.outcome.label)}</span></td>'
                f"<td>{_e(c.reason)}</td></tr>"
            )
        for problem in report.problems:
            out.append(f"<tr><td>(run)</td><td></td><td></td><td>{_e(problem)}</td></tr>")
        out.append("</table>")
    if attention:
        out.append("<h2>Needs attention</h2><table><tr><th>Clearing</th><th>What</th>")
        out.append("<th>Customer</th><th class=num>Amount</th><th>Details</th></tr>")
        for row in attention:
            out.append(
                f'<tr class=attention><td><a href="#{_anchor(row.clearing_id)}">'
                f"{_e(row.clearing_id)}</a></td><td>{_e(row.what)}</td>"
                f"<td>{_e(row.customer)}</td><td class=num>{_e(row.amount)}</td>"
                f"<td>{_e(row.details)}</td></tr>"
            )
        out.append("</table>")

    out.append("<h2>Clearings</h2>")
    for c in report.clearings:
        out.extend(_clearing_html(c))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


@dataclass(frozen=True, slots=True)
class _AttentionRow:
    clearing_id: str
    what: str
    customer: str = ""
    amount: str = ""
    details: str = ""


def _with_candidates(line: ReportLine) -> str:
    if not line.candidates:
        return line.explanation
    return f"{line.explanation} Invoices considered: {', '.join(line.candidates)}."


def _attention_rows(report: RunReport) -> list[_AttentionRow]:
    rows: list[_AttentionRow] = []
    for c in report.clearings:
        rows.extend(_AttentionRow(c.clearing_id, text) for text in c.attention)
        for line in c.lines:
            if line.attention:
                payment = f" ({line.record_id})" if line.record_id else ""
                rows.append(
                    _AttentionRow(
                        c.clearing_id,
                        f"{line.attention}{payment}",
                        customer=line.customer or "",
                        amount=f"{_money(line.amount)} {c.currency or ''}".strip(),
                        details=_with_candidates(line),
                    )
                )
    return rows


def _clearing_html(c: ClearingReport) -> list[str]:
    out = [f'<section id="{_anchor(c.clearing_id)}">']
    out.append(
        f"<h3>{_e(c.clearing_id)} "
        f'<span class="tag {c.outcome.value}">{_e(c.outcome.label)}</span></h3>'
    )
    facts = [
        ("Settlement date", c.settlement_date),
        ("Settlement", c.settlement_code),
        ("Revenue group", c.revenue_group),
        ("Journal", c.journal),
        ("Entry number", c.entry_number),
        ("Key", c.key),
        ("Currency", c.currency),
    ]
    shown = " &middot; ".join(f"{_e(k)}: <strong>{_e(v)}</strong>" for k, v in facts if v)
    out.append(f"<p>{shown}</p>")
    if c.reason:
        out.append(f"<p><strong>Why not booked:</strong> {_e(c.reason)}</p>")
    if c.relations_created:
        out.append(f"<p>Customers created: {_e(', '.join(c.relations_created))}</p>")
    if c.lines:
        out.append(
            "<table><tr><th>GL</th><th>Description</th><th>Customer</th><th>Invoice</th>"
            "<th class=num>Amount</th><th>Reason</th><th>Explanation</th></tr>"
        )
        for line in c.lines:
            cls = ' class="attention"' if line.attention else ""
            out.append(
                f"<tr{cls}><td>{_e(line.gl)} <span class=muted>({_e(line.role)})</span></td>"
                f"<td>{_e(line.description)}</td><td>{_e(line.customer)}</td><td>{_e(line.invoice)}</td>"
                f"<td class=num>{_e(_money(line.amount))}</td><td>{_e(line.reason)}</td>"
                f"<td>{_e(line.explanation)}"
                + (
                    f'<br><span class="muted">considered: {_e(", ".join(line.candidates))}</span>'
                    if line.candidates and not line.invoice
                    else ""
                )
                + "</td></tr>"
            )
        total = sum((line.amount for line in c.lines), Decimal(0))
        out.append(
            f"<tr class=total><td colspan=4>Sum of the lines</td>"
            f"<td class=num>{_e(_money(total))}</td><td colspan=2></td></tr></table>"
        )
    if c.totals:
        out.append("<table><tr><th>Clearing totals</th><th class=num>Amount</th></tr>")
        for name, value in c.totals.items():
            out.append(f"<tr><td>{_e(name)}</td><td class=num>{_e(_money(value))}</td></tr>")
        out.append("</table>")
    out.append("</section>")
    return out


def _anchor(clearing_id: str) -> str:
    return "c-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in clearing_id)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else ""


# Writing -------------------------------------------------------------------------------------


def write_report(report: RunReport, report_dir: Path) -> tuple[Path, Path]:
    """Write ``<stamp>-<run id>.jsonl`` and ``.html`` atomically; returns both paths."""
    report_dir.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.strftime("%Y%m%dT%H%M%SZ")
    base = report_dir / f"pay-exact-{report.division}-{stamp}-{report.run_id}"
    jsonl_path = base.with_suffix(".jsonl")
    html_path = base.with_suffix(".html")
    _atomic_write(jsonl_path, "\n".join(jsonl_lines(report)) + "\n")
    _atomic_write(html_path, render_html(report))
    return jsonl_path, html_path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
