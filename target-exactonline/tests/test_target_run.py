"""The target against the Exact sandbox (small hand-written division), fed tap-pay shaped input.

Covers one bank entry per clearing, linking at a 100 % match, the state emitted once after the
bookings, reruns that book nothing, a lost ledger, lost POST answers, dry runs, and bad input
that blocks only its own clearing.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from target_exactonline import run as run_module
from target_exactonline.exact_client.token_cipher import TokenCipher
from target_exactonline.exact_client.token_store import SqlTokenStore
from target_exactonline.input_reading import DETAILS_WARNINGS_LOGGED
from target_exactonline.ledger import BookingLedger, Status
from target_exactonline.report import Outcome, render_html
from target_exactonline.run import ClearingsNotBooked
from target_exactonline.sandbox_testing import (
    store_target_tokens,
    target_client_factory,
    target_config,
)
from target_exactonline.target import TargetExactOnline

T0 = 1_795_000_000.0  # 2026-11-18, the sandbox clock while these tests run
D = Decimal


def tap_schema(stream: str) -> dict[str, Any]:
    text = resources.files("tap_pay.schemas").joinpath(f"{stream}.json").read_text()
    return json.loads(text)


KEYS = {
    "settlements": ["code"],
    "clearings": ["clearingId"],
    "clearing_lines": ["code"],
    "clearing_records": ["clearingId", "reportingId"],
    "transactions": ["id"],
    "turnover_groups": ["code"],
}


@dataclass
class Pay:
    """One clearing as tap-pay would send it; amounts in major units, refunds negative."""

    clearing_id: str
    day: str
    payments: list[tuple[str, str]] = field(default_factory=list)  # (reference, amount)
    fees: str = "0.00"
    currency: str = "EUR"
    group: str = "CT-1000-0001"
    # reference -> (customer name, e-mail), sent as tap-pay's per-transaction enrichment
    customers: dict[str, tuple[str, str]] = field(default_factory=dict)

    def messages(self) -> list[dict[str, Any]]:
        settlement = f"ST-{self.clearing_id}"
        credits = [D(a) for _, a in self.payments if D(a) > 0]
        debits = [-D(a) for _, a in self.payments if D(a) < 0]
        lines = []
        if credits:
            lines.append(("CREDIT", 10, "iDEAL", sum(credits), len(credits)))
        if debits:
            lines.append(("DEBIT", 9001, "Refund", -sum(debits), len(debits)))
        if D(self.fees):
            lines.append(("DEBIT", 9101, "Invoice settlement", -D(self.fees), None))
        payout = sum((amount for *_, amount, _n in lines), D(0))
        out: list[dict[str, Any]] = [
            record(
                "settlements",
                code=settlement,
                settlementDate=self.day,
                amount=payout,
                currency=self.currency,
                amountUnit="cents",
                lines=[
                    {
                        "code": f"FT-{self.clearing_id}-{n}",
                        "clearingId": self.clearing_id,
                        "turnoverGroupCode": self.group,
                        "direction": direction,
                        "amount": amount,
                        "currency": self.currency,
                    }
                    for n, (direction, _id, _name, amount, _count) in enumerate(lines, start=1)
                ],
                clearingIds=[self.clearing_id],
            ),
            record(
                "clearings",
                clearingId=self.clearing_id,
                settlementCode=settlement,
                settlementDate=self.day,
                turnoverGroupCode=self.group,
                turnoverGroupCodes=[self.group],
                amount=payout,
                currency=self.currency,
                lineCount=len(lines),
            ),
        ]
        for n, (direction, type_id, name, amount, count) in enumerate(lines, start=1):
            out.append(
                record(
                    "clearing_lines",
                    code=f"FT-{self.clearing_id}-{n}",
                    clearingId=self.clearing_id,
                    settlementCode=settlement,
                    settlementDate=self.day,
                    turnoverGroupCode=self.group,
                    clearingLineTypeId=type_id,
                    clearingLineTypeName=name,
                    direction=direction,
                    amount=amount,
                    currency=self.currency,
                    transactions=count,
                )
            )
        for n, (reference, amount) in enumerate(self.payments, start=1):
            if reference in self.customers:
                name, email = self.customers[reference]
                out.append(
                    record(
                        "transactions",
                        id=f"EX-{n}-{self.clearing_id}",
                        orderId=f"{n}00{self.clearing_id[-3:]}X",
                        amount=D(amount),
                        currency=self.currency,
                        customerEmail=email,
                        companyName=name,
                        statusCode=100,
                    )
                )
            out.append(
                record(
                    "clearing_records",
                    clearingId=self.clearing_id,
                    reportingId=f"R-{self.clearing_id}-{n}",
                    orderId=f"{n}00{self.clearing_id[-3:]}X",
                    reference=reference,
                    description=f"Order {reference}",
                    amount=D(amount),
                    currency=self.currency,
                    turnoverGroupCode=self.group,
                    transactionDate=f"{self.day}T10:00:00Z",
                )
            )
        return out


def dumps(message: dict[str, Any]) -> str:
    """JSON with Decimal amounts as plain numbers, as tap-pay writes them."""
    text = json.dumps(message, default=lambda d: f"__num__{d}__num__")
    return re.sub(r'"__num__(.*?)__num__"', r"\1", text)


def record(stream: str, **fields: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": fields}


def singer(*clearings: Pay, state: dict[str, Any] | None = None, extra: list | None = None) -> str:
    streams = ["settlements", "clearings", "clearing_lines", "clearing_records", "transactions"]
    out: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": s, "schema": tap_schema(s), "key_properties": KEYS[s]}
        for s in streams
    ]
    for clearing in clearings:
        out.extend(clearing.messages())
    out.extend(extra or [])
    last = max((c.day for c in clearings), default="2025-10-01")
    out.append(
        {
            "type": "STATE",
            "value": state
            or {
                "bookmarks": {
                    "settlements": {
                        "replication_key": "settlementDate",
                        "replication_key_value": last,
                    }
                }
            },
        }
    )
    return "\n".join(dumps(m) for m in out) + "\n"


@pytest.fixture
def exact(exact_sandbox: ExactSandbox) -> ExactSandbox:
    exact_sandbox.freeze(at=T0)
    return exact_sandbox


@pytest.fixture
def config(exact: ExactSandbox, tmp_path: Path) -> dict[str, Any]:
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store_target_tokens(exact, store_url)
    return target_config(exact, store_url, report_dir=str(tmp_path / "reports"))


@dataclass
class Ran:
    target: TargetExactOnline
    stdout: str
    error: ClearingsNotBooked | None

    @property
    def report(self):
        assert self.target.result is not None
        return self.target.result.report

    def outcome(self, clearing_id: str) -> Any:
        return next(c for c in self.report.clearings if c.clearing_id == clearing_id)


def execute(exact: ExactSandbox, cfg: dict[str, Any], text: str) -> Ran:
    """Run the target in-process on the sandbox's clock; stdout is captured, not printed."""
    target = TargetExactOnline(config=cfg, client_factory=target_client_factory(exact, cfg))
    buffer = io.StringIO()
    error = None
    with redirect_stdout(buffer):
        try:
            target.listen(io.StringIO(text))
        except ClearingsNotBooked as exc:
            error = exc
    return Ran(target, buffer.getvalue(), error)


@pytest.fixture
def run(exact: ExactSandbox) -> Callable[..., Ran]:
    return lambda cfg, text: execute(exact, cfg, text)


@pytest.fixture
def run_on() -> Callable[..., Ran]:
    """Like ``run``, on a sandbox the test started itself (with its own limits)."""

    def go(exact: ExactSandbox, tmp_path: Path, changes: dict[str, Any], text: str) -> Ran:
        exact.freeze(at=T0)
        store_url = f"sqlite:///{tmp_path / 'own-store.sqlite'}"
        store_target_tokens(exact, store_url, issued_at=T0)
        own = {"report_dir": str(tmp_path / "own-reports"), **changes}
        return execute(exact, target_config(exact, store_url, **own), text)

    return go


def receivables(exact: ExactSandbox) -> dict[str, Decimal]:
    """Open items by YourRef (the small division's refs are unique per sign)."""
    rows = exact.runtime.store.receivables_list()
    return {f"{r['YourRef']}:{'+' if r['Amount'] > 0 else '-'}": r["Amount"] for r in rows}


def bank_entries(exact: ExactSandbox) -> list[dict[str, Any]]:
    return [e for e in exact.runtime.store.bank_entries.values() if e["JournalCode"] == "25"]


PAID = Pay("CLR-2025-001", "2025-10-20", [("ORD00012", "121.00"), ("4711", "50.00")], fees="1.25")


# -- booking ---------------------------------------------------------------------------------


def test_one_balanced_bank_entry_per_clearing_links_only_the_exact_match(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    second = Pay("CLR-2025-002", "2025-10-21", [("000000123", "242.00")], fees="0.80")
    ran = run(config, singer(PAID, second))
    assert ran.error is None
    entries = bank_entries(exact)
    assert len(entries) == 2
    for entry in entries:
        assert sum(line["AmountFC"] for line in entry["BankEntryLines"]) == 0
    first = next(e for e in entries if "CLR-2025-001" in e["BankEntryLines"][0]["Description"])
    linked = [line for line in first["BankEntryLines"] if line["OurRef"] is not None]
    assert len(linked) == 1  # ORD00012 paid in full; 4711 paid 50.00 of 60.50
    open_now = receivables(exact)
    assert "ORD00012:+" not in open_now
    assert open_now["4711:+"] == D("60.50")  # a partial payment links nothing
    assert "000000123:+" not in open_now
    assert all(
        line["Description"].startswith("PX:CLR-2025-00")
        for e in entries
        for line in e["BankEntryLines"]
    )
    # one state line, after the bookings, unchanged because nothing is unbooked
    assert ran.stdout.splitlines() == [
        '{"bookmarks": {"settlements": {"replication_key": "settlementDate", '
        '"replication_key_value": "2025-10-21"}}}'
    ]
    outcome = ran.outcome("CLR-2025-001")
    assert outcome.outcome is Outcome.BOOKED
    assert outcome.entry_number == first["EntryNumber"]
    reasons = {line.reason for line in outcome.lines}
    assert {"matched", "amount_mismatch", "fee", "payout"} <= reasons
    assert any(line.attention and "Partial" in line.attention for line in outcome.lines)


def test_the_rest_of_a_partly_paid_invoice_links_and_settles_it(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    store = exact.runtime.store
    invoice = next(r for r in store.receivables_list() if r["YourRef"] == "4711")
    customer = invoice["AccountId"]
    # The bookkeeper links 50.00 of the 60.50 by hand in the real bank journal.
    http = exact.session()
    answer = http.post(
        f"{exact.api_url}/financialtransaction/BankEntries",
        json={
            "JournalCode": "20",
            "BankEntryLines": [
                {
                    "Date": "2025-10-10T00:00:00",
                    "GLAccount": next(
                        g["ID"] for g in store.gl_accounts.values() if g["Code"] == "1300"
                    ),
                    "Account": customer,
                    "OurRef": invoice["InvoiceNumber"],
                    "AmountFC": 50.0,
                    "Description": "Bank transfer",
                }
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    assert receivables(exact)["4711:+"] == D("10.50")
    # Exact's receivable still carries the full 60.50; a payment of that no longer links.
    full = run(config, singer(Pay("CLR-2025-003", "2025-10-22", [("4711", "60.50")])))
    assert full.error is None
    assert [line.invoice for line in full.outcome("CLR-2025-003").lines if line.invoice] == []
    # The 10.50 that is really outstanding links and settles the invoice.
    rest = run(config, singer(Pay("CLR-2025-004", "2025-10-23", [("4711", "10.50")])))
    assert rest.error is None
    assert "4711:+" not in receivables(exact)
    assert [line.invoice for line in rest.outcome("CLR-2025-004").lines if line.invoice] == [
        str(invoice["InvoiceNumber"])
    ]


def test_a_rerun_books_nothing_and_calls_exact_not_at_all(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    run(config, singer(PAID))
    exact.admin.log.clear()
    ran = run(config, singer(PAID))
    assert ran.error is None
    assert len(bank_entries(exact)) == 1
    assert exact.requests("/api/") == []
    assert ran.outcome("CLR-2025-001").outcome is Outcome.ALREADY_BOOKED


def test_with_the_ledger_lost_the_key_in_exact_prevents_a_second_entry(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran], tmp_path: Path
) -> None:
    run(config, singer(PAID))
    ledger = BookingLedger.from_url(config["store_url"], division=exact.division, store_key="x")
    with ledger, ledger.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM pay_exact_bookings")
    exact.admin.log.clear()
    ran = run(config, singer(PAID))
    assert len(bank_entries(exact)) == 1
    assert [e.method for e in exact.requests("/api/v1/") if e.method == "POST"] == []
    outcome = ran.outcome("CLR-2025-001")
    assert outcome.outcome is Outcome.ALREADY_BOOKED
    with BookingLedger.from_url(config["store_url"], division=exact.division, store_key="x") as led:
        row = led.get("CLR-2025-001")
        assert row is not None
        assert row.status is Status.POSTED


@pytest.mark.parametrize("fault", ["commit_then_drop", "drop"])
def test_a_post_without_answer_is_looked_up_before_it_is_sent_again(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran], fault: str
) -> None:
    exact.inject(action=fault, path="/financialtransaction/BankEntries$", method="POST")
    ran = run(config, singer(PAID))
    posts = [e for e in exact.requests("/api/v1/") if e.method == "POST"]
    assert len(posts) == 1  # never sent again in the same run: Exact may still be storing it
    lookups = [e for e in exact.requests("/api/v1/") if "Description%20eq" in e.query]
    assert len(lookups) == 1
    if fault == "commit_then_drop":
        assert ran.error is None
        assert ran.outcome("CLR-2025-001").outcome is Outcome.BOOKED
    else:
        assert ran.error is not None
        assert ran.outcome("CLR-2025-001").outcome is Outcome.FAILED
        again = run(config, singer(PAID))  # looked up once more, not there: sent
        assert again.error is None
        assert again.outcome("CLR-2025-001").outcome is Outcome.BOOKED
    assert len(bank_entries(exact)) == 1  # never twice


def test_a_crash_between_post_and_ledger_is_settled_on_the_next_run(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    exact.inject(action="commit_then_drop", path="/financialtransaction/BankEntries$", count=1)
    # The run's first ledger-line read passes (a no-op delay rule takes it); the look-up after
    # the lost answer then meets five 503s.
    exact.inject(action="delay", delay=0.0, path="/bulk/Financial/TransactionLines", count=1)
    exact.inject(action="status", status=503, path="/bulk/Financial/TransactionLines", count=5)
    ran = run(config, singer(PAID))  # posted, the answer lost, and the look-up fails too
    assert ran.error is not None
    with BookingLedger.from_url(config["store_url"], division=exact.division, store_key="x") as led:
        row = led.get("CLR-2025-001")
        assert row is not None
        assert row.status is Status.FAILED
    assert ran.stdout.strip().endswith('"replication_key_value": "2025-10-20"}}}')
    again = run(config, singer(PAID))
    assert again.error is None
    assert len(bank_entries(exact)) == 1
    assert again.outcome("CLR-2025-001").outcome is Outcome.ALREADY_BOOKED


def test_dry_run_writes_nothing_and_shows_the_same_plan(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    dry = run({**config, "dry_run": True}, singer(PAID))
    assert dry.error is None
    assert bank_entries(exact) == []
    assert dry.stdout == ""  # no state: the bookmarks must not move past unbooked clearings
    assert [e for e in exact.requests("/api/v1/") if e.method != "GET"] == []
    planned = dry.outcome("CLR-2025-001")
    assert planned.outcome is Outcome.WOULD_BOOK
    real = run(config, singer(PAID)).outcome("CLR-2025-001")
    assert real.outcome is Outcome.BOOKED
    assert planned.lines == real.lines
    assert planned.totals == real.totals


# -- bad input --------------------------------------------------------------------------------


def test_each_bad_clearing_names_its_problem_and_the_others_are_booked(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    good = Pay("CLR-2025-100", "2025-10-20", [("ORD00012", "121.00")], fees="0.50")
    closed = Pay("CLR-2025-101", "2025-09-15", [("4711", "60.50")], fees="0.50")
    usd = Pay("CLR-2025-102", "2025-10-22", [("#1001", "80.00")], currency="USD")
    bad_gl = Pay("CLR-2025-103", "2025-10-23", [("X1", "5.00")], fees="0.10", group="CT-BADGL")
    sales = Pay("CLR-2025-104", "2025-10-23", [("X2", "6.00")], group="CT-SALES")
    malformed = Pay("CLR-2025-105", "2025-10-24", [("ORD00013", "12.10")])
    messages = malformed.messages()
    messages[-1]["record"]["amount"] = "twelve"
    unknown_group = Pay("CLR-2025-106", "2025-10-24", [("X3", "7.00")], group="CT-NOPE")
    cfg = {
        **config,
        "revenue_group_overrides": [
            {"revenue_group": "CT-BADGL", "gl_psp_costs": "4999"},
            {"revenue_group": "CT-SALES", "bank_journal": "70"},
        ],
    }
    turnover = [
        {"type": "SCHEMA", "stream": "turnover_groups", "schema": tap_schema("turnover_groups"),
         "key_properties": ["code"]},
        *[record("turnover_groups", code=c, name=c) for c in
          ("CT-1000-0001", "CT-BADGL", "CT-SALES")],
    ]  # fmt: skip
    text = singer(good, closed, usd, bad_gl, sales, unknown_group, extra=turnover)
    text += "\n".join(dumps(m) for m in messages) + "\n"
    ran = run(cfg, text)

    assert ran.error is not None
    assert ran.outcome("CLR-2025-100").outcome is Outcome.BOOKED
    reasons = {c.clearing_id: (c.outcome, c.reason or "") for c in ran.report.clearings}
    assert reasons["CLR-2025-101"][0] is Outcome.FAILED
    assert (
        "Exact refused the entry dated 2025-09-15 (period 2025/9) in journal 25"
        in (reasons["CLR-2025-101"][1])
    )
    assert reasons["CLR-2025-102"][0] is Outcome.BLOCKED
    assert "in USD but bank journal '25' only accepts EUR" in reasons["CLR-2025-102"][1]
    assert "GL account '4999' (PSP costs) does not exist" in reasons["CLR-2025-103"][1]
    assert "journal '70' is a sales journal (type 20)" in reasons["CLR-2025-104"][1]
    # Named by the target's own conversion (the SDK's JSON-schema validation is off by default)
    assert reasons["CLR-2025-105"][1] == (
        "clearing_records record R-CLR-2025-105-1: field 'amount' is not a number: 'twelve'"
    )
    assert "revenue group CT-NOPE is not one of the merchant's" in reasons["CLR-2025-106"][1]
    # nothing half booked: exactly one entry, for the good clearing
    entries = bank_entries(exact)
    assert len(entries) == 1
    assert entries[0]["BankEntryLines"][0]["Description"].startswith("PX:CLR-2025-100")
    # state points back at the earliest clearing that still needs booking
    assert ran.stdout.strip().endswith('"replication_key_value": "2025-09-15"}}}')
    assert "7 clearings" in str(ran.report.summary())
    assert "6 of 7 clearings were not booked" in str(ran.error)


def test_report_files_are_written(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    run(config, singer(PAID))
    files = sorted(Path(config["report_dir"]).iterdir())
    assert [f.suffix for f in files] == [".html", ".jsonl"]
    page = files[0].read_text()
    assert "CLR-2025-001" in page
    assert "ORD00012" in page
    assert config["client_secret"] not in page
    assert config["client_secret"] not in files[1].read_text()


def test_state_is_held_back_during_mid_run_drains(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every record counts as "too old": the SDK drains and would write state after each one.
    monkeypatch.setattr(TargetExactOnline, "_MAX_RECORD_AGE_IN_MINUTES", -1.0)
    lines = singer(PAID).splitlines()
    early_state = lines.pop()  # the tap's state, sent before the records this time
    lines.insert(4, early_state)
    ran = run(config, "\n".join(lines) + "\n")
    assert ran.outcome("CLR-2025-001").outcome is Outcome.BOOKED
    assert len(ran.stdout.splitlines()) == 1


# -- customers ------------------------------------------------------------------------------


def test_unknown_customers_get_one_new_relation_each(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    who = {"ZZ-1": ("Nieuwe Klant BV", "nieuw@klant.example")}
    first = Pay("CLR-2025-201", "2025-10-20", [("ZZ-1", "30.00")], customers=who)
    second = Pay("CLR-2025-202", "2025-10-21", [("ZZ-1", "31.00")], customers=who)
    cfg = {**config, "create_relations": True}
    ran = run(cfg, singer(first, second))
    assert ran.error is None
    created = [
        a for a in exact.runtime.store.accounts.values() if a["Email"] == "nieuw@klant.example"
    ]
    assert len(created) == 1
    account_id = created[0]["ID"]
    debtor_lines = [
        line
        for e in bank_entries(exact)
        for line in e["BankEntryLines"]
        if line["Account"] is not None
    ]
    assert [line["Account"] for line in debtor_lines] == [account_id, account_id]
    assert ran.outcome("CLR-2025-201").relations_created == [
        "Nieuwe Klant BV <nieuw@klant.example>"
    ]
    assert ran.outcome("CLR-2025-202").relations_created == []

    # The ledger forgets the relation; Exact's customer list still prevents a duplicate.
    ledger = BookingLedger.from_url(config["store_url"], division=exact.division, store_key="x")
    with ledger, ledger.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM pay_exact_relations")
    third = Pay("CLR-2025-203", "2025-10-22", [("ZZ-1", "32.00")], customers=who)
    assert run(cfg, singer(third)).error is None
    created = [
        a for a in exact.runtime.store.accounts.values() if a["Email"] == "nieuw@klant.example"
    ]
    assert len(created) == 1


def test_standard_debtor_takes_unknown_customers(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    unknown = Pay("CLR-2025-301", "2025-10-20", [("NOPE-1", "9.99")])
    ran = run({**config, "standard_debtor_code": "10043"}, singer(unknown))
    assert ran.error is None
    (entry,) = bank_entries(exact)
    de_vries = next(
        a for a in exact.runtime.store.accounts.values() if a["Name"] == "Pieter de Vries"
    )
    assert entry["BankEntryLines"][0]["Account"] == de_vries["ID"]
    assert entry["BankEntryLines"][0]["OurRef"] is None
    line = ran.outcome("CLR-2025-301").lines[0]
    assert line.reason == "standard_debtor"
    assert line.customer == "standard debtor 10043 (Pieter de Vries)"


def test_a_standard_debtor_that_does_not_exist_blocks_only_where_used(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    unknown = Pay("CLR-2025-302", "2025-10-20", [("NOPE-2", "9.99")])
    ran = run({**config, "standard_debtor_code": "55555"}, singer(unknown, PAID))
    assert ran.outcome("CLR-2025-001").outcome is Outcome.BOOKED
    blocked = ran.outcome("CLR-2025-302")
    assert blocked.outcome is Outcome.BLOCKED
    assert blocked.reason.startswith("standard debtor code '55555' does not exist")


# -- limits ---------------------------------------------------------------------------------


def test_the_daily_budget_stops_the_run_cleanly(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path, run_on: Callable[..., Ran]
) -> None:
    exact = exact_sandbox_factory(daily_limit=8)
    clearings = [
        Pay(f"CLR-2025-40{n}", f"2025-10-2{n}", [("ORD00013", "12.10")] if n == 1 else [])
        for n in (1, 2, 3)
    ]
    for c in clearings[1:]:
        c.payments = [("NOPE", "1.00")]
    ran = run_on(exact, tmp_path, {"daily_call_reserve": 0}, singer(*clearings))
    outcomes = [ran.outcome(c.clearing_id).outcome for c in clearings]
    assert outcomes == [Outcome.BOOKED, Outcome.BOOKED, Outcome.NOT_ATTEMPTED]
    assert "daily Exact API budget" in ran.report.stopped
    assert ran.error is not None
    assert ran.stdout.strip().endswith('"replication_key_value": "2025-10-23"}}}')


def test_the_daily_reserve_stays_free_for_other_apps(
    exact_sandbox_factory: Callable[..., ExactSandbox], tmp_path: Path, run_on: Callable[..., Ran]
) -> None:
    # The same run with 20 more calls a day, of which 20 are reserved: it stops where the one
    # above stops, and the 20 calls are still there for the division's other apps.
    exact = exact_sandbox_factory(daily_limit=28)
    clearings = [Pay(f"CLR-2025-41{n}", f"2025-10-2{n}", [("NOPE", "1.00")]) for n in (1, 2, 3)]
    clearings[0].payments = [("ORD00013", "12.10")]
    ran = run_on(exact, tmp_path, {"daily_call_reserve": 20}, singer(*clearings))
    outcomes = [ran.outcome(c.clearing_id).outcome for c in clearings]
    assert outcomes == [Outcome.BOOKED, Outcome.BOOKED, Outcome.NOT_ATTEMPTED]
    assert "20 kept free for the division's other apps" in ran.report.stopped
    assert "'daily_call_reserve'" in ran.report.stopped
    assert ran.report.api_remaining_today is not None
    assert ran.report.api_remaining_today >= 20
    assert ran.error is not None
    assert ran.stdout.strip().endswith('"replication_key_value": "2025-10-23"}}}')


def test_repeated_refusals_stop_posting_to_protect_the_error_budget(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    closed = [Pay(f"CLR-2025-50{n}", f"2025-09-1{n}", [("NOPE", "1.00")]) for n in (1, 2)]
    ran = run({**config, "max_rejections": 1}, singer(*closed))
    assert ran.outcome("CLR-2025-501").outcome is Outcome.FAILED
    assert ran.outcome("CLR-2025-502").outcome is Outcome.NOT_ATTEMPTED
    assert "stopping to protect" in ran.outcome("CLR-2025-502").reason
    assert len([e for e in exact.requests("/api/v1/") if e.method == "POST"]) == 1


# -- the command ----------------------------------------------------------------------------


def test_the_command_prints_only_state_on_stdout_and_exits_1_when_a_clearing_fails(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    # A real process on the real clock: tokens are issued now.
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store_target_tokens(exact_sandbox, store_url, issued_at=time.time())
    cfg = target_config(exact_sandbox, store_url, report_dir=str(tmp_path / "reports"))
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(cfg))
    closed = Pay("CLR-2025-601", "2025-09-10", [("NOPE", "1.00")])
    exe = Path(sys.executable).parent / "target-exactonline"

    def invoke(text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), "--config", str(config_path)],
            input=text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "MELTANO_ENVIRONMENT": ""},
        )

    ok = invoke(singer(PAID))
    assert ok.returncode == 0, ok.stderr
    assert [json.loads(line) for line in ok.stdout.splitlines()] == [
        {"bookmarks": {"settlements": {"replication_key": "settlementDate",
                                       "replication_key_value": "2025-10-20"}}}
    ]  # fmt: skip
    assert "Progress: 1/1 clearings done" in ok.stderr
    assert "1 clearings: 1 booked" in ok.stderr
    assert exact_sandbox.client_secret not in ok.stderr

    failed = invoke(singer(PAID, closed))
    assert failed.returncode == 1
    state = [json.loads(line) for line in failed.stdout.splitlines()]
    assert state == [
        {"bookmarks": {"settlements": {"replication_key": "settlementDate",
                                       "replication_key_value": "2025-09-10"}}}
    ]  # fmt: skip
    assert "1 of 2 clearings were not booked (CLR-2025-601)" in failed.stderr
    assert len(bank_entries(exact_sandbox)) == 1


@pytest.mark.parametrize(
    "case",
    [
        # WooCommerce sends the order number without its zero padding, Magento with it (in the
        # description): each profile finds the invoice with YourRef 000000123, open 242.00.
        pytest.param(
            {"profiles": ("woocommerce", "magento2"), "refs": ("123", "000000123")},
            id="woocommerce-magento2",
        ),
        # The Shopify group can only link by e-mail + exact amount (rule 7); the other group's
        # payment names ORD00013 (open 12.10) itself.
        pytest.param(
            {"profiles": ("generic", "shopify"), "refs": ("ORD00013", "#5001")},
            id="generic-shopify",
        ),
    ],
)
def test_an_invoice_two_groups_with_different_profiles_claim_is_linked_by_neither(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran], case: dict[str, Any]
) -> None:
    default_profile, group_profile = case["profiles"]
    own, other = case["refs"]
    your_ref = own if group_profile == "shopify" else other
    rows = [r for r in exact.runtime.store.receivables_list() if r["YourRef"] == your_ref]
    (row,) = [r for r in rows if r["Amount"] > 0]
    amount = str(row["Amount"])
    web = Pay("CLR-2025-701", "2025-10-20", [(own, amount)])
    shop = Pay(
        "CLR-2025-702",
        "2025-10-20",
        [(other, amount)],
        group="CT-OTHER",
        customers={"#5001": ("Jansen BV", "info@jansen.example")},
    )
    cfg = {
        **config,
        "matching_profile": default_profile,
        "revenue_group_overrides": [
            {"revenue_group": "CT-OTHER", "matching_profile": group_profile}
        ],
    }
    for alone in (web, shop):  # each payment on its own would link the invoice
        dry = run({**cfg, "dry_run": True}, singer(alone))
        payment = dry.outcome(alone.clearing_id).lines[0]
        assert payment.reason in {"matched", "shopify_email_amount"}
        assert payment.invoice == str(row["InvoiceNumber"])
    # Together, in either order, both are claimed twice and neither links.
    reversed_order = run({**cfg, "dry_run": True}, singer(shop, web))
    ran = run(cfg, singer(web, shop))
    assert ran.error is None
    for report in (reversed_order, ran):
        for clearing_id in ("CLR-2025-701", "CLR-2025-702"):
            payment = report.outcome(clearing_id).lines[0]
            assert payment.reason == "claimed_twice"
            assert payment.invoice is None
    entries = bank_entries(exact)
    assert len(entries) == 2
    assert [line["OurRef"] for e in entries for line in e["BankEntryLines"]] == [None] * 4
    assert receivables(exact)[your_ref + ":+"] == row["Amount"]  # the invoice stays open


def test_an_unanswered_post_of_a_clearing_that_is_now_unreadable_is_pointed_out(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    ledger = BookingLedger.from_url(config["store_url"], division=exact.division, store_key="x")
    with ledger:
        ledger.plan(
            "CLR-2025-001", booking_key="PX:CLR-2025-001", plan_digest=None, settlement_date=None
        )
        ledger.start_posting("CLR-2025-001")  # the previous run crashed after sending
    messages = PAID.messages()
    messages[-1]["record"]["amount"] = "oops"
    text = singer() + "\n".join(dumps(m) for m in messages) + "\n"
    ran = run(config, text)
    reason = ran.outcome("CLR-2025-001").reason
    assert "field 'amount'" in reason
    assert "check Exact for lines starting with PX:CLR-2025-001" in reason


@pytest.mark.parametrize("bounds", [(1, 2000), (2, 2000), (16, 2000), (16, 2)])
def test_windows_of_any_size_book_the_same_entries_and_count_claims_across_them(
    exact: ExactSandbox,
    config: dict,
    run: Callable[..., Ran],
    monkeypatch: pytest.MonkeyPatch,
    bounds: tuple[int, int],
) -> None:
    # ORD00013 (open 12.10) is paid in the first and in the last clearing: in windows of 1 or 2
    # clearings, or of 2 records, the two payments are never planned together, and still
    # neither links the invoice.
    window, records = bounds  # clearings and payment records per window
    monkeypatch.setattr(run_module, "WINDOW", window)
    monkeypatch.setattr(run_module, "WINDOW_RECORDS", records)
    clearings = [
        Pay("CLR-2025-801", "2025-10-20", [("ORD00013", "12.10"), ("ORD00012", "121.00")]),
        Pay("CLR-2025-802", "2025-10-21", [("NOPE", "1.00")], fees="0.25"),
        Pay("CLR-2025-803", "2025-10-22", [("ORD00013", "12.10")]),
    ]
    ran = run(config, singer(*clearings))
    assert ran.error is None
    entries = sorted(bank_entries(exact), key=lambda e: e["BankEntryLines"][0]["Description"])
    booked = [
        [(line["Description"], line["AmountFC"], line["OurRef"]) for line in e["BankEntryLines"]]
        for e in entries
    ]
    assert len(booked) == 3
    reasons = {
        c.clearing_id: [line.reason for line in c.lines if line.record_id]
        for c in ran.report.clearings
    }
    assert reasons == {
        "CLR-2025-801": ["claimed_twice", "matched"],
        "CLR-2025-802": ["unassigned"],
        "CLR-2025-803": ["claimed_twice"],
    }
    linked = [ref for entry in booked for (_, _, ref) in entry if ref]
    assert len(linked) == 1  # ORD00012 only
    assert "ORD00013:+" in receivables(exact)


# -- transaction details --------------------------------------------------------------------


def test_a_shopify_run_without_transaction_details_warns_in_the_log_and_the_report(
    exact: ExactSandbox, config: dict, run: Callable[..., Any], caplog: Any
) -> None:
    config["matching_profile"] = "shopify"
    bare = Pay("CLR-2025-201", "2025-10-20", [("", "121.00"), ("", "10.00")])
    told = Pay(
        "CLR-2025-202", "2025-10-21", [("X1", "30.00")],
        customers={"X1": ("Jansen BV", "info@jansen.example")},
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        ran = run(config, singer(bare, told))
    missing = ran.outcome("CLR-2025-201").details_missing
    assert missing is not None
    assert "without the transaction details that profile shopify reads" in missing
    assert ran.outcome("CLR-2025-202").details_missing is None
    assert "CLR-2025-201: matching ran without the transaction details" in caplog.text
    html = render_html(ran.report)
    top = html.split("<h2>Clearings</h2>")[0]
    assert "CLR-2025-201" in top
    assert "Matching ran without the transaction details" in top
    assert "Jansen BV (10042)" in html  # the customer with the account code beside the name


def test_many_clearings_without_transaction_details_are_counted_in_one_log_line(
    exact: ExactSandbox, config: dict, run: Callable[..., Any], caplog: Any
) -> None:
    config["matching_profile"] = "shopify"
    bare = [
        Pay(f"CLR-2025-{210 + n}", "2025-10-20", [("", f"{10 + n}.00")])
        for n in range(DETAILS_WARNINGS_LOGGED + 3)
    ]
    with caplog.at_level("WARNING"):
        ran = run(config, singer(*bare))
    assert all(ran.outcome(p.clearing_id).details_missing for p in bare)
    one_by_one = [m for m in caplog.messages if "matching ran without the transaction" in m]
    assert len(one_by_one) == DETAILS_WARNINGS_LOGGED
    assert "3 more clearings were matched without the transaction details" in caplog.text
    assert f"({DETAILS_WARNINGS_LOGGED + 3} in all)" in caplog.text


# -- the stated settlement amount ------------------------------------------------------------


def _edit_settlement(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    out = []
    for line in text.splitlines():
        message = json.loads(line, parse_float=Decimal)
        if message.get("type") == "RECORD" and message["stream"] == "settlements":
            change(message["record"])
        out.append(dumps(message))
    return "\n".join(out) + "\n"


def test_a_settlement_a_euro_off_its_lines_books_none_of_its_clearings(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    other = Pay("CLR-2025-002", "2025-10-21", [("000000123", "242.00")], fees="0.80")
    text = _edit_settlement(
        singer(PAID, other),
        lambda s: s.update(amount=s["amount"] + 1) if s["code"] == "ST-CLR-2025-001" else None,
    )
    ran = run(config, text)
    assert ran.error is not None
    blocked = ran.outcome("CLR-2025-001")
    assert blocked.outcome is Outcome.BLOCKED
    reason = blocked.reason or ""
    assert reason.startswith("totals_inconsistent")
    assert "paid 170.75 EUR" in reason  # the stated amount beside the sum of the lines
    assert "add up to 169.75 EUR" in reason
    assert blocked.totals == {
        "payout": D("169.75"),  # the clearing's own, beside the settlement's figures
        "settlement amount stated by Pay.": D("170.75"),
        "settlement lines added up": D("169.75"),
        "difference": D("1.00"),
    }
    assert ran.outcome("CLR-2025-002").outcome is Outcome.BOOKED
    assert all(
        "CLR-2025-001" not in e["BankEntryLines"][0]["Description"] for e in bank_entries(exact)
    )
    # the state waits for the blocked clearing: it is read and judged again next run
    state = json.loads(ran.stdout.splitlines()[-1])
    assert state["bookmarks"]["settlements"]["replication_key_value"] == "2025-10-20"


def test_a_settlement_off_its_lines_is_at_the_top_of_the_report_with_both_figures(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    text = _edit_settlement(singer(PAID), lambda s: s.update(amount=s["amount"] + 1))
    ran = run(config, text)
    html = render_html(ran.report)
    top = html[: html.index("<h2>Summary</h2>")]
    assert "Not booked, and why: 1 payout" in top
    assert "Pay. states that settlement ST-CLR-2025-001 paid 170.75 EUR" in top
    assert "add up to 169.75 EUR (difference 1.00 EUR)" in top
    assert "totals_inconsistent:" not in top  # the code is not part of the sentence
    stated = "Settlement amount stated by Pay.: 170.75 EUR; settlement lines added up: 169.75 EUR"
    assert stated in top
    assert "Not booked, and why: 1 payout (169.75 EUR)" in top
    assert "<td class=num>169.75 EUR</td>" in top  # the payout column of its row
    assert "Compare it with Pay.&#x27;s payout statement" in top  # what to do
    assert "Not booked: Not booked" not in html
    assert "Why not booked: Not booked" not in html


def test_a_settlement_whose_unit_is_in_doubt_waits_and_names_the_setting(
    exact: ExactSandbox, config: dict, run: Callable[..., Ran]
) -> None:
    doubt = "Pay. sends this amount in euros, so set settlement_amount_unit to 'euros'"
    text = _edit_settlement(singer(PAID), lambda s: s.update(amountProblem=doubt))
    ran = run(config, text)
    reason = ran.outcome("CLR-2025-001").reason or ""
    assert ran.outcome("CLR-2025-001").outcome is Outcome.BLOCKED
    assert reason.startswith("amount_unit_in_doubt")
    assert "settlement_amount_unit" in reason
    assert bank_entries(exact) == []


def test_a_run_with_a_wrong_token_key_stops_naming_the_setting_and_books_nothing(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    right, wrong = TokenCipher.new_key(), TokenCipher.new_key()
    store_target_tokens(exact_sandbox, store_url, issued_at=time.time(), encryption_key=right)
    stored = SqlTokenStore(store_url, cipher=TokenCipher([right]))
    tokens = stored.load("acme")
    stored.close()
    assert tokens is not None
    cfg = target_config(
        exact_sandbox,
        store_url,
        report_dir=str(tmp_path / "reports"),
        token_encryption_key=wrong,
    )
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(cfg))
    ran = subprocess.run(
        [str(Path(sys.executable).parent / "target-exactonline"), "--config", str(config_path)],
        input=singer(PAID),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MELTANO_ENVIRONMENT": ""},
    )
    assert ran.returncode != 0
    assert ran.returncode == 1
    assert "does not decrypt with the key(s) in setting 'token_encryption_key'" in ran.stderr
    assert "Traceback" not in ran.stderr
    for secret in (tokens.access_token, tokens.refresh_token, right, wrong):
        assert secret not in ran.stderr
        assert secret not in ran.stdout
    assert bank_entries(exact_sandbox) == []
