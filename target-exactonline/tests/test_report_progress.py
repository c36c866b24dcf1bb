"""Progress lines: about ten per run, with the API calls used and left."""

from __future__ import annotations

import logging

from target_exactonline.progress import Progress


def test_progress_logs_first_every_tenth_and_last(caplog) -> None:
    calls = iter(range(100, 1000, 3))
    progress = Progress(
        logging.getLogger("t"), 25, calls_made=lambda: next(calls), remaining_today=lambda: 4000
    )
    with caplog.at_level(logging.INFO, logger="t"):
        for i in range(25):
            progress.step(ok=i != 4)
    assert [line.split(" clearings")[0] for line in progress.lines] == [
        "Progress: 1/25", "Progress: 3/25", "Progress: 6/25", "Progress: 9/25", "Progress: 12/25",
        "Progress: 15/25", "Progress: 18/25", "Progress: 21/25", "Progress: 24/25",
        "Progress: 25/25",
    ]  # fmt: skip
    assert progress.lines[-1].endswith(
        "done (1 not booked); 127 Exact API calls used, 4000 left today"
    )
    assert caplog.messages == progress.lines


def test_progress_without_api_figures() -> None:
    progress = Progress(
        logging.getLogger("t"), 1, calls_made=lambda: None, remaining_today=lambda: None
    )
    progress.step(ok=True)
    assert progress.lines == ["Progress: 1/1 clearings done"]
