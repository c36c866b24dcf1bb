"""Engine benchmark: a million payments against a million open items, and the speed-up over
a nested-loop matcher at 10,000 x 10,000 (both must produce the same links).

Run: .venv/bin/python bench/engine_bench.py [--payments N] [--items M] [--naive N]
Prints wall time and peak memory; one process, one core.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_data import generate
from engine_naive import naive_match
from pay_exact_transform import (
    BookingPlan,
    GLAccounts,
    Reason,
    Settings,
    Status,
    build_index,
    plan_run,
)

SETTINGS = Settings(
    gl=GLAccounts(debtors="1300", psp_costs="4500", payouts="2200", unassigned="2999"),
    profile="generic",
)
OUTCOME = {
    Reason.MATCHED: "linked",
    Reason.AMOUNT_MISMATCH: "amount_mismatch",
    Reason.AMBIGUOUS: "ambiguous",
    Reason.CLAIMED_TWICE: "claimed_twice",
}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def engine_outcomes(plans: list[BookingPlan]) -> dict[tuple[str, str], tuple[str, str | None]]:
    out = {}
    for plan in plans:
        for line in plan.lines:
            if line.record_id is None:
                continue
            outcome = OUTCOME.get(line.reason, "none") if line.candidate_count else "none"
            out[(plan.clearing_id, line.record_id)] = (outcome, line.open_item)
    return out


def million(payments: int, items_count: int) -> None:
    print(f"== {payments:,} payments against {items_count:,} open items (one core)")
    start = time.perf_counter()
    clearings, items = generate(payments, items_count)
    print(f"input generated in {time.perf_counter() - start:.1f} s; peak RSS so far "
          f"{peak_rss_mib():,.0f} MiB")  # fmt: skip
    rss_before = peak_rss_mib()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    index = build_index(items)
    indexed = time.process_time() - cpu
    plans = plan_run(clearings, index, SETTINGS)
    total_wall, total = time.perf_counter() - wall, time.process_time() - cpu
    lines = sum(len(p.lines) for p in plans)
    assert all(p.status is Status.READY and p.balance == 0 for p in plans)
    reasons = Counter(line.reason.value for p in plans for line in p.lines if line.record_id)
    print(f"engine: {total:.1f} s CPU, {total_wall:.1f} s wall ({indexed:.1f} s validating the "
          f"open items), {payments / total:,.0f} payments/s, {len(plans):,} plans, "
          f"{lines:,} lines")  # fmt: skip
    print(f"peak RSS {peak_rss_mib():,.0f} MiB (input alone {rss_before:,.0f} MiB)")
    print("outcomes:", ", ".join(f"{k} {v:,}" for k, v in reasons.most_common()))


def ratio(size: int, repeats: int = 5) -> None:
    print(f"== engine vs nested-loop matcher at {size:,} x {size:,}")
    clearings, items = generate(size, size)
    plan_run(clearings[:1], items[:10], SETTINGS)  # warm up imports and caches
    runs = []
    for _ in range(repeats):  # a fresh index each time: the engine's whole work
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        plans = plan_run(clearings, build_index(items), SETTINGS)
        runs.append((time.process_time() - cpu, time.perf_counter() - wall))
    runs.sort()
    engine_cpu, engine_wall = runs[len(runs) // 2]  # the median run
    best_cpu = runs[0][0]
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    naive = naive_match(clearings, items, SETTINGS)
    naive_wall, naive_cpu = time.perf_counter() - wall, time.process_time() - cpu
    got = engine_outcomes(plans)
    assert got == naive, "engine and nested-loop matcher disagree"
    links = sum(1 for outcome, _ in naive.values() if outcome == "linked")
    print(f"engine (full plans, median of {repeats}) {engine_cpu:.3f} s CPU ({engine_wall:.3f} s "
          f"wall, best {best_cpu:.3f} s CPU); nested loop {naive_cpu:.1f} s CPU "
          f"({naive_wall:.1f} s wall)")  # fmt: skip
    pairs = len(naive) * len(items)
    per_input = engine_cpu / (len(naive) + len(items)) * 1e6
    print(f"nested loop: {naive_cpu / pairs * 1e9:.0f} ns per payment/open-item pair; "
          f"engine: {per_input:.1f} us per payment or open item")  # fmt: skip
    print(f"ratio {naive_cpu / engine_cpu:,.0f}x on CPU time, median engine run "
          f"({naive_cpu / best_cpu:,.0f}x against the best); same {links:,} links and outcomes "
          f"for all {len(naive):,} payments")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=10_000, help="size of the ratio run")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}")
    ratio(args.naive)
    million(args.payments, args.items)


if __name__ == "__main__":
    main()
