"""The whole pipeline at backfill sizes: tap-pay piped into target-exactonline, both sandboxes.

A year of daily clearings with three revenue groups (one clearing per group per day), at 10k,
100k, 300k and 1M payments. For each size it prints, per process, wall and CPU time, peak
resident memory and records per second; the Exact API calls against their lower bound; and at
the end the ratio of the target's peak memory at the largest size to that at the smallest. At
``--baseline`` sizes the target runs a second time, on a fresh Exact division, with the Singer
SDK's JSON-schema validation turned back on (``validate_records: true``, the path before it was
switched off), and the CPU per record of both runs is compared.

    .venv/bin/python bench/pipeline_backfill.py                       # 10k, 100k, 300k, 1M
    .venv/bin/python bench/pipeline_backfill.py --sizes 10000 100000 --baseline 100000

Each of tap-pay and target-exactonline runs as its own process, as Meltano runs them, under a
small launcher that reads the process's peak memory and CPU from ``wait4``; the sandboxes and
the generated data live in this process. The Exact sandbox's minutely limit is raised (the
benchmark measures the product, not 60 calls a minute); its daily limit stays 5,000.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pay_exact_sandbox.exact import ExactData
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox, start_exact_sandbox
from pay_exact_sandbox.generator import GeneratorParams, generate
from pay_exact_sandbox.generator.exact_side import ExactSideParams, build_exact_data
from pay_exact_sandbox.generator.params import RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from target_exactonline.sandbox_testing import store_target_tokens, target_config

BIN = Path(sys.executable).parent
DAYS = 365
GROUPS = (
    RevenueGroup("Webshop", "woocommerce"),
    RevenueGroup("Winkel", "lightspeed"),
    RevenueGroup("Magento", "magento2"),
)
PAGE = 1000  # rows per page of Exact's bulk endpoints
CONSTANT_READS = 3  # journals, GL accounts, financial periods
# Figures before this work (the issue that asked for it): payments -> (peak MiB, CPU s).
BEFORE = {10_000: (184, 20.0), 100_000: (845, 56.0), 300_000: (2203, 141.0)}

# The launcher runs the measured command and writes its peak RSS (KiB) and CPU seconds. Forked
# from the launcher, the child's peak counts only itself, not this process's generated data.
_LAUNCHER = (
    "import os, subprocess, sys, json\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(json.dumps([usage.ru_maxrss, usage.ru_utime + usage.ru_stime]))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_mib: float
    code: int


@dataclass
class TargetRun:
    tap: Measured
    target: Measured
    calls: int
    lower_bound: int
    booked: int
    clearings: int
    open_items: int


def measured(out: Path, *command: str) -> list[str]:
    return [sys.executable, "-c", _LAUNCHER, str(out), *command]


def read_usage(path: Path, wall: float, code: int) -> Measured:
    peak_kib, cpu = json.loads(path.read_text())
    return Measured(wall, cpu, peak_kib / 1024, code)


def merchant_params(payments: int) -> GeneratorParams:
    per_clearing = max(1, round(payments / (DAYS * len(GROUPS))))
    return GeneratorParams(
        seed=14,
        start_date=date(2025, 1, 1),
        days=DAYS,
        payments_per_clearing=per_clearing,
        revenue_groups=GROUPS,
    )


def record_count(pay: dict[str, Any]) -> int:
    """Singer records tap-pay emits for this merchant (the streams it syncs by default)."""
    clearings = [c for s in pay["settlements"] for c in s["clearings"]]
    return (
        len(pay["settlements"])
        + len(clearings)
        + sum(len(c["clearingLines"]) for c in clearings)
        + len(pay["clearingRecords"])
        + len(pay["invoiceLines"])
        + len(pay["turnoverGroups"])
    )


def run_pipeline(
    pay: PaySandbox, exact: ExactSandbox, work: Path, *, baseline: bool, start: date
) -> TargetRun:
    store_url = f"sqlite:///{work / 'store.sqlite'}"
    store_target_tokens(exact, store_url)
    config = target_config(
        exact,
        store_url,
        report_dir=str(work / "reports"),
        validate_records=baseline,
    )
    (work / "target.json").write_text(json.dumps(config))
    (work / "tap.json").write_text(
        json.dumps(
            {
                "api_url": pay.api_url,
                "token_code": pay.token_code,
                "api_token": pay.api_token,
                "start_date": start.isoformat(),
            }
        )
    )
    open_before = len(exact.runtime.store.receivables_list())
    exact.admin.log.clear()
    tap_usage, target_usage = work / "tap.usage", work / "target.usage"
    env = {**os.environ, "MELTANO_ENVIRONMENT": "acme"}
    started = time.perf_counter()
    tap = subprocess.Popen(
        measured(tap_usage, str(BIN / "tap-pay"), "--config", str(work / "tap.json")),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    with (work / "target.stderr").open("wb") as err, (work / "state.out").open("wb") as out:
        target = subprocess.Popen(
            measured(
                target_usage,
                str(BIN / "target-exactonline"),
                "--config",
                str(work / "target.json"),
            ),
            stdin=tap.stdout,
            stdout=out,
            stderr=err,
            env=env,
        )
        assert tap.stdout is not None
        tap.stdout.close()
        tap_code = tap.wait()
        tap_wall = time.perf_counter() - started
        target_code = target.wait()
        target_wall = time.perf_counter() - started
    if tap_code or target_code:
        tail = (work / "target.stderr").read_text()[-2000:]
        raise SystemExit(f"pipeline failed: tap-pay {tap_code}, target {target_code}\n{tail}")
    calls = len(exact.requests("/api/v1/"))
    clearings = sum(len(s["clearings"]) for s in pay.merchant.pay["settlements"])
    report = next((work / "reports").glob("*.jsonl"))
    booked = 0
    with report.open(encoding="utf-8") as lines:  # line by line: a 1M run's report is large
        for line in lines:
            item = json.loads(line)
            booked += item["type"] == "clearing" and item["outcome"] == "booked"
    lower = math.ceil(open_before / PAGE) + 1 + CONSTANT_READS + booked
    return TargetRun(
        read_usage(tap_usage, tap_wall, tap_code),
        read_usage(target_usage, target_wall, target_code),
        calls,
        lower,
        booked,
        clearings,
        open_before,
    )


def print_run(label: str, run: TargetRun, records: int) -> None:
    print(f"  {label}")
    for name, m in (("tap-pay", run.tap), ("target-exactonline", run.target)):
        print(
            f"    {name:<19} wall {m.wall_s:7.1f} s  CPU {m.cpu_s:7.1f} s  "
            f"peak {m.peak_mib:7.0f} MiB  {records / m.wall_s:9,.0f} records/s"
        )
    per_record = run.target.cpu_s / records * 1000
    print(f"    target CPU per record {per_record:.3f} ms")
    print(
        f"    Exact API calls     {run.calls:,} for a lower bound of {run.lower_bound:,} "
        f"({run.calls / run.lower_bound:.2f}x); {run.booked:,} of {run.clearings:,} clearings "
        "booked"
    )


def measure(size: int, *, baseline: bool) -> tuple[int, float]:
    """Run the pipeline at ``size`` payments; the payments and the target's peak MiB."""
    params = merchant_params(size)
    started = time.perf_counter()
    merchant = generate(params)
    data: ExactData | None = build_exact_data(merchant, ExactSideParams(seed=14))
    records = record_count(merchant.pay)
    payments = len(merchant.pay["clearingRecords"])
    clearings = sum(len(s["clearings"]) for s in merchant.pay["settlements"])
    print(
        f"\n{payments:,} payments, {records:,} Singer records, {clearings:,} clearings "
        f"(generated in {time.perf_counter() - started:.0f} s)"
    )
    # The tap runs without per-transaction details (enrich_transactions is off by default), so
    # the Pay. sandbox never serves them: they need not take memory beside a 1M run.
    merchant.pay["transactions"] = []
    runs: dict[str, TargetRun] = {}
    modes = ["new", "baseline"] if baseline else ["new"]
    with PaySandbox(merchant) as pay:
        for n, mode in enumerate(modes):
            exact = start_exact_sandbox(data, minutely_limit=1_000_000)
            if n == len(modes) - 1:
                # Seeded for the last time: what only seeding needed goes (memory for the run).
                data = None
                merchant.orders.clear()
                merchant.customers.clear()
                gc.collect()
            try:
                with tempfile.TemporaryDirectory(prefix="pipeline-backfill-") as work:
                    runs[mode] = run_pipeline(
                        pay, exact, Path(work), baseline=mode == "baseline", start=params.start_date
                    )
            finally:
                exact.stop()
                del exact
                gc.collect()
            pay.admin.log.clear()
    print(f"  open items in Exact before the run: {runs['new'].open_items:,}")
    print(f"  this process (generator and both sandboxes): peak {own_peak_mib():,.0f} MiB")
    print_run("records read by the target's conversion only (default)", runs["new"], records)
    if "baseline" in runs:
        print_run("baseline: SDK JSON-schema validation on", runs["baseline"], records)
        ratio = runs["new"].target.cpu_s / runs["baseline"].target.cpu_s
        print(f"  target CPU, default / baseline: {ratio:.2f}")
    before = BEFORE.get(size)
    if before:
        now = runs["new"].target
        print(
            f"  before this work: target peak {before[0]:,} MiB, CPU {before[1]:.0f} s; now "
            f"{now.peak_mib:,.0f} MiB ({now.peak_mib / before[0]:.2f}x), "
            f"{now.cpu_s:.0f} s ({now.cpu_s / before[1]:.2f}x)"
        )
    sys.stdout.flush()
    return payments, runs["new"].target.peak_mib


def own_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000, 1_000_000]
    )
    parser.add_argument(
        "--baseline",
        type=int,
        nargs="*",
        default=[300_000],
        help="sizes at which the SDK-validated path runs too",
    )
    args = parser.parse_args()

    peaks: dict[int, float] = {}
    for size in args.sizes:
        payments, peak = measure(size, baseline=size in args.baseline)
        peaks[payments] = peak
        gc.collect()  # the previous size's data goes before the next is generated
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        print(
            f"\ntarget peak memory at {large:,} payments / at {small:,}: "
            f"{peaks[large] / peaks[small]:.2f} ({peaks[large]:,.0f} / {peaks[small]:,.0f} MiB)"
        )


if __name__ == "__main__":
    main()
