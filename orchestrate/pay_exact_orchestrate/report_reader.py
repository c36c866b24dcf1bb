"""What a run booked, read from the JSON-lines report the target wrote for it.

The target writes ``pay-exact-<division>-<stamp>-<run id>.jsonl`` (and ``.html``) into the
customer's report folder at the end of every run that had clearings (see the target's
``report.py``); its last line is the summary: counts per outcome and the Exact calls made.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ReportSummary:
    jsonl: Path
    html: Path
    run_id: str | None
    dry_run: bool
    counts: dict[str, int]
    exact_calls: int | None
    text: str

    def count(self, outcome: str) -> int:
        return int(self.counts.get(outcome, 0))

    @property
    def booked(self) -> int:
        return self.count("booked")

    @property
    def not_booked(self) -> int:
        return self.count("blocked") + self.count("failed") + self.count("not_attempted")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["jsonl"], data["html"] = str(self.jsonl), str(self.html)
        return data


def read_summary(path: Path) -> ReportSummary:
    run: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("type") == "run":
            run = item
        elif item.get("type") == "summary":
            summary = item
    return ReportSummary(
        jsonl=path,
        html=path.with_suffix(".html"),
        run_id=run.get("run_id"),
        dry_run=bool(run.get("dry_run")),
        counts={str(k): int(v) for k, v in (summary.get("counts") or {}).items()},
        exact_calls=summary.get("api_calls"),
        text=str(summary.get("text") or ""),
    )


def latest_report(folder: Path, *, since: float) -> ReportSummary | None:
    """The newest report written at or after ``since`` (a timestamp), if any.

    One run of a customer at a time writes into its folder (the orchestrator's tag limit and
    the target's run lock), so the newest report since the run started is that run's.
    """
    fresh = [p for p in folder.glob("*.jsonl") if p.stat().st_mtime >= since]
    if not fresh:
        return None
    return read_summary(max(fresh, key=lambda p: p.stat().st_mtime))
