"""Screenshots of the run report in a real headless browser, for the documentation.

Runs tap-pay and target-exactonline in this process against both sandboxes (started here on
free localhost ports) for two merchants, writes each run's report and photographs it with
Debian's Chromium:

- the demo merchant (``bin/dev demo``: seed 42, WooCommerce, the demo environment's books);
- a merchant with 1,000 clearings: two revenue groups, a WooCommerce shop and a Shopify shop
  read without the tap's transaction details, and one settlement whose lines add up to a cent
  more than Pay. states, so every part of the report shows.

    .venv/bin/python bin/report_screenshots.py [--out docs/images] [--chromium PATH]

Prints the figures of each run (clearings, lines to look at, page size, the time Chromium
takes to open the page and run its script) and writes ``report-demo.png``, ``report-1000.png``
and ``report-1000-unassigned.png`` (the attention table filtered to the payments on the
unassigned account, largest first). ``tests/test_report_pages.py`` opens the same two pages in
Chromium and checks what they show against what the run booked in Exact.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pay_exact_sandbox.exact.pytest_fixtures import start_exact_sandbox
from pay_exact_sandbox.exact.service import exact_data_for
from pay_exact_sandbox.generator import GeneratorParams, Merchant, generate
from pay_exact_sandbox.generator.params import RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from tap_pay.tap import TapPay
from target_exactonline.run import ClearingsNotBooked
from target_exactonline.sandbox_testing import (
    store_target_tokens,
    target_client_factory,
    target_config,
)
from target_exactonline.target import TargetExactOnline

T0 = 1_795_000_000.0  # the sandbox clock: 2026-11-18
DIVISION = 123456  # the demo environment's division
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
DEMO = GeneratorParams(seed=42)
THOUSAND = GeneratorParams(
    seed=1000,
    days=500,
    payments_per_clearing=(2, 6),
    revenue_groups=(RevenueGroup("Webshop", "woocommerce"), RevenueGroup("Shop", "shopify")),
)


@dataclass
class Photographed:
    """One merchant as the screenshots show it: its data, the target's settings, and the
    clearings of the settlement made a cent off (none for the demo)."""

    merchant: Merchant
    seed: int
    settings: dict[str, Any]
    not_booked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportRun:
    """A run's report page and the bank entries of the Pay. journal it left in Exact."""

    page: Path
    entries: list[dict[str, Any]]


def photographed(name: str) -> Photographed:
    """The demo merchant ("demo") or the merchant with 1,000 clearings ("1000")."""
    if name == "demo":
        settings = {"matching_profile": "woocommerce", "psp_costs_vat_code": "0"}
        return Photographed(generate(DEMO), DEMO.seed, settings)
    merchant = generate(THOUSAND)
    shopify = next(g["code"] for g in merchant.pay["turnoverGroups"] if g["name"] == "Shop")
    settings = {
        "matching_profile": "woocommerce",
        "revenue_group_overrides": [{"revenue_group": shopify, "matching_profile": "shopify"}],
    }
    return Photographed(merchant, THOUSAND.seed, settings, off_by_a_cent(merchant))


def chromium_path(given: str | None = None) -> str | None:
    for name in (given, "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


def browser(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium with a fresh profile, headless, with nothing reaching out to the network."""
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def screenshot(chromium: str, page: str, out: Path, *, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        browser(
            chromium,
            Path(profile),
            f"--screenshot={out}",
            f"--window-size={width},{height}",
            "--virtual-time-budget=5000",
            page,
        )


def dump_dom(chromium: str, page: str) -> str:
    """The page's DOM after its scripts ran."""
    with tempfile.TemporaryDirectory() as profile:
        return browser(
            chromium, Path(profile), "--virtual-time-budget=5000", "--dump-dom", page
        ).stdout


def off_by_a_cent(merchant: Merchant) -> list[str]:
    """Add a cent to one clearing's payments line: its settlement's lines then add up to a cent
    more than Pay. states, and its payments to a cent less than the line. Returns the ids of
    the settlement's clearings (none of them is booked), the changed one first."""
    settlement = merchant.pay["settlements"][len(merchant.pay["settlements"]) // 2]
    clearing = settlement["clearings"][0]
    line = next(
        x for x in clearing["clearingLines"] if x["clearingLineType"]["direction"] == "CREDIT"
    )
    line["amount"]["value"] += 1
    return [str(c["clearingId"]) for c in settlement["clearings"]]


def run_report(merchant: Merchant, seed: int, workdir: Path, **settings: Any) -> ReportRun:
    """One nightly run of the merchant, from an empty Exact administration."""
    pay = PaySandbox(merchant).start()
    exact = start_exact_sandbox(
        exact_data_for(merchant, fixture=None, seed=seed, division=DIVISION)
    )
    try:
        exact.freeze(at=T0)
        store_url = f"sqlite:///{workdir / 'store.sqlite'}"
        store_target_tokens(exact, store_url, issued_at=T0)
        tap_config = {
            "api_url": pay.api_url,
            "token_code": pay.token_code,
            "api_token": pay.api_token,
            "start_date": "2025-01-01",
        }
        out = io.StringIO()
        with redirect_stdout(out):
            TapPay(config=tap_config).sync_all()
        config = target_config(exact, store_url, report_dir=str(workdir / "reports"), **settings)
        target = TargetExactOnline(
            config=config, client_factory=target_client_factory(exact, config)
        )
        # A payout not booked ends the run with an error; the page says which, and why.
        with redirect_stdout(io.StringIO()), contextlib.suppress(ClearingsNotBooked):
            target.listen(io.StringIO(out.getvalue()))
        entries = [
            entry
            for entry in exact.runtime.store.bank_entries.values()
            if entry["JournalCode"] == config["bank_journal"]
        ]
    finally:
        pay.stop()
        exact.stop()
    (page,) = (workdir / "reports").glob("*.html")
    return ReportRun(page, entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--chromium")
    args = parser.parse_args()
    chromium = chromium_path(args.chromium)
    if chromium is None:
        print("no Chromium found: apt-get install -y chromium", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("demo", "1000"):
            started = time.perf_counter()
            shown = photographed(name)
            workdir = Path(tmp) / name
            workdir.mkdir()
            page = run_report(shown.merchant, shown.seed, workdir, **shown.settings).page
            url = page.as_uri()
            opened = time.perf_counter()
            dom = dump_dom(chromium, url)
            opening = time.perf_counter() - opened
            clearings = dom.count('<details class="clearing"')
            attention = dom.count('<tr class="attention" data-kind=')
            print(
                f"{name}: {clearings} clearings, {attention} lines to look at, page "
                f"{page.stat().st_size / 1e6:.1f} MB, opened with its script run in "
                f"{opening:.1f} s, run and render {time.perf_counter() - started:.0f} s"
            )
            screenshot(chromium, url, args.out / f"report-{name}.png", width=1400, height=1500)
            if shown.not_booked:
                # The attention table filtered and sorted from the address, as a bookmark would.
                screenshot(
                    chromium,
                    f"{url}?kind=unassigned&sort=4&dir=desc",
                    args.out / f"report-{name}-unassigned.png",
                    width=1400,
                    height=1500,
                )
                odd = shown.not_booked[0]
                anchor = "c-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in odd)
                print(f"{name}: the payout not booked is {odd} (#{anchor})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
