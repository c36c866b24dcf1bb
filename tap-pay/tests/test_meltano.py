"""`meltano run tap-pay target-jsonl`: the tap as an ordinary Meltano extractor feeding a loader
from the package registry, which shows it serves targets other than ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from pay_exact_sandbox.pay.sandbox import PaySandbox

TAP_PAY = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"
STREAMS = (
    "settlements",
    "clearings",
    "clearing_lines",
    "clearing_records",
    "invoice_lines",
    "turnover_groups",
)

MELTANO_YML = """\
requires_meltano: ">=4.0,<5"
project_id: {project_id}
send_anonymous_usage_stats: false
default_environment: test
environments:
- name: test
plugins:
  extractors:
  - name: tap-pay
    namespace: tap_pay
    pip_url: -e {tap_pay}
    executable: tap-pay
    capabilities: [catalog, discover, state, about, stream-maps]
    settings:
    - name: api_url
    - name: token_code
    - name: api_token
      sensitive: true
    - name: start_date
      kind: date_iso8601
    - name: lookback_days
      kind: integer
    select: [{select}]
  loaders:
  - name: target-jsonl
    namespace: target_jsonl
    pip_url: target-jsonl==0.1.4
    executable: target-jsonl
    settings:
    - name: destination_path
    - name: do_timestamp_file
      kind: boolean
    config:
      destination_path: out
      do_timestamp_file: false
"""


def meltano(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(MELTANO), *args],
        cwd=project,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"meltano {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="session")
def meltano_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway Meltano project with both plugins installed once per test session."""
    project = tmp_path_factory.mktemp("meltano-project")
    (project / "meltano.yml").write_text(
        MELTANO_YML.format(
            project_id=uuid.uuid4(),
            tap_pay=TAP_PAY,
            select=", ".join(f"{name}.*" for name in STREAMS),
        )
    )
    meltano(project, "install")
    return project


@pytest.mark.slow
def test_meltano_runs_tap_pay_into_target_jsonl(
    meltano_project: Path, pay_sandbox: PaySandbox, sandbox_config: Callable
):
    config = sandbox_config(pay_sandbox, lookback_days=2)
    env = {
        **os.environ,
        "MELTANO_ENVIRONMENT": "test",
        "TAP_PAY_API_URL": config["api_url"],
        "TAP_PAY_TOKEN_CODE": config["token_code"],
        "TAP_PAY_API_TOKEN": config["api_token"],
        "TAP_PAY_START_DATE": config["start_date"],
        "TAP_PAY_LOOKBACK_DAYS": "2",
    }
    run = meltano(meltano_project, "run", "tap-pay", "target-jsonl", env=env)

    pay = pay_sandbox.merchant.pay
    files = {name: meltano_project / "out" / f"{name}.jsonl" for name in STREAMS}
    lines = {name: path.read_text().splitlines() for name, path in files.items()}
    rows = {
        name: [json.loads(line, parse_float=Decimal) for line in lines[name]] for name in STREAMS
    }
    assert {r["code"] for r in rows["settlements"]} == {s["code"] for s in pay["settlements"]}
    assert {r["reportingId"] for r in rows["clearing_records"]} == {
        r["reportingId"] for r in pay["clearingRecords"]
    }
    assert len(rows["invoice_lines"]) == len(pay["invoiceLines"])
    # Cents survive the loader: amounts are written with their two decimals.
    cents = {r["reportingId"]: r["amount"]["value"] for r in pay["clearingRecords"]}
    for record in rows["clearing_records"]:
        assert record["amount"] == Decimal(cents[record["reportingId"]]).scaleb(-2)
    assert all('"amount": ' in line for line in lines["clearing_records"])

    shown = meltano(meltano_project, "state", "get", "test:tap-pay-to-target-jsonl", env=env)
    state = json.loads(shown.stdout)
    bookmark = state["singer_state"]["bookmarks"]["settlements"]["replication_key_value"]
    assert bookmark == max(s["settlementDate"] for s in pay["settlements"])
    assert config["api_token"] not in run.stdout + run.stderr
    assert config["api_token"] not in (meltano_project / "meltano.yml").read_text()
