"""The run report: JSON lines for machines and one HTML page a bookkeeper can read.

Per clearing: the entry number, every line with amount, customer, invoice and reason, where
the money went, and what was not booked and why; on top, the payouts not booked with what to
do, the clearings matched without transaction details, the run's money and a sortable,
filterable table of the lines that need a person. The HTML page is self-contained (inline style
and a little inline script, no external assets) and every value in it is escaped.
"""

from __future__ import annotations

import enum
import html
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
from pay_exact_transform import builder


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
    record_kind: str | None = None  # payment, refund or chargeback; None for other lines
    booked_on: str | None = None  # customer, standard_debtor, new_relation or unassigned


# ReportLine built without its __init__ (a line per payment of a backfill); every field given.
new_report_line = builder(ReportLine, "new_report_line")


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
    details_missing: str | None = None  # matched without the transaction details it needs
    blocked_reason: str | None = None  # the engine's reason when the plan is blocked
    # Figures of the lines, kept once the lines are final (``keep_figures``), so the top of the
    # report can add them up even where a long run lets go of the lines themselves.
    money: dict[str, Decimal] = field(default_factory=dict)
    settled: tuple[int, int] = (0, 0)  # invoices, credit notes
    payments: int = 0  # lines that come from a payment record

    @property
    def linked_count(self) -> int:
        return sum(1 for line in self.lines if line.invoice)

    def keep_figures(self) -> None:
        """Remember the money and counts of the lines as they are now."""
        self.money = _money_of_lines(self.lines) if self.lines else {}
        self.settled = _settled_of_lines(self.lines)
        self.payments = sum(1 for line in self.lines if line.record_id is not None)


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
    # Lines of clearings whose lines went to the report files and were let go (``ReportWriter``).
    line_counts: dict[str, int] = field(default_factory=dict)

    def counts(self) -> Counter[Outcome]:
        return Counter(c.outcome for c in self.clearings)

    @property
    def failed(self) -> list[ClearingReport]:
        return [c for c in self.clearings if c.outcome.is_problem]

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[o]} {o.label.lower()}" for o in Outcome if counts[o]]
        booked = [c for c in self.clearings if c.outcome is Outcome.BOOKED]
        lines = sum(self.line_counts.get(c.clearing_id, len(c.lines)) for c in booked)
        text = f"{len(self.clearings)} clearings: " + (", ".join(parts) or "nothing to do")
        if lines:
            text += f"; {lines} lines booked, {settled_text(*settled_counts(booked))}"
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


_line_values = attrgetter(*_LINE_FIELDS)


def _jsonl_clearing(clearing: ClearingReport) -> str:
    return _jsonl_clearing_utf8(clearing).decode()


def _jsonl_clearing_utf8(clearing: ClearingReport) -> bytes:
    """The clearing with its lines as one JSON object, keys sorted, in UTF-8. msgspec writes
    the report's dataclasses as they are (Decimal and dates as text, enums as their values,
    what ``_plain_clearing`` gives) in one call, several times faster than ``json.dumps`` over
    plain data: a backfill's report has a line per payment. Where msgspec would leave a
    character that a line reader cuts a line at (NEL, LINE or PARAGRAPH SEPARATOR;
    ``json.dumps`` escapes them), ``json.dumps`` writes the clearing."""
    item: dict[str, Any] = {name: getattr(clearing, name) for name in _CLEARING_FIELDS}
    item["type"] = "clearing"
    encoded = _encode_sorted(item)
    if any(brk in encoded for brk in _LINE_BREAKS):
        return json.dumps(_plain_clearing(clearing), sort_keys=True).encode()
    return encoded


_encode_sorted = msgspec.json.Encoder(order="sorted").encode
_LINE_BREAKS = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # in UTF-8


def _plain_clearing(clearing: ClearingReport) -> dict[str, Any]:
    """The clearing as plain JSON data (what ``asdict`` gives, without its deep copies)."""
    item = {name: _plain(getattr(clearing, name)) for name in _CLEARING_FIELDS if name != "lines"}
    item["lines"] = [
        dict(zip(_LINE_FIELDS, map(_plain, _line_values(line)), strict=True))
        for line in clearing.lines
    ]
    item["type"] = "clearing"
    return item


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


# Money --------------------------------------------------------------------------------------

# Where a run's money went, in the order a bookkeeper ties it to Pay.'s payout statement and to
# the transit account: what came in, where it was booked, what Pay. kept, what it paid out.
MONEY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("received", "Received", "payments received"),
    ("linked", "Linked", "booked on customers and linked: settles invoices and credit notes"),
    ("customers", "On customers", "booked on customers, not linked"),
    ("standard_debtor", "Standard debtor", "booked on the standard debtor"),
    ("unassigned", "Unassigned", "booked on the unassigned account"),
    ("fees", "Fees", "fees Pay. deducted"),
    ("refunds", "Refunds", "refunds paid back"),
    ("chargebacks", "Chargebacks", "chargebacks taken back"),
    ("payout", "Payout", "paid out to the bank, waiting on the transit account"),
)
MONEY_LEGEND = (
    "Linked + on customers + standard debtor + unassigned = fees + payout: what came in, less "
    "refunds and chargebacks, was booked on one of those four, and Pay. kept the fees and paid "
    "out the rest."
)


def clearing_money(c: ClearingReport) -> dict[str, Decimal] | None:
    """The clearing's money by where it was booked; None when it has no lines (not planned).

    Received, refunds, chargebacks, fees and payout are magnitudes; linked, on customers, on
    the standard debtor and on the unassigned account are the signed sums of their lines, so
    those four add up to fees + payout.
    """
    if c.money:
        return c.money
    return _money_of_lines(c.lines) if c.lines else None


def _money_of_lines(lines: Iterable[ReportLine]) -> dict[str, Decimal]:
    money = dict.fromkeys((key for key, _, _ in MONEY_COLUMNS), Decimal(0))
    for line in lines:
        amount = line.amount
        if line.record_id is not None:
            if line.record_kind in ("refund", "chargeback"):
                money[f"{line.record_kind}s"] -= amount
            else:
                money["received"] += amount
            if line.invoice:
                money["linked"] += amount
            elif line.booked_on in ("standard_debtor", "unassigned"):
                money[line.booked_on] += amount
            else:
                money["customers"] += amount
        elif line.role == "psp_costs":
            money["fees"] -= amount
        elif line.role == "payouts":
            money["payout"] -= amount
        else:  # other deductions and a difference allowed by the settings
            money["unassigned"] += amount
    return money


def _settled_of_lines(lines: Iterable[ReportLine]) -> tuple[int, int]:
    invoices = notes = 0
    for line in lines:
        if line.invoice:
            if line.record_kind in ("refund", "chargeback"):
                notes += 1
            else:
                invoices += 1
    return invoices, notes


def settled_counts(clearings: Iterable[ClearingReport]) -> tuple[int, int]:
    """Invoices and credit notes settled by linked lines."""
    invoices = notes = 0
    for c in clearings:
        i, n = c.settled if c.money else _settled_of_lines(c.lines)
        invoices += i
        notes += n
    return invoices, notes


def payment_count(c: ClearingReport) -> int:
    return c.payments if c.money else sum(1 for line in c.lines if line.record_id is not None)


def settled_text(invoices: int, notes: int) -> str:
    text = f"{invoices:,} invoice{'' if invoices == 1 else 's'}"
    if notes:
        text += f" and {notes:,} credit note{'' if notes == 1 else 's'}"
    return text + " settled"


def run_money(report: RunReport) -> dict[str, dict[str, Decimal]]:
    """Per currency, the money of the clearings this run booked (or would book)."""
    totals: dict[str, dict[str, Decimal]] = {}
    for c in report.clearings:
        if c.outcome not in (Outcome.BOOKED, Outcome.WOULD_BOOK):
            continue
        money = clearing_money(c)
        if money is None:
            continue
        into = totals.setdefault(c.currency or "", dict.fromkeys(money, Decimal(0)))
        for key, value in money.items():
            into[key] += value
    return dict(sorted(totals.items()))


# What a person does about a payout that was not booked.
_TODO_BLOCKED = {
    "totals_inconsistent": (
        "Compare it with Pay.'s payout statement for this settlement. When Pay. corrects it, the "
        "next run books it; to book it as it is, with the difference on the unassigned account, "
        "set book_inconsistent_difference."
    ),
    "records_incomplete": (
        "The next run reads it again and books it once all its payments have arrived; if it "
        "stays incomplete, compare Pay.'s clearing records with its clearing lines."
    ),
    "currency_not_supported": (
        "Book it by hand, or set up a bank journal in Exact that takes this currency."
    ),
    "amount_unit_in_doubt": (
        "Set settlement_amount_unit as the reason says; the next run judges it again."
    ),
}
_TODO = {
    Outcome.BLOCKED: "Fix what the reason names (a setting or Exact); the next run tries again.",
    Outcome.FAILED: (
        "Fix what the reason names in Exact; the next run tries again, and checks Exact first "
        "so nothing is booked twice."
    ),
    Outcome.NOT_ATTEMPTED: "Nothing to fix: the next run books it.",
}


def what_to_do(c: ClearingReport) -> str:
    if c.outcome is Outcome.BLOCKED and c.blocked_reason in _TODO_BLOCKED:
        return _TODO_BLOCKED[c.blocked_reason]
    return _TODO.get(c.outcome, "")


def reason_text(c: ClearingReport) -> str:
    """The reason as a sentence, without the machine-readable code it may start with."""
    reason = c.reason or ""
    if c.blocked_reason and reason.startswith(f"{c.blocked_reason}: "):
        reason = reason[len(c.blocked_reason) + 2 :]
    return _sentence(reason)


def stated_against_sum(c: ClearingReport) -> str | None:
    """For a payout that does not add up: what Pay. states beside what its lines add up to.

    A settlement judged against its stated amount carries figures named for it ("settlement
    amount stated by Pay.", ...), shown as they are; an engine-blocked plan carries the payout
    and its difference, from which the sum of the lines follows.
    """
    t = c.totals
    if c.blocked_reason != "totals_inconsistent" or not t:
        return None
    cur = f" {c.currency}" if c.currency else ""
    if any("stated" in name for name in t):
        text = "; ".join(
            f"{name}: {_money(value)}{cur}" for name, value in t.items() if name != "payout"
        )
        return text[0].upper() + text[1:]
    if "payout" not in t:
        return None
    parts = [f"Pay. states a payout of {_money(t['payout'])}{cur}"]
    if "difference" in t:
        parts.append(
            "its payments minus refunds, chargebacks and fees add up to "
            f"{_money(t['payout'] - t['difference'])}{cur}"
        )
    if "lines_net" in t:
        parts.append(f"its clearing lines add up to {_money(t['lines_net'])}{cur}")
    return "; ".join(parts)


# HTML ----------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.muted{color:#5b6375}.banner{background:#fff4d6;border:1px solid #e0b84a;padding:.6rem 1rem}
.alert{background:#fdecec;border:2px solid #c62828;padding:.2rem 1rem 1rem;margin:1rem 0}
.alert h2{color:#b71c1c;margin-top:.8rem}
.warn{background:#fff8e6;border:1px solid #e0b84a;padding:.2rem 1rem .8rem;margin:1rem 0}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem}
th,td{border-bottom:1px solid #dde1e8;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f8;font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
tr.total td{font-weight:600;border-top:2px solid #9aa3b5}
.tag{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85rem}
.booked,.already_booked{background:#ddf3e4}.would_book{background:#e3ecfb}
.blocked,.failed,.not_attempted{background:#fbe1e1}.skipped{background:#eceff3}
.attention{background:#fff8e6}
details.clearing{border-top:1px solid #c9ced8;padding:.3rem 0}
details.clearing>summary{cursor:pointer;padding:.2rem 0}
#attention th{cursor:pointer;user-select:none}
#attention th[data-dir=asc]::after{content:" \\25B2"}
#attention th[data-dir=desc]::after{content:" \\25BC"}
.filters{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap}
.filters input{padding:.3rem .5rem;min-width:18rem}td.id{white-space:nowrap}
"""

# Sorting and filtering of the attention table (also from the address: ?q=text&kind=reason
# &sort=column&dir=desc, so a filtered view can be bookmarked or sent), and opening a clearing's
# section when a link points at it. Inline, without external assets, so the page works offline.
_SCRIPT = """
(function(){
var t=document.getElementById('attention');
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));
var el=id&&document.getElementById(id);if(el&&el.tagName==='DETAILS'){el.open=true;}}
window.addEventListener('hashchange',openTarget);openTarget();
if(!t){return;}
var body=t.tBodies[0],rows=[].slice.call(body.rows),head=t.tHead.rows[0].cells;
var q=document.getElementById('attention-filter'),k=document.getElementById('attention-kind');
var n=document.getElementById('attention-count');
function apply(){var text=q.value.toLowerCase(),kind=k.value,shown=0;
rows.forEach(function(r){var ok=(!kind||r.getAttribute('data-kind')===kind)&&
(!text||r.textContent.toLowerCase().indexOf(text)>=0);r.hidden=!ok;if(ok){shown++;}});
n.textContent=shown+' of '+rows.length+' lines shown';}
function sortBy(i,dir){var th=head[i];if(!th){return;}
[].forEach.call(head,function(o){o.removeAttribute('data-dir');});
th.setAttribute('data-dir',dir);var num=th.classList.contains('num');
function key(r){var c=r.cells[i];
return c.hasAttribute('data-v')?c.getAttribute('data-v'):c.textContent;}
rows.sort(function(a,b){var x=key(a),y=key(b);
var c=num?parseFloat(x)-parseFloat(y):x.localeCompare(y);return dir==='asc'?c:-c;});
rows.forEach(function(r){body.appendChild(r);});}
[].forEach.call(head,function(th,i){th.addEventListener('click',function(){
sortBy(i,th.getAttribute('data-dir')==='asc'?'desc':'asc');});});
q.addEventListener('input',apply);k.addEventListener('change',apply);
var p=new URLSearchParams(location.search);
if(p.get('q')){q.value=p.get('q');}if(p.get('kind')){k.value=p.get('kind');}
if(p.get('sort')){sortBy(+p.get('sort'),p.get('dir')==='desc'?'desc':'asc');}
apply();
})();
"""

SHOWN_NOT_BOOKED = 50  # rows of the not-booked table shown before the rest fold away
SHOWN_DETAILS_MISSING = 10  # clearings listed under a finding before the list folds away
_ALL_PAYMENTS = re.compile(r"all \d+ payments")


_HTML_SPECIAL = re.compile("[&<>\"']")


def _e(value: object) -> str:
    text = "" if value is None else str(value)
    # Most values (ids, amounts, GL codes) hold nothing to escape: one scan instead of five.
    return html.escape(text, quote=True) if _HTML_SPECIAL.search(text) else text


def _escaped(*values: object) -> list[str]:
    """``_e`` of each value, with one scan for a line whose values hold nothing to escape."""
    texts = ["" if v is None else str(v) for v in values]
    if _HTML_SPECIAL.search("".join(texts)) is None:
        return texts
    return [html.escape(text, quote=True) for text in texts]


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if value.as_tuple().exponent >= -2 else f"{value:,}"


def render_html(report: RunReport) -> str:
    rows = _attention_rows(report)
    out = _html_top(report)
    out.extend(_attention_head(rows))
    out.extend(_attention_row_html(row) for row in rows)
    out.extend(_attention_foot(rows))
    out.append("<h2>Clearings</h2>")
    for c in report.clearings:
        out.extend(_clearing_html(c))
    out.extend(_html_end())
    return "\n".join(out) + "\n"


def _html_top(report: RunReport) -> list[str]:
    """Everything above the attention table: what was not booked, the summary."""
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
    out.extend(_not_booked_html(report))
    out.extend(_details_missing_html(report))
    out.extend(_summary_html(report))
    return out


def _html_end() -> list[str]:
    return [f"<script>{_SCRIPT}</script>", "</body></html>"]


def _not_booked_html(report: RunReport) -> list[str]:
    not_booked = [c for c in report.clearings if c.outcome.is_problem]
    if not not_booked and not report.problems:
        return []
    out = ['<section class="alert" id="not-booked">']
    if not_booked:
        by_currency: dict[str, Decimal] = {}
        for c in not_booked:
            if "payout" in c.totals:
                cur = c.currency or ""
                by_currency[cur] = by_currency.get(cur, Decimal(0)) + c.totals["payout"]
        amounts = ", ".join(f"{_money(v)} {_e(k)}".strip() for k, v in by_currency.items())
        count = len(not_booked)
        out.append(
            f"<h2>Not booked, and why: {count} payout{'' if count == 1 else 's'}"
            + (f" ({amounts})" if amounts else "")
            + "</h2>"
        )
    else:
        out.append("<h2>Not booked, and why</h2>")
    out.append(
        "<table><thead><tr><th>Clearing</th><th>Date</th><th>Outcome</th>"
        "<th class=num>Payout</th><th>Why</th><th>What to do</th></tr></thead><tbody>"
    )
    for n, c in enumerate(not_booked):
        if n == SHOWN_NOT_BOOKED:
            out.append(
                f"</tbody></table><details><summary>{len(not_booked) - n} more not booked"
                "</summary><table><tbody>"
            )
        stated = stated_against_sum(c)
        payout = c.totals.get("payout")
        out.append(
            f'<tr data-clearing="{_e(c.clearing_id)}">'
            f'<td class=id><a href="#{_anchor(c.clearing_id)}">{_e(c.clearing_id)}</a></td>'
            f"<td class=id>{_e(c.settlement_date)}</td>"
            f'<td><span class="tag {c.outcome.value}">{_e(c.outcome.label)}</span></td>'
            f"<td class=num>{_e(_money(payout))} {_e(c.currency if payout is not None else '')}"
            f"</td><td>{_e(reason_text(c))}"
            + (f'<br><strong class="stated">{_e(stated)}</strong>' if stated else "")
            + f"</td><td>{_e(what_to_do(c))}</td></tr>"
        )
    for problem in report.problems:
        out.append(
            f"<tr><td>(run)</td><td></td><td></td><td></td><td>{_e(problem)}</td>"
            "<td>Fix the input or the settings; the next run reads it again.</td></tr>"
        )
    out.append("</tbody></table>")
    if len(not_booked) > SHOWN_NOT_BOOKED:
        out.append("</details>")
    out.append("</section>")
    return out


def _details_missing_html(report: RunReport) -> list[str]:
    """Clearings matched without the transaction details their profile reads, grouped by what
    happened, so a thousand of them read as one finding with the list folded under it."""
    missing = [c for c in report.clearings if c.details_missing]
    if not missing:
        return []
    groups: dict[str, list[ClearingReport]] = {}
    for c in missing:
        groups.setdefault(_ALL_PAYMENTS.sub("all payments", c.details_missing or ""), []).append(c)
    count = len(missing)
    out = [
        '<section class="warn" id="details-missing">',
        f"<h2>Matched without transaction details: {count} clearing"
        f"{'' if count == 1 else 's'}</h2>",
    ]
    for text, clearings in groups.items():
        out.append(f"<p>{_e(_sentence(text))}</p>")
        folded = len(clearings) > SHOWN_DETAILS_MISSING
        if folded:
            out.append(f"<details><summary>The {len(clearings)} clearings</summary>")
        out.append("<table><thead><tr><th>Clearing</th><th>Date</th><th>Payments</th></tr>")
        out.append("</thead><tbody>")
        for c in clearings:
            payments = payment_count(c)
            out.append(
                f'<tr><td class=id><a href="#{_anchor(c.clearing_id)}">{_e(c.clearing_id)}</a>'
                f"</td><td class=id>{_e(c.settlement_date)}</td><td>{payments or ''}</td></tr>"
            )
        out.append("</tbody></table>" + ("</details>" if folded else ""))
    out.append("</section>")
    return out


def _summary_html(report: RunReport) -> list[str]:
    counts = report.counts()
    out = ["<h2>Summary</h2>"]
    money = run_money(report)
    if money:
        invoices, notes = settled_counts(
            c for c in report.clearings if c.outcome in (Outcome.BOOKED, Outcome.WOULD_BOOK)
        )
        verb = "would be booked" if report.dry_run else "booked in this run"
        out.append(f"<p>Money of the payouts {verb}; {_e(settled_text(invoices, notes))}.</p>")
        out.append('<table id="run-money"><thead><tr><th>Currency</th>')
        out.extend(
            f'<th class=num title="{_e(title)}">{_e(label)}</th>'
            for _, label, title in MONEY_COLUMNS
        )
        out.append("</tr></thead><tbody>")
        for currency, values in money.items():
            out.append(f'<tr data-currency="{_e(currency)}"><td>{_e(currency)}</td>')
            out.extend(
                f'<td class=num data-key="{key}">{_e(_money(values[key]))}</td>'
                for key, _, _ in MONEY_COLUMNS
            )
            out.append("</tr>")
        out.append(f'</tbody></table><p class="muted">{_e(MONEY_LEGEND)}</p>')
    out.append("<table><tr><th>Outcome</th><th class=num>Clearings</th></tr>")
    for outcome in Outcome:
        if counts[outcome]:
            out.append(
                f'<tr><td><span class="tag {outcome.value}">{_e(outcome.label)}</span></td>'
                f'<td class=num data-outcome="{outcome.value}">{counts[outcome]}</td></tr>'
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
    return out


@dataclass(frozen=True, slots=True)
class _AttentionRow:
    clearing_id: str
    kind: str  # for the filter: the line's reason, or "clearing"
    what: str
    settlement_date: date | None = None
    customer: str = ""
    amount: Decimal | None = None
    currency: str = ""
    payment: str = ""
    details: str = ""


def _with_candidates(line: ReportLine) -> str:
    if not line.candidates:
        return line.explanation
    return f"{line.explanation} Invoices considered: {', '.join(line.candidates)}."


def _attention_rows(report: RunReport) -> list[_AttentionRow]:
    return [row for c in report.clearings for row in _attention_rows_of(c)]


def _attention_rows_of(c: ClearingReport) -> list[_AttentionRow]:
    rows = [
        _AttentionRow(c.clearing_id, "clearing", text, c.settlement_date) for text in c.attention
    ]
    for line in c.lines:
        if line.attention:
            rows.append(
                _AttentionRow(
                    c.clearing_id,
                    line.reason,
                    line.attention,
                    c.settlement_date,
                    customer=line.customer or "",
                    amount=line.amount,
                    currency=c.currency or "",
                    payment=line.record_id or "",
                    details=_with_candidates(line),
                )
            )
    return rows


def _attention_kinds(rows: Iterable[_AttentionRow]) -> set[tuple[str, str]]:
    return {(row.kind, row.what.split(":")[0]) for row in rows}


def _attention_head(
    rows: list[_AttentionRow], kinds: set[tuple[str, str]] | None = None, count: int = 0
) -> list[str]:
    """The table's heading and filter; ``kinds`` and ``count`` when the rows are elsewhere."""
    count = count or len(rows)
    if not count:
        return []
    labels: dict[str, str] = {}
    for kind, label in sorted(kinds if kinds is not None else _attention_kinds(rows)):
        labels.setdefault(kind, label)
    out = [
        "<h2>Needs attention</h2>",
        '<div class="filters"><input id="attention-filter" type="search" '
        'placeholder="Filter: clearing, customer, payment, text" aria-label="Filter">',
        '<select id="attention-kind" aria-label="Kind"><option value="">Every kind</option>',
    ]
    out.extend(
        f'<option value="{_e(kind)}">{_e(label)} ({_e(kind)})</option>'
        for kind, label in labels.items()
    )
    out.append(
        f'</select><span id="attention-count" class="muted">{count} lines</span></div>'
        '<table id="attention"><thead><tr><th>Clearing</th><th>Date</th><th>What</th>'
        "<th>Customer</th><th class=num>Amount</th><th>Payment</th><th>Details</th></tr>"
        "</thead><tbody>"
    )
    return out


def _attention_row_html(row: _AttentionRow) -> str:
    amount = f"{_money(row.amount)} {row.currency}".strip() if row.amount is not None else ""
    value = f' data-v="{row.amount}"' if row.amount is not None else ' data-v="0"'
    return (
        f'<tr class=attention data-kind="{_e(row.kind)}"><td class=id><a href="#'
        f'{_anchor(row.clearing_id)}">{_e(row.clearing_id)}</a></td>'
        f"<td class=id>{_e(row.settlement_date)}</td><td>{_e(row.what)}</td>"
        f"<td>{_e(row.customer)}</td><td class=num{value}>{_e(amount)}</td>"
        f"<td class=id>{_e(row.payment)}</td><td>{_e(row.details)}</td></tr>"
    )


def _attention_foot(rows: list[_AttentionRow], count: int = 0) -> list[str]:
    return ["</tbody></table>"] if rows or count else []


def _clearing_html(c: ClearingReport) -> list[str]:
    money = clearing_money(c)
    attention = len(c.attention) + sum(1 for line in c.lines if line.attention)
    records = [line for line in c.lines if line.record_id is not None]
    linked = sum(1 for line in records if line.invoice)
    summary = [
        f"<strong>{_e(c.clearing_id)}</strong>",
        f'<span class="tag {c.outcome.value}">{_e(c.outcome.label)}</span>',
    ]
    if c.settlement_date:
        summary.append(_e(c.settlement_date))
    if "payout" in c.totals:
        summary.append(f"payout {_e(_money(c.totals['payout']))} {_e(c.currency or '')}")
    if records:
        summary.append(f"{linked} of {len(records)} payments linked")
    if attention:
        summary.append(f"{attention} to look at")
    if c.details_missing:
        summary.append("matched without transaction details")
    is_open = " open" if c.outcome.is_problem else ""
    out = [
        f'<details class="clearing" id="{_anchor(c.clearing_id)}"{is_open}>',
        "<summary>" + " &middot; ".join(summary) + "</summary>",
    ]
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
        label = "Why not booked" if c.outcome.is_problem else "Note"
        out.append(f"<p><strong>{label}:</strong> {_e(reason_text(c))}</p>")
        stated = stated_against_sum(c)
        if stated:
            out.append(f'<p class="stated"><strong>{_e(stated)}</strong></p>')
        todo = what_to_do(c)
        if todo:
            out.append(f"<p><strong>What to do:</strong> {_e(todo)}</p>")
    if c.details_missing:
        out.append(f'<p class="banner">{_e(_sentence(c.details_missing))}</p>')
    for text in c.attention:
        out.append(f'<p class="attention">{_e(_sentence(text))}</p>')
    if c.relations_created:
        out.append(f"<p>Customers created: {_e(', '.join(c.relations_created))}</p>")
    if money is not None:
        out.append('<table class="money"><tr>')
        out.extend(
            f'<th class=num title="{_e(title)}">{_e(label)}</th>'
            for _, label, title in MONEY_COLUMNS
        )
        out.append("</tr><tr>")
        out.extend(
            f'<td class=num data-key="{key}">{_e(_money(money[key]))}</td>'
            for key, _, _ in MONEY_COLUMNS
        )
        out.append("</tr></table>")
    if c.lines:
        out.append(
            "<table><tr><th>GL</th><th>Description</th><th>Customer</th>"
            "<th>Invoice or credit note</th><th class=num>Amount</th><th>Reason</th>"
            "<th>Explanation</th></tr>"
        )
        for line in c.lines:
            cls = ' class="attention"' if line.attention else ""
            gl, role, description, customer, settles, amount, reason, explanation = _escaped(
                line.gl,
                line.role,
                line.description,
                line.customer,
                _settles(line),
                _money(line.amount),
                line.reason,
                line.explanation,
            )
            out.append(
                f"<tr{cls}><td>{gl} <span class=muted>({role})</span></td>"
                f"<td>{description}</td><td>{customer}</td><td>{settles}</td>"
                f"<td class=num>{amount}</td><td>{reason}</td><td>{explanation}"
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
        out.append("<table><tr><th>Clearing totals (as Pay. states them)</th>")
        out.append("<th class=num>Amount</th></tr>")
        for name, value in c.totals.items():
            out.append(
                f"<tr><td>{_e(name.replace('_', ' '))}</td>"
                f"<td class=num>{_e(_money(value))}</td></tr>"
            )
        out.append("</table>")
    out.append("</details>")
    return out


def _settles(line: ReportLine) -> str:
    if not line.invoice:
        return ""
    if line.record_kind in ("refund", "chargeback"):
        return f"credit note {line.invoice}"
    return f"invoice {line.invoice}"


def _sentence(text: str) -> str:
    """A reason as a sentence: capital first, full stop last."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@lru_cache(maxsize=256)  # every attention row of a clearing links to the same anchor
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


# Lines a run keeps in its in-memory report after writing them (for callers that look at a
# small run's lines); beyond this, lines live only in the report files.
RETAINED_LINES = 20_000


class ReportWriter:
    """Writes the report as the run goes, one clearing at a time, in one pass.

    A backfill has a line per payment, millions of them; holding them until the end would make
    the run's memory grow with its size. Each clearing, once decided, is rendered once: its
    JSON line, its HTML section and its attention rows go to part files beside the report, its
    figures are kept (``keep_figures``) and its lines leave memory (beyond ``RETAINED_LINES``).
    ``finish`` writes what only the end of the run knows (what was not booked, the summary, the
    attention table's heading) and joins the parts into the same two files ``write_report``
    writes, atomically.
    """

    def __init__(self, report: RunReport, report_dir: Path) -> None:
        self.report = report
        report_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl_path, self.html_path = report_paths(report, report_dir)
        self._parts = {
            name: self.html_path.with_name(f"{self.html_path.name}.{name}.part")
            for name in ("jsonl", "sections", "attention")
        }
        # The JSON lines are UTF-8 as msgspec writes them: that part is written, and every part
        # copied into the report, as bytes, not decoded and encoded again.
        self._jsonl = self._parts["jsonl"].open("wb")
        self._files = {
            name: path.open("w", encoding="utf-8")
            for name, path in self._parts.items()
            if name != "jsonl"
        }
        self._attention_count = 0
        self._attention_kinds: set[tuple[str, str]] = set()
        self._retained = 0

    def add(self, c: ClearingReport) -> None:
        """Write one clearing whose outcome is final."""
        files = self._files
        self._jsonl.write(_jsonl_clearing_utf8(c) + b"\n")
        files["sections"].write("\n".join(_clearing_html(c)) + "\n")
        rows = _attention_rows_of(c)
        for row in rows:
            files["attention"].write(_attention_row_html(row) + "\n")
        self._attention_count += len(rows)
        self._attention_kinds |= _attention_kinds(rows)
        self.report.line_counts[c.clearing_id] = len(c.lines)
        if self._retained + len(c.lines) <= RETAINED_LINES:
            self._retained += len(c.lines)
        else:
            c.keep_figures()
            c.lines = []

    def finish(self) -> tuple[Path, Path]:
        report = self.report
        self._jsonl.close()
        for f in self._files.values():
            f.close()
        with _atomic_open(self.jsonl_path) as out:
            out.write(_jsonl_run(report) + "\n")
            _copy(self._parts["jsonl"], out)
            for line in _jsonl_tail(report):
                out.write(line + "\n")
        with _atomic_open(self.html_path) as out:
            count = self._attention_count
            for piece in _html_top(report) + _attention_head([], self._attention_kinds, count):
                out.write(piece + "\n")
            _copy(self._parts["attention"], out)
            for piece in [*_attention_foot([], count), "<h2>Clearings</h2>"]:
                out.write(piece + "\n")
            _copy(self._parts["sections"], out)
            for piece in _html_end():
                out.write(piece + "\n")
        self.discard()
        return self.jsonl_path, self.html_path

    def discard(self) -> None:
        self._jsonl.close()
        for f in self._files.values():
            f.close()
        for path in self._parts.values():
            path.unlink(missing_ok=True)


def _copy(source: Path, out: Any) -> None:
    """A UTF-8 part file's bytes into the text file ``out`` (UTF-8 too), as they are."""
    out.flush()
    with source.open("rb") as f:
        shutil.copyfileobj(f, out.buffer, 1 << 20)


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
