"""Fixtures for the reliability tests: one merchant on both sandboxes, the target as a process or
in this process, a tally of what Exact holds, and the table those tests write.

The reliability tests (``test_reliability_*.py``, ``test_secrets_*.py``) each inject a fault,
let the target run (and run again), count the bank entries in Exact per clearing, and add a
row to :class:`Results`. At the end of the session the rows become the table in
``docs/reliability.md``, sorted, so the file changes only when an outcome does. A partial
session (``-k``, a single test, a failure) only replaces its own rows.

Other tests in this folder may use these fixtures; the hooks act only on rows the reliability
tests add, so a session without them leaves the file alone.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pay_exact_sandbox.exact.data import ExactData
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from pay_exact_sandbox.generator import GeneratorParams, Merchant, generate
from pay_exact_sandbox.generator.exact_side import ExactSideParams, build_exact_data
from pay_exact_sandbox.generator.params import RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from target_exactonline.sandbox_testing import (
    store_target_tokens,
    target_client_factory,
    target_config,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
TARGET_COMMAND = Path(sys.executable).with_name("target-exactonline")
RELIABILITY_FILES = re.compile(r"tests/test_(reliability|secrets)_\w+\.py")
PAY_JOURNAL = "25"

# A small merchant with the hard parts: two webshops (Shopify links by e-mail), unknown
# customers that become new relations, refunds and chargebacks.
PARAMS = GeneratorParams(
    seed=32,
    days=3,
    payments_per_clearing=(5, 8),
    revenue_groups=(RevenueGroup("Shop", "shopify"), RevenueGroup("Webshop", "woocommerce")),
    split_by_revenue_group=True,
    chargeback_share=0.03,
)


# -- the results table --------------------------------------------------------------------------

SECTIONS = ("crash", "Exact API", "concurrency", "bad input", "secrets")
HEADER = (
    "| # | area | fault injected | where | clearings expected | found | duplicated | missing "
    "| outcome |"
)


@dataclass(frozen=True, slots=True)
class Row:
    ref: str  # e.g. "C3": area letter and the fault's number, chosen by the test
    area: str
    fault: str
    step: str
    expected: int
    found: int
    duplicated: int
    missing: int
    outcome: str

    @property
    def key(self) -> str:
        return self.ref

    def sort_key(self) -> tuple[int, str, int]:
        rank = SECTIONS.index(self.area) if self.area in SECTIONS else len(SECTIONS)
        letters = self.ref.rstrip("0123456789")
        number = self.ref[len(letters) :]
        return (rank, letters, int(number) if number else 0)

    def markdown(self) -> str:
        cells = [
            self.ref,
            self.area,
            self.fault,
            self.step,
            str(self.expected),
            str(self.found),
            str(self.duplicated),
            str(self.missing),
            self.outcome,
        ]
        return "| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |"

    @classmethod
    def parse(cls, line: str) -> Row | None:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or not cells[4].isdigit():
            return None
        ref, area, fault, step, expected, found, duplicated, missing, outcome = cells
        return cls(
            ref,
            area,
            fault,
            step,
            int(expected),
            int(found),
            int(duplicated),
            int(missing),
            outcome,
        )


@dataclass
class Results:
    rows: dict[str, Row] = field(default_factory=dict)
    partial: bool = False

    def add(self, row: Row) -> None:
        self.rows[row.key] = row


RESULTS = Results()  # one per test session: this module is loaded once


def pytest_configure(config: pytest.Config) -> None:
    # A run of named tests (file::test) is partial by construction.
    if any("::" in str(arg) and RELIABILITY_FILES.search(str(arg)) for arg in config.args):
        RESULTS.partial = True


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(RELIABILITY_FILES.search(item.nodeid) for item in items):
        RESULTS.partial = True


def pytest_collection_finish(session: pytest.Session) -> None:
    # Only a session that collected every reliability file may drop rows from the table.
    collected = {item.nodeid.split("::")[0] for item in session.items}
    every = {
        f"tests/{path.name}"
        for pattern in ("test_reliability_*.py", "test_secrets_*.py")
        for path in Path(__file__).parent.glob(pattern)
    }
    if not every <= collected:
        RESULTS.partial = True


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A failed or skipped test leaves its old rows in place: the others are merged into the file.
    if (report.failed or report.skipped) and RELIABILITY_FILES.search(report.nodeid):
        RESULTS.partial = True


@pytest.fixture(scope="session")
def reliability() -> Results:
    return RESULTS


_WORKER_KEY = "pay_exact_reliability"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker's rows come back to the controller, which writes the file."""
    sent = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if sent:
        data = json.loads(sent)
        for fields in data["rows"]:
            RESULTS.add(Row(**fields))
        RESULTS.partial = RESULTS.partial or data["partial"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    results = RESULTS
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the rows to the controller
        rows_out = [dataclasses.asdict(row) for row in results.rows.values()]
        workeroutput[_WORKER_KEY] = json.dumps({"rows": rows_out, "partial": results.partial})
        return
    if not results.rows:
        return
    rows: dict[str, Row] = {}
    if results.partial and DOC.exists():
        for line in DOC.read_text(encoding="utf-8").splitlines():
            row = Row.parse(line) if line.startswith("| ") else None
            if row is not None:
                rows[row.key] = row
    rows.update(results.rows)
    write_doc(sorted(rows.values(), key=Row.sort_key))


def write_doc(rows: list[Row]) -> None:
    expected = sum(r.expected for r in rows)
    duplicated = sum(r.duplicated for r in rows)
    missing = sum(r.missing for r in rows)
    lines = [
        "# Reliability: faults injected and what they did",
        "",
        "Written by the reliability tests (`tests/test_reliability_*.py`, "
        "`tests/test_secrets_*.py`) at the end of a test run; do not edit it by hand.",
        "",
        "Each row is one fault injected into a run of `tap-pay` into `target-exactonline` on the "
        "Pay. and Exact sandboxes (a merchant with two webshops, new customers, refunds and "
        "chargebacks), followed by as many reruns as the outcome says. *Expected* counts the "
        "clearings that must end up in Exact; *found* the clearings Exact holds an entry for "
        "after the last run; *duplicated* the extra entries for a clearing (or extra customers "
        "created for one e-mail); *missing* the expected clearings without an entry. The promise "
        "(DESIGN §6): zero duplicated, zero missing, whatever happens.",
        "",
        "Crashes are real `SIGKILL`s of the target process at named points of a run "
        "(`PAY_EXACT_KILL_AT`, see `target_exactonline/kill_points.py`); Exact faults are "
        "injected through the sandbox's admin API.",
        "",
        HEADER,
        "|---|---|---|---|---:|---:|---:|---:|---|",
        *(row.markdown() for row in rows),
        "",
        f"**{len(rows)} faults, {expected} clearings expected in all: {duplicated} duplicated, "
        f"{missing} missing.**",
        "",
    ]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines)
    if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
        DOC.write_text(text, encoding="utf-8")


# -- the merchant, once per session -------------------------------------------------------------


@dataclass(frozen=True)
class MerchantKit:
    merchant: Merchant
    exact_data: ExactData
    tap_output: str  # tap-pay's Singer messages (with the transaction details)
    clearing_ids: frozenset[str]
    tap_state: dict[str, Any]  # the tap's final state
    groups: dict[str, str]  # revenue group code -> webshop platform
    pay_secret: str  # the Pay. API token the tap used


def run_tap(pay: PaySandbox, *, state: dict[str, Any] | None = None, **settings: Any) -> str:
    from tap_pay.tap import TapPay

    config = {
        "api_url": pay.api_url,
        "order_api_url": pay.order_api_url,
        "token_code": pay.token_code,
        "api_token": pay.api_token,
        "start_date": "2025-01-01",
        "enrich_transactions": True,
        **settings,
    }
    catalog = TapPay(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = True
    out = io.StringIO()
    with redirect_stdout(out):
        TapPay(config=config, state=state, catalog=catalog).sync_all()
    return out.getvalue()


@pytest.fixture(scope="session")
def tap_on() -> Callable[..., str]:
    """``tap_on(pay_sandbox, **settings)``: tap-pay's Singer output against that sandbox."""
    return run_tap


def singer_messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def merchant_kit() -> MerchantKit:
    merchant = generate(PARAMS)
    data = build_exact_data(merchant, ExactSideParams(sales_journal_per_group=True))
    with PaySandbox(merchant) as pay:
        text = run_tap(pay)
        secret = pay.api_token
    messages = singer_messages(text)
    clearings = frozenset(
        m["record"]["clearingId"]
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "clearings"
    )
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    platform_of = {g.name: g.platform for g in PARAMS.revenue_groups}
    groups = {g["code"]: platform_of[g["name"]] for g in merchant.pay["turnoverGroups"]}
    return MerchantKit(merchant, data, text, clearings, states[-1], groups, secret)


# -- the target against a fresh Exact division ----------------------------------------------------


@dataclass
class Tally:
    """What Exact holds after the runs, against what it should."""

    expected: int
    found: int
    duplicated: int
    missing: int
    relations_duplicated: int
    entries: dict[str, int]

    @property
    def exactly_once(self) -> bool:
        return self.duplicated == 0 and self.missing == 0 and self.relations_duplicated == 0


@dataclass
class Run:
    """One target run: what it printed on stdout (state) and stderr, and how it ended."""

    returncode: int | None
    stdout: str
    stderr: str
    states: list[dict[str, Any]]
    error: BaseException | None = None
    target: Any = None

    @property
    def killed(self) -> bool:
        return self.returncode == -9


class Books:
    """A fresh Exact division with its token store, and ways to run the target against it."""

    def __init__(self, exact: ExactSandbox, kit: MerchantKit, tmp: Path) -> None:
        self.exact = exact
        self.kit = kit
        self.tmp = tmp
        self.store_url = f"sqlite:///{tmp / 'state' / 'store.sqlite'}"
        store_target_tokens(exact, self.store_url)
        self.accounts_before = account_ids(exact)
        self.config = target_config(
            exact,
            self.store_url,
            sales_journal=None,
            matching_profile="woocommerce",
            revenue_group_overrides=[
                {"revenue_group": code, "matching_profile": platform}
                for code, platform in sorted(kit.groups.items())
            ],
            create_relations=True,
            report_dir=str(tmp / "reports"),
        )

    # -- running ------------------------------------------------------------------------------

    def config_file(self, **changes: Any) -> Path:
        path = self.tmp / f"config-{len(list(self.tmp.glob('config-*.json')))}.json"
        path.write_text(json.dumps({**self.config, **changes}))
        return path

    def input_file(self, text: str | None = None) -> Path:
        path = self.tmp / f"input-{len(list(self.tmp.glob('input-*.jsonl')))}.jsonl"
        path.write_text(self.kit.tap_output if text is None else text)
        return path

    def command(self, config: Path) -> list[str]:
        return [str(TARGET_COMMAND), "--config", str(config)]

    def environment(self, kill_at: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_", "MELTANO_"))}
        env.pop("PAY_EXACT_KILL_AT", None)
        if kill_at:
            env["PAY_EXACT_KILL_AT"] = kill_at
        env.update(extra)
        return env

    def start(
        self, *, kill_at: str | None = None, text: str | None = None, **changes: Any
    ) -> subprocess.Popen[str]:
        """The target as its own process (real clock), fed a captured tap output."""
        stdin = self.input_file(text).open()
        try:
            return subprocess.Popen(
                self.command(self.config_file(**changes)),
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=self.environment(kill_at),
                cwd=self.tmp,
            )
        finally:
            stdin.close()

    def run_process(
        self, *, kill_at: str | None = None, text: str | None = None, **changes: Any
    ) -> Run:
        process = self.start(kill_at=kill_at, text=text, **changes)
        stdout, stderr = process.communicate(timeout=120)
        return Run(process.returncode, stdout, stderr, _states(stdout))

    def run(
        self,
        *,
        text: str | None = None,
        client: Callable[[Any], Any] | None = None,
        **changes: Any,
    ) -> Run:
        """The target in this process, its Exact client on the sandbox clock (no real waits)."""
        from target_exactonline.target import TargetExactOnline

        config = {**self.config, **changes}
        factory = client or target_client_factory(self.exact, config)
        target = TargetExactOnline(config=config, client_factory=factory)
        out, err = io.StringIO(), io.StringIO()
        error: BaseException | None = None
        handler = logging.StreamHandler(err)
        logging.getLogger().addHandler(handler)
        try:
            with redirect_stdout(out):
                target.listen(io.StringIO(self.kit.tap_output if text is None else text))
        except Exception as exc:
            error = exc
        finally:
            logging.getLogger().removeHandler(handler)
        return Run(None, out.getvalue(), err.getvalue(), _states(out.getvalue()), error, target)

    # -- what Exact holds ---------------------------------------------------------------------

    def entries(self) -> dict[str, int]:
        return pay_entries(self.exact)

    def tally(self, expected: set[str] | frozenset[str] | None = None) -> Tally:
        wanted = self.kit.clearing_ids if expected is None else expected
        return tally_of(self.exact, wanted, self.accounts_before)

    def ledger(self) -> dict[str, str]:
        from target_exactonline.ledger import BookingLedger

        with BookingLedger.from_url(
            self.store_url, division=self.exact.division, store_key="acme"
        ) as ledger:
            return {row.clearing_id: row.status.value for row in ledger.all_rows()}

    def calls(self, method: str | None = None, path: str = "") -> int:
        return len(
            [
                e
                for e in self.exact.requests(f"/api/v1/{self.exact.division}/{path}")
                if method is None or e.method == method
            ]
        )


def pay_entries(exact: ExactSandbox) -> dict[str, int]:
    """Bank entries in the Pay. journal per clearing id (from the key in their lines)."""
    found: Counter[str] = Counter()
    for entry in exact.runtime.store.bank_entries.values():
        if entry["JournalCode"] != PAY_JOURNAL:
            continue
        key = entry["BankEntryLines"][0]["Description"].split()[0]
        assert key.startswith("PX:"), key
        found[key[3:]] += 1
    return dict(found)


def account_ids(exact: ExactSandbox) -> set[str]:
    return {a["ID"] for a in exact.runtime.store.accounts.values()}


def tally_of(
    exact: ExactSandbox, expected: set[str] | frozenset[str], accounts_before: set[str]
) -> Tally:
    """Entries per expected clearing, and customers created more than once per e-mail."""
    entries = pay_entries(exact)
    duplicated = sum(n - 1 for n in entries.values() if n > 1)
    per_email: Counter[str] = Counter()
    for account in exact.runtime.store.accounts.values():
        if account["ID"] not in accounts_before:
            per_email[(account.get("Email") or account["ID"]).lower()] += 1
    relations = sum(n - 1 for n in per_email.values() if n > 1)
    return Tally(
        expected=len(expected),
        found=len(set(expected) & set(entries)),
        duplicated=duplicated + relations,
        missing=len(set(expected) - set(entries)),
        relations_duplicated=relations,
        entries=entries,
    )


@pytest.fixture
def books_tally(merchant_kit: MerchantKit) -> Callable[[ExactSandbox, set[str]], Tally]:
    """``tally(exact, accounts_before)`` for a sandbox a test started itself."""

    def tally(exact: ExactSandbox, accounts_before: set[str]) -> Tally:
        return tally_of(exact, merchant_kit.clearing_ids, accounts_before)

    return tally


def _states(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def books_factory(
    exact_sandbox_factory: Callable[..., ExactSandbox], merchant_kit: MerchantKit, tmp_path: Path
) -> Callable[..., Books]:
    """``factory(**exact_config_changes)``: a fresh division (sandbox settings changed)."""
    made: list[int] = []

    def factory(**config_changes: Any) -> Books:
        folder = tmp_path / f"books-{len(made)}"
        folder.mkdir()
        made.append(1)
        sandbox = exact_sandbox_factory(merchant_kit.exact_data, **config_changes)
        return Books(sandbox, merchant_kit, folder)

    return factory


@pytest.fixture
def books(books_factory: Callable[..., Books]) -> Books:
    return books_factory()


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``condition`` every 20 ms (for processes running beside the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def poll() -> Callable[..., bool]:
    return wait_for


@pytest.fixture
def rows(reliability: Results) -> Callable[..., None]:
    """``rows(ref, area, fault=, where=, tally=, outcome=)`` adds a row to the table."""

    def add(ref: str, area: str, *, fault: str, where: str, tally: Tally, outcome: str) -> None:
        assert area in SECTIONS, area
        reliability.add(
            Row(
                ref,
                area,
                fault,
                where,
                tally.expected,
                tally.found,
                tally.duplicated,
                tally.missing,
                outcome,
            )
        )

    return add
