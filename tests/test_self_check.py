"""The self-check before and after a first live run, end to end on a generated merchant.

A division where Exact does not settle an invoice by the invoice number on a bank line: the
first live run books one revenue group and links its invoices; the check then finds them still
open (the settlement model did not hold) and records it; the next live run (the real command)
refuses to book the other group, says which fact and what to do, and exits 1; a dry run still
plans everything and says a live run would not book.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from target_exactonline.check import run as run_check
from target_exactonline.report import Outcome

pytestmark = pytest.mark.slow


def check(books: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check(["--config", str(books.config_file())], stdout=out, environ={})
    return code, out.getvalue()


def test_a_live_run_refuses_to_book_while_the_settlement_model_did_not_hold(
    books_factory: Callable[..., Any],
) -> None:
    books = books_factory(links_settle=False)
    code, text = check(books)
    assert code == 0, text  # before the first live run there is nothing to judge it by
    assert "COULD NOT TELL settlement_model" in text

    webshop = next(code for code, platform in books.kit.groups.items() if platform != "shopify")
    first = books.run(revenue_groups=[webshop])
    assert first.error is None, first.stderr
    report = first.target.result.report
    booked = {c.clearing_id for c in report.clearings if c.outcome is Outcome.BOOKED}
    linked = [line.invoice for c in report.clearings for line in c.lines if line.invoice]
    assert booked
    assert linked
    assert set(books.entries()) == booked

    code, text = check(books)
    assert code == 1
    line = next(x for x in text.splitlines() if " settlement_model: " in x)
    assert line.startswith("DID NOT HOLD settlement_model: ")
    assert f"{len(linked)} of {len(linked)} invoices linked by live runs are still open" in line

    books.exact.admin.log.clear()
    refused = books.run_process()
    assert refused.returncode == 1
    assert books.calls() == 0  # it stopped before asking Exact anything
    assert set(books.entries()) == booked  # nothing more was booked
    assert "settlement_model did not hold" in refused.stderr
    assert "run `target-exactonline check --config <config file>` again" in refused.stderr
    assert refused.states  # the state still comes out, held back to what is not booked

    dry = books.run(dry_run=True)
    assert dry.error is None
    dry_report = dry.target.result.report
    assert any(p.startswith("A live run would not book: ") for p in dry_report.problems)
    assert {c.outcome for c in dry_report.clearings} >= {Outcome.WOULD_BOOK}
    assert json.dumps(dry.states) == "[]"
