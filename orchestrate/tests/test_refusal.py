"""A customer run refuses to start where a shared store is not configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pay_exact_orchestrate.customer_run import run_customer
from pay_exact_orchestrate.settings import (
    MELTANO_DATABASE_URI,
    REPORTS_DIR,
    STORE_URL,
    OrchestrateSettings,
    SettingsMissing,
)

FULL = {
    MELTANO_DATABASE_URI: "postgresql+psycopg://meltano@db/meltano",
    STORE_URL: "postgresql+psycopg://pay@db/pay_exact",
    REPORTS_DIR: "/srv/pay-exact/reports",
}


def test_all_three_stores_set_is_enough() -> None:
    settings = OrchestrateSettings.from_environ(FULL)
    assert settings.store_url == FULL[STORE_URL]
    assert settings.reports_dir == Path("/srv/pay-exact/reports")
    assert (settings.environments_dir / "acme.meltano.yml").exists()


@pytest.mark.parametrize("missing", [MELTANO_DATABASE_URI, STORE_URL, REPORTS_DIR])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_store_stops_the_run_before_it_starts(
    missing: str, value: str | None, tmp_path: Path
) -> None:
    environ = {**FULL, "PAY_EXACT_SECRETS_DIR": str(tmp_path)}
    if value is None:
        del environ[missing]
    else:
        environ[missing] = value
    with pytest.raises(SettingsMissing, match=missing):
        # A meltano that cannot exist: reaching it would fail differently.
        run_customer("acme", base_environ=environ, meltano=str(tmp_path / "no-meltano"))
    assert list(tmp_path.iterdir()) == []  # nothing was written anywhere


def test_the_command_names_the_missing_variable_and_exits_2(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "pay-exact-run-customer"
    done = subprocess.run(
        [str(command), "acme"],
        env={"PATH": "/usr/bin:/bin", STORE_URL: "sqlite:///x", REPORTS_DIR: str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert MELTANO_DATABASE_URI in done.stderr
    assert "Traceback" not in done.stderr
