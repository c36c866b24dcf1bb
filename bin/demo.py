"""The demo: start the seeded sandbox, run the main job against it through Meltano, summarise.

Run through ``bin/dev demo``, which prepares ``.venv`` first. Options:
  --seed N       which generated merchant the sandbox serves (default 42)
  --keep         leave the sandbox running after the job (Ctrl-C to stop)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
ENVIRONMENT = "demo"
OUTPUT = ROOT / "output" / ENVIRONMENT


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def start_sandbox(seed: int, urls_file: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(BIN / "pay-exact-sandbox"),
            "serve",
            "--seed",
            str(seed),
            "--urls-file",
            str(urls_file),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the sandbox stopped at start-up (exit code {proc.returncode})")
        if urls_file.exists() and urls_file.stat().st_size:
            return proc
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the sandbox did not start within 120 s")


def meltano(*args: str, env: dict[str, str]) -> None:
    cmd = [str(BIN / "meltano"), *args]
    say("$ meltano " + " ".join(args))
    result = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"meltano {' '.join(args)} failed with exit code {result.returncode}")


def summarise() -> None:
    say(f"records written to {OUTPUT.relative_to(ROOT)}/:")
    for path in sorted(OUTPUT.glob("*.jsonl")):
        with path.open() as handle:
            count = sum(1 for _ in handle)
        say(f"  {path.name:<28} {count:>8} records")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pay-exact-demo-") as tmp:
        urls_file = Path(tmp) / "sandbox.json"
        say(f"starting the sandbox with merchant seed {args.seed} ...")
        sandbox = start_sandbox(args.seed, urls_file)
        try:
            urls = json.loads(urls_file.read_text())
            pay = urls["pay"]
            say(f"Pay. sandbox at {pay['api_url']}")
            env = {
                **os.environ,
                "PAY_SANDBOX_API_URL": pay["api_url"],
                "DEMO_PAY_TOKEN_CODE": pay["token_code"],
                "DEMO_PAY_API_TOKEN": pay["api_token"],
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            }
            OUTPUT.mkdir(parents=True, exist_ok=True)
            for old in OUTPUT.glob("*.jsonl"):
                old.unlink()
            meltano("install", env=env)
            meltano(f"--environment={ENVIRONMENT}", "run", "tap-pay", "target-jsonl", env=env)
            summarise()
            if args.keep:
                say("sandbox still running; Ctrl-C to stop")
                signal.pause()
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
