"""The demo: the main job against the seeded local sandbox, the way a customer's nightly run goes.

1. starts the Pay. and Exact Online sandboxes (a generated webshop merchant and its Exact
   administration; the administration is kept in .state/demo/ between demos),
2. installs the Meltano plugins,
3. authorizes against the sandbox's Exact Online (the sandbox consents at once, so the browser
   step is done here by following the authorize address),
4. runs ``meltano --environment=demo run tap-pay target-exactonline``,
5. prints what was booked and where the report is.

Run it again and the second run books nothing: every clearing is already in Exact.

Run through ``bin/dev demo``, which prepares ``.venv`` first. Options:
  --seed N       which generated merchant the sandbox serves (default 42); another seed starts over
  --reset        forget the earlier demos (Exact administration, ledger, tokens, state, reports)
  --keep         leave the sandbox running afterwards (Ctrl-C to stop), with its variables in
                 .state/demo/sandbox.env for running Meltano by hand
  --verbose      show Meltano's own log lines as well
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
ENVIRONMENT = "demo"
STATE = ROOT / ".state" / ENVIRONMENT
SANDBOX_STATE = STATE / "sandbox"
MARKER = STATE / "demo.json"
KEEP_ENV = STATE / "sandbox.env"
STATE_ID = f"{ENVIRONMENT}:tap-pay-to-target-exactonline"
# Variables that would outrank the demo environment's settings in every plugin.
BARE_PREFIXES = ("TAP_PAY_", "TARGET_EXACTONLINE_")


def say(text: str = "") -> None:
    print(f"[demo] {text}" if text else "", flush=True)


def demo_settings() -> dict[str, Any]:
    """The demo environment's target settings, as environments/demo.meltano.yml gives them."""
    document = yaml.safe_load((ROOT / "environments" / "demo.meltano.yml").read_text())
    (environment,) = [e for e in document["environments"] if e["name"] == ENVIRONMENT]
    loaders = environment["config"]["plugins"]["loaders"]
    (target,) = [p for p in loaders if p["name"] == "target-exactonline"]
    return target["config"]


# -- the sandbox -------------------------------------------------------------------------------


def start_sandbox(seed: int, division: int, urls_file: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(BIN / "pay-exact-sandbox"),
            "serve",
            "--seed",
            str(seed),
            "--exact-division",
            str(division),
            "--state-dir",
            str(SANDBOX_STATE),
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


def stop_sandbox(proc: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets the sandbox save the Exact administration for the next demo.
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- meltano -----------------------------------------------------------------------------------


def meltano(
    *args: str, env: dict[str, str], verbose: bool, check: bool = True
) -> subprocess.CompletedProcess[str]:
    say("$ meltano " + " ".join(args))
    result = subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=None if verbose else subprocess.PIPE,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        if not verbose:
            sys.stderr.write(result.stderr[-6000:])
        raise SystemExit(f"meltano {' '.join(args)} failed with exit code {result.returncode}")
    return result


def authorize(env: dict[str, str], verbose: bool) -> None:
    """``meltano invoke target-exactonline:authorize --paste``, with this script as the browser:
    it opens the printed address, which the sandbox answers with the redirect at once, and
    pastes the address it ended on."""
    args = ["--environment=demo", "invoke", "target-exactonline:authorize", "--paste"]
    say("$ meltano " + " ".join(args))
    proc = subprocess.Popen(
        [str(BIN / "meltano"), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = None
    for line in proc.stdout:
        found = re.search(r"(https?://\S+/api/oauth2/auth\?\S+)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        _, err = proc.communicate(timeout=60)
        sys.stderr.write(err[-6000:])
        raise SystemExit("the authorize command printed no address")
    answer = requests.get(url, allow_redirects=False, timeout=30)
    redirect = answer.headers.get("Location", "")
    _, err = proc.communicate(redirect + "\n", timeout=120)
    if proc.returncode != 0:
        sys.stderr.write(err[-6000:])
        raise SystemExit("authorizing against the sandbox's Exact Online failed")
    for line in err.splitlines():
        if verbose or "Connected as" in line:
            say("  " + line.split("meltano      ", 1)[-1].strip())


def keep_env_file(env: dict[str, str], base_env: dict[str, str]) -> None:
    """The sandbox's variables in a file only its owner can read, while the sandbox runs."""
    lines = [f"{k}={v}" for k, v in sorted(env.items()) if base_env.get(k) != v]
    KEEP_ENV.touch(mode=0o600)
    KEEP_ENV.write_text("\n".join(lines) + "\n")


# -- starting over -----------------------------------------------------------------------------


def forget_earlier_demos(reports: Path, env: dict[str, str], verbose: bool) -> None:
    """Another merchant (or --reset): the old administration, ledger and bookmark do not fit."""
    shutil.rmtree(STATE, ignore_errors=True)
    shutil.rmtree(reports, ignore_errors=True)
    listed = meltano("state", "list", env=env, verbose=verbose).stdout
    if STATE_ID in listed.split():
        meltano("state", "clear", "--force", STATE_ID, env=env, verbose=verbose)


# -- the summary -------------------------------------------------------------------------------


def read_report(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    summary: dict[str, Any] = {}
    clearings: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("type") == "clearing":
            clearings.append(item)
        elif item.get("type") == "summary":
            summary = item
    return summary, clearings


def summarise(reports: Path, since: float, exact: dict[str, Any]) -> Counter[str]:
    """Print the run's report in short; returns how many clearings had which outcome."""
    fresh = [p for p in reports.glob("*.jsonl") if p.stat().st_mtime >= since]
    if not fresh:
        say("No clearings came in, so nothing was booked and no report was written.")
        return Counter()
    path = max(fresh, key=lambda p: p.stat().st_mtime)
    summary, clearings = read_report(path)
    say()
    say(f"{'clearing':<22} {'date':<10} {'outcome':<16} {'entry':>9} {'lines':>5} {'linked':>6}")
    for clearing in sorted(
        clearings, key=lambda c: (c.get("settlement_date") or "", c["clearing_id"])
    ):
        lines = clearing.get("lines") or []
        linked = sum(1 for line in lines if line.get("invoice"))
        say(
            f"{clearing['clearing_id']:<22} {clearing.get('settlement_date') or '':<10} "
            f"{clearing['outcome'].replace('_', ' '):<16} {clearing.get('entry_number') or '':>9} "
            f"{len(lines) or '':>5} {linked if lines else '':>6}"
        )
    attention = Counter(
        line["attention"]
        for clearing in clearings
        for line in clearing.get("lines") or []
        if line.get("attention")
    )
    say()
    say(f"Summary: {summary.get('text', '')}")
    for what, count in attention.most_common():
        say(f"  for the bookkeeper: {count} x {what}")
    say(f"Report:  {path.with_suffix('.html').relative_to(ROOT)}  (and {path.name})")
    say(f"Exact:   the sandbox administration {exact['division']} at {exact['url']}")
    return Counter(c["outcome"] for c in clearings)


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    # A plain `kill` ends the demo like Ctrl-C: the sandbox is stopped and saves its data.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    settings = demo_settings()
    division = int(settings["division"])
    reports = ROOT / settings["report_dir"]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(BARE_PREFIXES)}
    for name in sorted(set(os.environ) - set(base_env)):
        say(f"ignoring {name} from your shell: it would override every environment's settings")
    base_env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"

    say("installing the Meltano plugins (quick after the first time) ...")
    meltano("install", env=base_env, verbose=args.verbose)

    earlier = json.loads(MARKER.read_text()) if MARKER.exists() else None
    if args.reset or (earlier is not None and earlier.get("seed") != args.seed):
        say("starting over: forgetting the earlier demo's administration, ledger and bookmark")
        forget_earlier_demos(reports, base_env, args.verbose)
    STATE.mkdir(parents=True, exist_ok=True)
    MARKER.write_text(json.dumps({"seed": args.seed}) + "\n")

    with tempfile.TemporaryDirectory(prefix="pay-exact-demo-") as tmp:
        urls_file = Path(tmp) / "sandbox.json"
        say(f"starting the Pay. and Exact Online sandboxes (merchant seed {args.seed}) ...")
        sandbox = start_sandbox(args.seed, division, urls_file)
        try:
            urls = json.loads(urls_file.read_text())
            pay, exact = urls["pay"], urls["exact"]
            say(f"  Pay.  at {pay['api_url']}")
            kept = " (kept from the last demo)" if exact.get("restored") else ""
            say(f"  Exact at {exact['url']}, administration {exact['division']}{kept}")
            # The sandbox's demo credentials reach Meltano only through these variables, which
            # environments/demo.meltano.yml references; nothing secret is in a file.
            env = {
                **base_env,
                "PAY_SANDBOX_API_URL": pay["api_url"],
                "DEMO_PAY_TOKEN_CODE": pay["token_code"],
                "DEMO_PAY_API_TOKEN": pay["api_token"],
                "EXACT_SANDBOX_URL": exact["url"],
                "DEMO_EXACT_CLIENT_ID": exact["client_id"],
                "DEMO_EXACT_CLIENT_SECRET": exact["client_secret"],
                "DEMO_EXACT_REDIRECT_URI": exact["redirect_uri"],
            }
            say("authorizing against the sandbox's Exact Online ...")
            authorize(env, args.verbose)
            started = time.time()
            say("running the nightly job for the demo customer ...")
            run = meltano(
                f"--environment={ENVIRONMENT}",
                "run",
                "tap-pay",
                "target-exactonline",
                env=env,
                verbose=args.verbose,
                check=False,
            )
            outcomes = summarise(reports, started, exact)
            if run.returncode != 0:
                say("some clearings were not booked (see the report); they are retried next run")
                if not args.verbose:
                    errors = [line for line in run.stderr.splitlines() if "error" in line.lower()]
                    for line in errors[-5:]:
                        say("  " + line.split("meltano      ", 1)[-1].strip())
            say()
            if outcomes["booked"]:
                say("Run `bin/dev demo` again: the second run books nothing, it is all in Exact.")
            elif outcomes and set(outcomes) == {"already_booked"}:
                say("Nothing booked this time: every clearing was already in Exact.")
            if args.keep:
                keep_env_file(env, base_env)
                say("The sandbox keeps running (Ctrl-C stops it). Run Meltano yourself meanwhile:")
                say(f"  set -a; . {KEEP_ENV.relative_to(ROOT)}; set +a")
                say("  .venv/bin/meltano --environment=demo run tap-pay target-exactonline")
                signal.pause()
            return 0 if run.returncode == 0 else 1
        finally:
            KEEP_ENV.unlink(missing_ok=True)
            stop_sandbox(sandbox)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
