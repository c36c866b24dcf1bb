"""Backfill benchmark for tap-pay: about 100,000 clearing records from a local Pay. sandbox.

Prints, for the tap alone (its Singer output counted and discarded): records per second, peak
memory, the bytes of Singer output and the share of them that are SCHEMA messages (with the
SCHEMA messages per stream), and the Pay. API calls against the fewest the endpoints' page
limits allow. Then the same run piped into each loader: target-jsonl (files) and MeltanoLabs'
target-postgres (the PostgreSQL server the tests use, into a schema of its own that is dropped
afterwards).

    .venv/bin/python bench/tap_backfill.py [--days 10] [--payments 9500] [--groups 1]
                                           [--enrich] [--targets jsonl,postgres] [--keep]
                                           [--sdk-schemas]

``--days 100 --payments 45 --groups 3 --enrich`` is the shape of a large merchant with
Transaction:Info enrichment: many small clearings, one child stream read per payment.

The tap runs as its own process (``tap-pay --config``), as Meltano runs it, so the sandbox
serving it from this process does not share its interpreter. Peak memory is each process's
maximum resident set size, read from ``wait4``.

The loaders come from the package registry into throwaway virtualenvs under
``/tmp/pay-exact-bench/`` (made with the uv that ``bin/dev setup`` installs into ``.venv``, on
first use; later runs reuse them). ``--postgres-url`` names another server.
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
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pay_exact_sandbox.generator import GeneratorParams, generate
from pay_exact_sandbox.generator.params import RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from sqlalchemy import create_engine, make_url, text

BIN = Path(sys.executable).parent
BENCH_VENVS = Path(tempfile.gettempdir()) / "pay-exact-bench"
LOADERS = {
    "jsonl": ("target-jsonl", "target-jsonl==0.1.4"),
    "postgres": ("target-postgres", "meltanolabs-target-postgres==0.8.1"),
}
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def loader_executable(kind: str) -> Path:
    """The loader's executable, installed from the package registry on first use."""
    executable, package = LOADERS[kind]
    venv = BENCH_VENVS / executable
    path = venv / "bin" / executable
    if not path.exists():
        print(f"installing {package} into {venv} ...", flush=True)
        uv = BIN / "uv"
        subprocess.run([str(uv), "venv", "--quiet", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [str(uv), "pip", "install", "--quiet", "--python", python, package], check=True
        )
    return path


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


@dataclass
class Output:
    """What the tap wrote: records and SCHEMA messages per stream, and their bytes."""

    records: Counter[str] = field(default_factory=Counter)
    schemas: Counter[str] = field(default_factory=Counter)
    total_bytes: int = 0
    schema_bytes: int = 0


_RECORD = b'{"type":"RECORD","stream":"'
_SCHEMA = b'{"type":"SCHEMA","stream":"'


def stream_name(line: bytes, prefix: bytes) -> str:
    start = len(prefix)
    return line[start : line.index(b'"', start)].decode()


def count_output(stream: IO[bytes], copy_to: IO[bytes] | None = None) -> Output:
    """Count the tap's messages (cheaply: this process also serves the sandbox)."""
    out = Output()
    for line in stream:
        out.total_bytes += len(line)
        if line.startswith(_RECORD):
            out.records[stream_name(line, _RECORD)] += 1
        elif line.startswith(_SCHEMA):
            out.schemas[stream_name(line, _SCHEMA)] += 1
            out.schema_bytes += len(line)
        if copy_to is not None:
            copy_to.write(line)
    return out


def minimum_calls(pay: dict[str, Any], *, enrich: bool) -> int:
    per_clearing = Counter(r["clearingId"] for r in pay["clearingRecords"])
    clearings = [c["clearingId"] for s in pay["settlements"] for c in s["clearings"]]
    orders = len({r["orderId"] for r in pay["clearingRecords"]}) if enrich else 0
    return (
        max(1, math.ceil(len(pay["settlements"]) / 10))
        + sum(max(1, math.ceil(per_clearing[c] / 10_000)) for c in clearings)
        + max(1, math.ceil(len(pay["invoiceLines"]) / 100))
        + max(1, math.ceil(len(pay["turnoverGroups"]) / 100))
        + orders
    )


def catalog_selecting_all(config: Path, work: Path) -> Path:
    """A catalog with every stream selected (``transactions`` is off by default)."""
    found = subprocess.run(
        [str(BIN / "tap-pay"), "--config", str(config), "--discover"],
        capture_output=True,
        check=True,
    )
    catalog = json.loads(found.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = True
    path = work / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


# ``--sdk-schemas``: tap-pay as it was before one SCHEMA message per stream, the Singer SDK's own
# writer (a SCHEMA message every time a stream, parent or child, is synced), for the comparison.
_SDK_SCHEMAS = (
    "import sys\n"
    "from singer_sdk import Stream\n"
    "from tap_pay.singer_output import SchemaOncePerStream\n"
    "SchemaOncePerStream._write_schema_message = Stream._write_schema_message\n"
    "from tap_pay.cli import main\n"
    "sys.argv[0] = 'tap-pay'\n"
    "sys.exit(main())\n"
)
SDK_SCHEMAS = False


def tap_command(config: Path) -> list[str]:
    tap = [sys.executable, "-c", _SDK_SCHEMAS] if SDK_SCHEMAS else [str(BIN / "tap-pay")]
    command = [*tap, "--config", str(config)]
    catalog = config.with_name("catalog.json")
    return [*command, "--catalog", str(catalog)] if catalog.exists() else command


def run_alone(config: Path, work: Path) -> tuple[float, float, Output]:
    peak = work / "tap-alone.peak"
    started = time.perf_counter()
    tap = subprocess.Popen(
        measured(peak, *tap_command(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert tap.stdout is not None
    output = count_output(tap.stdout)
    code = tap.wait()
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"tap-pay failed with exit code {code}")
    return elapsed, peak_mib(peak), output


def run_piped(
    config: Path, loader: Path, loader_config: Path, work: Path
) -> tuple[float, float, float]:
    tap_peak, loader_peak = work / "tap-piped.peak", work / "loader.peak"
    started = time.perf_counter()
    tap = subprocess.Popen(
        measured(tap_peak, *tap_command(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    target = subprocess.Popen(
        measured(loader_peak, str(loader), "--config", str(loader_config)),
        stdin=tap.stdout,
        stdout=subprocess.DEVNULL,
        stderr=(work / "loader.log").open("wb"),
    )
    assert tap.stdout is not None
    tap.stdout.close()  # the loader holds the pipe now
    tap_code = tap.wait()
    loader_code = target.wait()
    elapsed = time.perf_counter() - started
    if tap_code or loader_code:
        log = (work / "loader.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"pipeline failed: tap-pay {tap_code}, {loader.name} {loader_code}\n{log}")
    return elapsed, peak_mib(tap_peak), peak_mib(loader_peak)


def into_jsonl(config: Path, work: Path, keep: bool) -> tuple[float, float, float, int]:
    out_dir = work / "out"
    out_dir.mkdir()
    loader_config = work / "target-jsonl.json"
    loader_config.write_text(
        json.dumps({"destination_path": str(out_dir), "do_timestamp_file": False})
    )
    elapsed, tap_peak, loader_peak = run_piped(
        config, loader_executable("jsonl"), loader_config, work
    )
    written = sum(sum(1 for _ in path.open("rb")) for path in out_dir.glob("*.jsonl"))
    if keep:
        kept = Path(tempfile.mkdtemp(prefix="tap-backfill-"))
        shutil.copytree(out_dir, kept, dirs_exist_ok=True)
        print(f"  output kept in {kept}")
    return elapsed, tap_peak, loader_peak, written


def into_postgres(config: Path, work: Path, url: str) -> tuple[float, float, float, int]:
    schema = f"bench_tap_{uuid.uuid4().hex[:12]}"
    parsed = make_url(url)
    loader_config = work / "target-postgres.json"
    loader_config.write_text(
        json.dumps(
            {
                "host": parsed.host or "127.0.0.1",
                "port": parsed.port or 5432,
                "user": parsed.username or "postgres",
                "password": parsed.password or "",
                "database": parsed.database or "postgres",
                "default_target_schema": schema,
                "load_method": "upsert",
                "add_record_metadata": False,
                "activate_version": False,
            }
        )
    )
    engine = create_engine(url)
    try:
        elapsed, tap_peak, loader_peak = run_piped(
            config, loader_executable("postgres"), loader_config, work
        )
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalars()
            rows = sum(
                conn.execute(text(f'SELECT count(*) FROM "{schema}"."{table}"')).scalar_one()  # noqa: S608
                for table in list(tables)
            )
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    return elapsed, tap_peak, loader_peak, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=10, help="settlement days")
    parser.add_argument("--payments", type=int, default=9_500, help="payments per clearing")
    parser.add_argument("--groups", type=int, default=1, help="revenue groups (one clearing each)")
    parser.add_argument("--enrich", action="store_true", help="read Transaction:Info per order")
    parser.add_argument("--targets", default="jsonl,postgres", help="loaders to pipe into")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--keep", action="store_true", help="keep the JSONL output")
    parser.add_argument(
        "--sdk-schemas",
        action="store_true",
        help="the SDK's SCHEMA messages (one per synced stream), as before one per stream",
    )
    args = parser.parse_args()
    global SDK_SCHEMAS  # noqa: PLW0603
    SDK_SCHEMAS = args.sdk_schemas

    groups = tuple(RevenueGroup(f"Shop {n}", "woocommerce") for n in range(1, args.groups + 1))
    params = GeneratorParams(
        seed=100_000,
        days=args.days,
        payments_per_clearing=args.payments,
        **({"revenue_groups": groups} if args.groups > 1 else {}),
    )
    started = time.perf_counter()
    merchant = generate(params)
    pay = merchant.pay
    records = len(pay["clearingRecords"])
    print(
        f"generated {records:,} clearing records in {len(pay['settlements'])} settlements "
        f"({time.perf_counter() - started:.1f} s)"
    )

    with PaySandbox(merchant) as sandbox, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "tap.json"
        config.write_text(
            json.dumps(
                {
                    "api_url": sandbox.api_url,
                    "token_code": sandbox.token_code,
                    "api_token": sandbox.api_token,
                    "start_date": params.start_date.isoformat(),
                    "enrich_transactions": args.enrich,
                }
            )
        )
        if args.enrich:
            catalog_selecting_all(config, work)
        elapsed, peak, out = run_alone(config, work)
        calls = len(sandbox.requests())
        total = sum(out.records.values())
        print("\ntap-pay alone (output counted and discarded)")
        print(f"  clearing records   {out.records['clearing_records']:>10,}")
        per_stream = ", ".join(f"{k} {v:,}" for k, v in sorted(out.records.items()))
        print(f"  all records        {total:>10,}  ({per_stream})")
        print(f"  wall time          {elapsed:>10.1f} s")
        print(f"  clearing records/s {out.records['clearing_records'] / elapsed:>10,.0f}")
        print(f"  all records/s      {total / elapsed:>10,.0f}")
        print(f"  peak memory        {peak:>10.0f} MiB (tap-pay)")
        print(f"  Singer output      {out.total_bytes / 2**20:>10.1f} MiB")
        share = out.schema_bytes / out.total_bytes
        print(
            f"  SCHEMA messages    {sum(out.schemas.values()):>10,}  "
            f"({out.schema_bytes / 2**20:.2f} MiB, {share:.1%} of the output)"
        )
        print(
            "  SCHEMA per stream  "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(out.schemas.items()))
        )
        least = minimum_calls(pay, enrich=args.enrich)
        print(f"  Pay. API calls     {calls:>10}  (fewest the page limits allow: {least})")

        for kind in [t for t in args.targets.split(",") if t]:
            sandbox.admin.log.clear()
            run_dir = work / kind
            run_dir.mkdir()
            if kind == "jsonl":
                result = into_jsonl(config, run_dir, args.keep)
                unit = "lines written"
            elif kind == "postgres":
                result = into_postgres(config, run_dir, args.postgres_url)
                unit = "rows in tables"
            else:
                raise SystemExit(f"unknown target {kind!r}: choose from {', '.join(LOADERS)}")
            elapsed, tap_peak, loader_peak, written = result
            name = LOADERS[kind][0]
            print(f"\ntap-pay | {name}")
            print(f"  {unit:<18} {written:>10,}")
            print(f"  wall time          {elapsed:>10.1f} s")
            print(f"  clearing records/s {out.records['clearing_records'] / elapsed:>10,.0f}")
            print(f"  all records/s      {total / elapsed:>10,.0f}")
            print(f"  peak memory        {tap_peak:>10.0f} MiB (tap-pay)")
            print(f"                     {loader_peak:>10.0f} MiB ({name})")


if __name__ == "__main__":
    main()
