"""The ``tap-pay`` command as Meltano runs it: a process, a config file, Singer on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pay_exact_sandbox.pay.sandbox import PaySandbox

TAP = Path(sys.executable).parent / "tap-pay"


def tap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TAP), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_about_lists_the_settings_and_marks_the_token_secret():
    about = json.loads(tap("--about", "--format", "json").stdout)
    settings = about["settings"]["properties"]
    for name in (
        "api_url",
        "token_code",
        "api_token",
        "merchant_code",
        "start_date",
        "lookback_days",
        "revenue_groups",
        "enrich_transactions",
    ):
        assert settings[name]["description"], name
    assert settings["api_token"]["secret"] is True


def test_discovery_describes_every_stream(tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"token_code": "AT-1234-5678", "api_token": "t" * 40}))
    catalog = json.loads(tap("--config", str(config), "--discover").stdout)
    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(streams) == {
        "settlements",
        "clearings",
        "clearing_lines",
        "clearing_records",
        "invoice_lines",
        "turnover_groups",
        "transactions",
    }
    for name, entry in streams.items():
        properties = entry["schema"]["properties"]
        undocumented = [p for p, spec in properties.items() if not spec.get("description")]
        assert not undocumented, f"{name}: {undocumented}"
    assert streams["clearing_records"]["key_properties"] == ["clearingId", "reportingId"]
    assert streams["settlements"]["replication_key"] == "settlementDate"
    assert streams["invoice_lines"]["replication_key"] == "date"


def test_a_sync_writes_singer_to_stdout_and_logs_to_stderr(
    pay_sandbox: PaySandbox, sandbox_config: Callable, tmp_path: Path
):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(sandbox_config(pay_sandbox)))
    result = tap("--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    assert {m["type"] for m in messages} == {"SCHEMA", "RECORD", "STATE"}
    assert pay_sandbox.api_token not in result.stdout + result.stderr


def test_a_rejected_token_exits_non_zero_with_the_reason(
    pay_sandbox: PaySandbox, sandbox_config: Callable, tmp_path: Path
):
    wrong = "9" * 40
    config = tmp_path / "config.json"
    config.write_text(json.dumps(sandbox_config(pay_sandbox, api_token=wrong)))
    result = tap("--config", str(config))
    assert result.returncode == 1
    # The last line says what is wrong, with no traceback burying it.
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("tap-pay: Pay. rejected the credentials (HTTP 401")
    )
    assert "Traceback" not in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_about_in_markdown_says_which_settings_are_secret_and_what_values_they_take():
    rows = {
        line.split("|")[1].strip(): line
        for line in tap("--about", "--format=markdown").stdout.splitlines()
        if line.startswith("| ")
    }
    assert "**Secret**" in rows["api_token"]
    secret_free = ("api_url", "token_code", "merchant_code", "start_date", "lookback_days")
    assert not any("**Secret**" in rows[name] for name in secret_free)
    assert "Allowed values: `cents`, `euros`." in rows["settlement_amount_unit"]
    assert "transactions stream selected" in rows["enrich_transactions"]


def test_enrichment_without_its_stream_selected_says_so(
    pay_sandbox: PaySandbox, sandbox_config: Callable, run_tap: Callable
):
    run = run_tap(sandbox_config(pay_sandbox, enrich_transactions=True), streams={"settlements"})
    assert "enrich_transactions is on but the transactions stream is not selected" in run.stderr
    quiet = run_tap(sandbox_config(pay_sandbox), streams={"settlements"})
    assert "enrich_transactions" not in quiet.stderr
