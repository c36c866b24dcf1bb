"""Backfill benchmark for tap-pay: about 100,000 clearing records from a local Pay. sandbox.

Prints records per second and the tap's peak memory, first with the tap alone (its Singer
output counted and discarded), then piped into target-jsonl, plus the Pay. API calls the run
made against the fewest the endpoints' page limits allow.

    .venv/bin/python bench/tap_backfill.py [--days 10] [--payments 9500] [--keep]

The tap runs as its own process (``tap-pay --config``), as Meltano runs it, so the sandbox
serving it from this process does not share its interpreter. Peak memory is each process's
maximum resident set size, read from ``wait4``.

target-jsonl comes from the package registry into a throwaway virtualenv under
``/tmp/pay-exact-bench/target-jsonl`` (made with the uv that ``bin/dev setup`` installs into
``.venv``, on first use; later runs reuse it). ``--target-jsonl PATH`` uses another executable,
e.g. the one in a Meltano project's ``.meltano/loaders/target-jsonl/venv/bin/``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from pay_exact_sandbox.generator import GeneratorParams, generate
from pay_exact_sandbox.pay.sandbox import PaySandbox

BIN = Path(sys.executable).parent
TARGET_VENV = Path(tempfile.gettempdir()) / "pay-exact-bench" / "target-jsonl"
TARGET_PACKAGE = "target-jsonl==0.1.4"


def target_jsonl(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    executable = TARGET_VENV / "bin" / "target-jsonl"
    if not executable.exists():
        print(f"installing {TARGET_PACKAGE} into {TARGET_VENV} ...", flush=True)
        uv = BIN / "uv"
        subprocess.run([str(uv), "venv", "--quiet", str(TARGET_VENV)], check=True)
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(TARGET_VENV / "bin" / "python"),
                TARGET_PACKAGE,
            ],
            check=True,
        )
    return executable


# Each measured command runs under this small launcher. A child forked straight from this
# process would count this process's own memory (the generated data) in its peak, since
# Linux keeps the pre-exec high-water mark; forked from the launcher it counts only itself.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def measured(peak_file: Path, *command: str) -> list[str]:
    """``command`` run so that its peak resident memory (KiB) lands in ``peak_file``."""
    return [sys.executable, "-c", _LAUNCHER, str(peak_file), *command]


def peak_mib(peak_file: Path) -> float:
    return int(peak_file.read_text()) / 1024


def count_records(stream: IO[bytes]) -> Counter[str]:
    counts: Counter[bytes] = Counter()
    prefix = b'{"type":"RECORD","stream":"'
    start = len(prefix)
    for line in stream:
        if line.startswith(prefix):  # cheap: this process also serves the sandbox
            counts[line[start : line.index(b'"', start)]] += 1
    return Counter({name.decode(): count for name, count in counts.items()})


def minimum_calls(pay: dict[str, Any]) -> int:
    per_clearing = Counter(r["clearingId"] for r in pay["clearingRecords"])
    clearings = [c["clearingId"] for s in pay["settlements"] for c in s["clearings"]]
    return (
        max(1, math.ceil(len(pay["settlements"]) / 10))
        + sum(max(1, math.ceil(per_clearing[c] / 10_000)) for c in clearings)
        + max(1, math.ceil(len(pay["invoiceLines"]) / 100))
        + max(1, math.ceil(len(pay["turnoverGroups"]) / 100))
    )


def run_alone(config: Path, work: Path) -> tuple[float, float, Counter[str]]:
    peak = work / "tap-alone.peak"
    started = time.perf_counter()
    tap = subprocess.Popen(
        measured(peak, str(BIN / "tap-pay"), "--config", str(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert tap.stdout is not None
    counts = count_records(tap.stdout)
    code = tap.wait()
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"tap-pay failed with exit code {code}")
    return elapsed, peak_mib(peak), counts


def run_piped(
    config: Path, target: Path, work: Path, out_dir: Path
) -> tuple[float, float, float, int]:
    target_config = work / "target.json"
    target_config.write_text(
        json.dumps({"destination_path": str(out_dir), "do_timestamp_file": False})
    )
    tap_peak, loader_peak = work / "tap-piped.peak", work / "target.peak"
    started = time.perf_counter()
    tap = subprocess.Popen(
        measured(tap_peak, str(BIN / "tap-pay"), "--config", str(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    loader = subprocess.Popen(
        measured(loader_peak, str(target), "--config", str(target_config)),
        stdin=tap.stdout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert tap.stdout is not None
    tap.stdout.close()  # the loader holds the pipe now
    tap_code = tap.wait()
    loader_code = loader.wait()
    elapsed = time.perf_counter() - started
    if tap_code or loader_code:
        raise SystemExit(f"pipeline failed: tap-pay {tap_code}, target-jsonl {loader_code}")
    written = sum(sum(1 for _ in path.open("rb")) for path in out_dir.glob("*.jsonl"))
    return elapsed, peak_mib(tap_peak), peak_mib(loader_peak), written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=10, help="settlement days (one clearing each)")
    parser.add_argument("--payments", type=int, default=9_500, help="payments per clearing")
    parser.add_argument("--target-jsonl", help="target-jsonl executable to use")
    parser.add_argument("--keep", action="store_true", help="keep the JSONL output")
    args = parser.parse_args()

    target = target_jsonl(args.target_jsonl)
    params = GeneratorParams(seed=100_000, days=args.days, payments_per_clearing=args.payments)
    started = time.perf_counter()
    merchant = generate(params)
    pay = merchant.pay
    records = len(pay["clearingRecords"])
    print(
        f"generated {records:,} clearing records in {len(pay['settlements'])} settlements "
        f"({time.perf_counter() - started:.1f} s)"
    )

    with PaySandbox(merchant) as sandbox, tempfile.TemporaryDirectory() as work:
        config = Path(work) / "tap.json"
        config.write_text(
            json.dumps(
                {
                    "api_url": sandbox.api_url,
                    "token_code": sandbox.token_code,
                    "api_token": sandbox.api_token,
                    "start_date": params.start_date.isoformat(),
                }
            )
        )
        elapsed, peak, counts = run_alone(config, Path(work))
        calls = len(sandbox.requests())
        total = sum(counts.values())
        print("\ntap-pay alone (output counted and discarded)")
        print(f"  clearing records   {counts['clearing_records']:>10,}")
        per_stream = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
        print(f"  all records        {total:>10,}  ({per_stream})")
        print(f"  wall time          {elapsed:>10.1f} s")
        print(f"  clearing records/s {counts['clearing_records'] / elapsed:>10,.0f}")
        print(f"  all records/s      {total / elapsed:>10,.0f}")
        print(f"  peak memory        {peak:>10.0f} MiB (tap-pay)")
        least = minimum_calls(pay)
        print(f"  Pay. API calls     {calls:>10}  (fewest the page limits allow: {least})")

        sandbox.admin.log.clear()
        out_dir = Path(work) / "out"
        out_dir.mkdir()
        elapsed, tap_peak, loader_peak, written = run_piped(config, target, Path(work), out_dir)
        print("\ntap-pay | target-jsonl")
        print(f"  lines written      {written:>10,}")
        print(f"  wall time          {elapsed:>10.1f} s")
        print(f"  clearing records/s {counts['clearing_records'] / elapsed:>10,.0f}")
        print(f"  all records/s      {written / elapsed:>10,.0f}")
        print(f"  peak memory        {tap_peak:>10.0f} MiB (tap-pay)")
        print(f"                     {loader_peak:>10.0f} MiB (target-jsonl)")
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="tap-backfill-"))
            shutil.copytree(out_dir, kept, dirs_exist_ok=True)
            print(f"  output kept in {kept}")


if __name__ == "__main__":
    main()
