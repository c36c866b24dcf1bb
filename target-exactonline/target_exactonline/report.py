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
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
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
    # (lines, invoices linked) of clearings whose lines went to the report files and were
    # released from memory (``ReportWriter``); the others count their ``lines``.
    line_counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def counts(self) -> Counter[Outcome]:
        return Counter(c.outcome for c in self.clearings)

    def _lines_of(self, c: ClearingReport) -> tuple[int, int]:
        return self.line_counts.get(c.clearing_id) or (len(c.lines), c.linked_count)

    @property
    def failed(self) -> list[ClearingReport]:
        return [c for c in self.clearings if c.outcome.is_problem]

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[o]} {o.label.lower()}" for o in Outcome if counts[o]]
        booked = [self._lines_of(c) for c in self.clearings if c.outcome is Outcome.BOOKED]
        lines = sum(n for n, _ in booked)
        linked = sum(n for _, n in booked)
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
    yield _jsonl_run(report)
    for clearing in report.clearings:
        yield _jsonl_clearing(clearing)
    yield from _jsonl_tail(report)


def _jsonl_run(report: RunReport) -> str:
    return json.dumps(
        {
            "type": "run",
            "run_id": report.run_id,
            "started_at": _plain(report.started_at),
            "finished_at": _plain(report.finished_at),
            "division": report.division,
            "dry_run": report.dry_run,
        }
    )


_CLEARING_FIELDS = tuple(f.name for f in fields(ClearingReport))
_LINE_FIELDS = tuple(f.name for f in fields(ReportLine))


def _jsonl_clearing(clearing: ClearingReport) -> str:
    # What ``asdict`` gives, field by field: ``asdict`` deep-copies every line first, which cost
    # more than the rest of the report at a backfill's size.
    item = {name: _plain(getattr(clearing, name)) for name in _CLEARING_FIELDS if name != "lines"}
    item["lines"] = [
        {name: _plain(getattr(line, name)) for name in _LINE_FIELDS} for line in clearing.lines
    ]
    item["type"] = "clearing"
    return json.dumps(item, sort_keys=True)


def _jsonl_tail(report: RunReport) -> Iterable[str]:
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
    attention = [_attention_html(row) for row in _attention_rows(report)]
    out = _html_top(report, attention)
    out.append("<h2>Clearings</h2>")
    for c in report.clearings:
        out.extend(_clearing_html(c))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_top(report: RunReport, attention: list[str]) -> list[str]:
    """Everything above the clearings: summary, what was not booked, what needs attention."""
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
        out.extend(attention)
        out.append("</table>")
    return out


def _attention_html(row: _AttentionRow) -> str:
    return (
        f'<tr class=attention><td><a href="#{_anchor(row.clearing_id)}">'
        f"{_e(row.clearing_id)}</a></td><td>{_e(row.what)}</td>"
        f"<td>{_e(row.customer)}</td><td class=num>{_e(row.amount)}</td>"
        f"<td>{_e(row.details)}</td></tr>"
    )


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
    return [row for c in report.clearings for row in _attention_rows_of(c)]


def _attention_rows_of(c: ClearingReport) -> list[_AttentionRow]:
    rows = [_AttentionRow(c.clearing_id, text) for text in c.attention]
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


def report_paths(report: RunReport, report_dir: Path) -> tuple[Path, Path]:
    stamp = report.started_at.strftime("%Y%m%dT%H%M%SZ")
    base = report_dir / f"pay-exact-{report.division}-{stamp}-{report.run_id}"
    return base.with_suffix(".jsonl"), base.with_suffix(".html")


def write_report(report: RunReport, report_dir: Path) -> tuple[Path, Path]:
    """Write ``<stamp>-<run id>.jsonl`` and ``.html`` atomically; returns both paths."""
    report_dir.mkdir(parents=True, exist_ok=True)
    jsonl_path, html_path = report_paths(report, report_dir)
    _atomic_write(jsonl_path, "\n".join(jsonl_lines(report)) + "\n")
    _atomic_write(html_path, render_html(report))
    return jsonl_path, html_path


# Lines a run keeps in its in-memory report after writing them (for its summary and callers
# that look at a small run's lines); beyond this, lines live only in the report files.
RETAINED_LINES = 20_000
_ROWS = "(the attention rows)"


class ReportWriter:
    """Writes the report as the run goes, one clearing at a time, in one pass.

    A backfill has a line per payment, millions of them; holding them until the end would make
    the run's memory grow with its size. Each clearing, once decided, is rendered once: its
    JSON line, its HTML section and its attention rows go to part files beside the report, and
    its lines leave memory (beyond ``RETAINED_LINES``). ``finish`` writes what only the end of
    the run knows (summary, what was not booked, run-wide problems) and joins the parts into the
    same two files ``write_report`` writes, atomically.
    """

    def __init__(self, report: RunReport, report_dir: Path) -> None:
        self.report = report
        report_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl_path, self.html_path = report_paths(report, report_dir)
        self._parts = {
            name: self.html_path.with_name(f"{self.html_path.name}.{name}.part")
            for name in ("jsonl", "sections", "attention")
        }
        self._files = {name: path.open("w", encoding="utf-8") for name, path in self._parts.items()}
        self._attention_rows = 0
        self._retained = 0

    def add(self, c: ClearingReport) -> None:
        """Write one clearing whose outcome is final."""
        files = self._files
        files["jsonl"].write(_jsonl_clearing(c) + "\n")
        files["sections"].write("\n".join(_clearing_html(c)) + "\n")
        for row in _attention_rows_of(c):
            files["attention"].write(_attention_html(row) + "\n")
            self._attention_rows += 1
        self.report.line_counts[c.clearing_id] = (len(c.lines), c.linked_count)
        if self._retained + len(c.lines) <= RETAINED_LINES:
            self._retained += len(c.lines)
        else:
            c.lines = []

    def finish(self) -> tuple[Path, Path]:
        report = self.report
        for f in self._files.values():
            f.close()
        with _atomic_open(self.jsonl_path) as out:
            out.write(_jsonl_run(report) + "\n")
            _copy(self._parts["jsonl"], out)
            for line in _jsonl_tail(report):
                out.write(line + "\n")
        with _atomic_open(self.html_path) as out:
            # The attention rows wait in their part file; a marker holds their place.
            for piece in _html_top(report, [_ROWS] if self._attention_rows else []):
                if piece is _ROWS:
                    _copy(self._parts["attention"], out)
                else:
                    out.write(piece + "\n")
            out.write("<h2>Clearings</h2>\n")
            _copy(self._parts["sections"], out)
            out.write("</body></html>\n")
        self.discard()
        return self.jsonl_path, self.html_path

    def discard(self) -> None:
        for f in self._files.values():
            f.close()
        for path in self._parts.values():
            path.unlink(missing_ok=True)


def _copy(source: Path, out: Any) -> None:
    with source.open(encoding="utf-8") as f:
        shutil.copyfileobj(f, out, 1 << 20)


@contextmanager
def _atomic_open(path: Path) -> Iterator[Any]:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        yield out
    os.replace(tmp, path)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
