"""Open items in memory (``build_index``) against the target's SQLite store, engine alone.

The same synthetic run (bench/engine_data.py: as many open items as payments) is planned in
windows, as the target plans it, once over each; each backend runs in its own process, so its
peak resident memory is its own. Prints CPU for loading the open items and for planning, peak
memory, and the ratios; the plans of both must be identical (checked by digest).

    .venv/bin/python bench/open_item_store.py --payments 100000 300000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_data import generate
from pay_exact_transform import GLAccounts, RunPlanner, Settings, build_index, resolve_profile
from target_exactonline.open_item_store import OpenItemStore

SETTINGS = Settings(
    gl=GLAccounts(debtors="1300", psp_costs="4500", payouts="2200", unassigned="2999"),
    profile="generic",
)
WINDOW = 16  # clearings per window, as the target's run


def one(payments: int, backend: str) -> dict[str, float | str]:
    clearings, items = generate(payments, payments, per_clearing=100)
    cpu = time.process_time()
    if backend == "memory":
        source = build_index(items)
    else:
        source = OpenItemStore([resolve_profile(SETTINGS.profile)])
        source.add(items)
    del items  # what the target holds from here on is the backend, not a list
    loaded = time.process_time() - cpu
    planner = RunPlanner(source, SETTINGS)
    windows = [clearings[n : n + WINDOW] for n in range(0, len(clearings), WINDOW)]
    for window in windows:
        planner.count(window)
    digest = hashlib.sha256()
    for window in windows:
        for plan in planner.plan(window):
            digest.update(repr(plan).encode())
    total = time.process_time() - cpu
    if isinstance(source, OpenItemStore):
        source.close()
    return {
        "load_s": loaded,
        "plan_s": total - loaded,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "digest": digest.hexdigest(),
    }


def compare(payments: int) -> None:
    got = {}
    for backend in ("memory", "store"):
        out = subprocess.run(
            [sys.executable, __file__, "--one", backend, "--payments", str(payments)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        got[backend] = json.loads(out)
    print(f"== {payments:,} payments against {payments:,} open items, windows of {WINDOW}")
    for backend, r in got.items():
        print(
            f"  {backend:6}  load {r['load_s']:6.1f} s CPU  plan {r['plan_s']:6.1f} s CPU  "
            f"peak {r['peak_mib']:7,.0f} MiB"
        )
    m, s = got["memory"], got["store"]
    print(
        f"  store / memory: CPU {(s['load_s'] + s['plan_s']) / (m['load_s'] + m['plan_s']):.2f}, "
        f"peak {s['peak_mib'] / m['peak_mib']:.2f}; plans identical: {m['digest'] == s['digest']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, nargs="+", default=[100_000])
    parser.add_argument("--one", choices=["memory", "store"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.payments[0], args.one)))
        return
    for payments in args.payments:
        compare(payments)


if __name__ == "__main__":
    main()
