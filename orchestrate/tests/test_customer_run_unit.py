"""The customer run around Meltano, with a stand-in ``meltano`` that records what it was given:
the command (never ``--force``), the view it ran in, its variables, and how its outcome is read."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from pay_exact_orchestrate.customer_run import CustomerRefused, run_customer
from pay_exact_orchestrate.settings import OrchestrateSettings

TOKEN = "pay-token-0123456789abcdef"
DB_PASSWORD = "db-pass-9876"

FAKE_MELTANO = """#!{python}
import json, os, sys
from pathlib import Path
record = {{
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "env": dict(os.environ),
    "environments": sorted(p.name for p in Path("environments").iterdir()),
    "run_dir": sorted(p.name for p in Path(".meltano/run").iterdir()),
}}
Path({record!r}).write_text(json.dumps(record))
print("tap-pay: 401 for token " + os.environ.get("ACME_PAY_API_TOKEN", ""))
print("store at " + os.environ.get("TARGET_EXACTONLINE_STORE_URL", ""))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def settings(tmp_path: Path) -> OrchestrateSettings:
    project = tmp_path / "project"
    (project / ".meltano" / "extractors" / "tap-pay").mkdir(parents=True)
    (project / ".meltano" / "loaders" / "target-exactonline").mkdir(parents=True)
    repository = Path(__file__).resolve().parents[2]
    (project / "meltano.yml").write_text((repository / "meltano.yml").read_text())
    environments = tmp_path / "environments"
    environments.mkdir()
    for name in ("acme", "bloom"):
        (environments / f"{name}.meltano.yml").write_text(
            (repository / "environments" / f"{name}.meltano.yml").read_text()
        )
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    secret = secrets / "acme.env"
    secret.write_text(f"ACME_PAY_API_TOKEN={TOKEN}\nACME_EXACT_CLIENT_SECRET=cs-1\n")
    secret.chmod(0o600)
    return OrchestrateSettings(
        meltano_database_uri=f"postgresql+psycopg://meltano:{DB_PASSWORD}@db/meltano",
        store_url=f"postgresql+psycopg://pay:{DB_PASSWORD}@db/pay_exact",
        reports_dir=tmp_path / "reports",
        project_dir=project,
        environments_dir=environments,
        secrets_dir=secrets,
    )


@pytest.fixture
def meltano(tmp_path: Path) -> tuple[str, Path]:
    record = tmp_path / "record.json"
    script = tmp_path / "meltano"
    script.write_text(FAKE_MELTANO.format(python=sys.executable, record=str(record)))
    script.chmod(0o755)
    return str(script), record


def caller_environ(**extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        # What a careless shell might carry: settings of every plugin, another customer's secret.
        "TARGET_EXACTONLINE_STORE_URL": "sqlite:///wrong.sqlite",
        "TAP_PAY_API_URL": "http://elsewhere",
        "MELTANO_ENVIRONMENT": "bloom",
        **extra,
    }


def test_the_run_is_meltano_run_in_a_view_with_only_this_customers_secrets(
    settings: OrchestrateSettings, meltano: tuple[str, Path]
) -> None:
    command, record = meltano
    result = run_customer("acme", settings=settings, meltano=command, base_environ=caller_environ())
    seen = json.loads(record.read_text())
    argv = seen["argv"]
    assert argv[:2] == ["--environment=acme", "run"]
    assert argv[2].startswith("--run-id=")
    assert argv[3:] == ["tap-pay", "target-exactonline"]
    # The run's claim is gone once Meltano has ended.
    assert not list((settings.reports_dir / "acme" / ".runs").glob("*.json"))
    assert "--force" not in seen["argv"]
    assert seen["environments"] == ["acme.meltano.yml"]
    assert seen["run_dir"] == []
    view = Path(seen["cwd"])
    assert not view.exists()  # removed after the run
    env = seen["env"]
    assert env["ACME_PAY_API_TOKEN"] == TOKEN
    assert env["TARGET_EXACTONLINE_STORE_URL"] == settings.store_url
    assert env["TARGET_EXACTONLINE_REPORT_DIR"] == str(settings.reports_dir / "acme")
    assert env["MELTANO_DATABASE_URI"] == settings.meltano_database_uri
    assert "TAP_PAY_API_URL" not in env
    assert "MELTANO_ENVIRONMENT" not in env
    assert not [k for k in env if k.startswith("BLOOM_")]
    # No clearings and a clean exit: nothing to do, no report.
    assert result.outcome == "nothing_to_do"
    assert result.ok
    assert result.summary is None


def test_a_failed_run_keeps_its_last_lines_with_secrets_masked(
    settings: OrchestrateSettings, meltano: tuple[str, Path]
) -> None:
    command, _ = meltano
    result = run_customer(
        "acme", settings=settings, meltano=command, base_environ=caller_environ(FAKE_EXIT="1")
    )
    assert result.outcome == "failed"
    assert not result.ok
    assert result.exit_code == 1
    text = "\n".join(result.log_tail)
    assert "401 for token ***" in text
    assert TOKEN not in text
    assert DB_PASSWORD not in text


def test_the_outcome_is_read_from_the_report_the_run_wrote(
    settings: OrchestrateSettings, meltano: tuple[str, Path], tmp_path: Path
) -> None:
    command, _ = meltano
    # A stand-in that also writes a report as the target does (exit 1: something not booked).
    wrapper = tmp_path / "meltano-with-report"
    report = settings.reports_dir / "acme" / "pay-exact-123456-20261204T030000Z-abcd1234.jsonl"
    lines = [
        {"type": "run", "run_id": "abcd1234", "dry_run": False},
        {"type": "clearing", "clearing_id": "CL-1", "outcome": "booked"},
        {
            "type": "summary",
            "counts": {"booked": 3, "blocked": 1, "already_booked": 2},
            "api_calls": 9,
            "text": "6 clearings: 3 booked, 2 already booked, 1 not booked; 9 Exact API calls",
        },
    ]
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        "from pathlib import Path\n"
        f"Path({str(report)!r}).write_text({chr(10).join(json.dumps(x) for x in lines)!r})\n"
        f"sys.exit(subprocess.call([{command!r}, *sys.argv[1:]]) or 1)\n"
    )
    wrapper.chmod(0o755)
    result = run_customer(
        "acme", settings=settings, meltano=str(wrapper), base_environ=caller_environ()
    )
    assert result.outcome == "not_booked"
    assert result.summary is not None
    assert result.summary.booked == 3
    assert result.summary.not_booked == 1
    assert result.summary.exact_calls == 9
    assert result.summary.html == report.with_suffix(".html")


def test_an_unknown_or_refused_customer_never_starts(
    settings: OrchestrateSettings, meltano: tuple[str, Path]
) -> None:
    command, record = meltano
    with pytest.raises(CustomerRefused, match="no environment file"):
        run_customer("cedar", settings=settings, meltano=command, base_environ=caller_environ())
    # bloom now books into acme's administration: both are refused.
    bloom = settings.environments_dir / "bloom.meltano.yml"
    document = yaml.safe_load(bloom.read_text())
    document["environments"][0]["config"]["plugins"]["loaders"][0]["config"]["division"] = 234567
    bloom.write_text(yaml.safe_dump(document))
    with pytest.raises(CustomerRefused, match="also the administration of bloom"):
        run_customer("acme", settings=settings, meltano=command, base_environ=caller_environ())
    assert not record.exists()


def test_a_customer_without_a_token_key_never_starts(
    settings: OrchestrateSettings, meltano: tuple[str, Path]
) -> None:
    command, record = meltano
    acme = settings.environments_dir / "acme.meltano.yml"
    document = yaml.safe_load(acme.read_text())
    del document["environments"][0]["config"]["plugins"]["loaders"][0]["config"][
        "token_encryption_key"
    ]
    acme.write_text(yaml.safe_dump(document))
    with pytest.raises(CustomerRefused, match=r"no token_encryption_key .*ACME_TOKEN_ENCRYPTION"):
        run_customer("acme", settings=settings, meltano=command, base_environ=caller_environ())
    assert not record.exists()
