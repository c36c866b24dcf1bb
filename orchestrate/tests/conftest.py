"""Fixtures of the orchestration tests: an installed copy of the Meltano project, a database of
their own on the test PostgreSQL server, and customers on the sandboxes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pay_exact_orchestrate.bytecode import compile_plugins
from pay_exact_orchestrate.sandbox_customers import (
    SandboxCustomer,
    start_customer_sandboxes,
    start_sandbox_customer,
)
from pay_exact_orchestrate.settings import OrchestrateSettings
from target_exactonline.exact_client.testing import fresh_postgres_database

REPOSITORY = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).parent / "meltano"
PROJECT_PARTS = ("meltano.yml", "environments", "tap-pay", "transform", "target-exactonline")


def clean_environ() -> dict[str, str]:
    prefixes = ("TAP_PAY_", "TARGET_EXACTONLINE_", "TARGET_JSONL_", "MELTANO_", "PAY_EXACT_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@pytest.fixture(scope="session")
def installed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with its plugins installed by ``meltano install`` (once)."""
    path = tmp_path_factory.mktemp("orchestrate-project")
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "tests"
    )
    for part in PROJECT_PARTS:
        source = REPOSITORY / part
        if source.is_dir():
            shutil.copytree(source, path / part, ignore=ignore)
        else:
            shutil.copy2(source, path / part)
    text = (path / "meltano.yml").read_text()
    (path / "meltano.yml").write_text(
        re.sub(r"(?m)^project_id: .*$", f"project_id: {uuid.uuid4()}", text)
    )
    result = subprocess.run(
        [str(MELTANO), "install"],
        cwd=path,
        env={**clean_environ(), "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    compile_plugins(path)
    return path


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (Meltano's tables and the target's share it, as
    in production they may)."""
    with fresh_postgres_database("pay_exact_orch") as url:
        yield url


@pytest.fixture
def dagster_database() -> Iterator[str]:
    """Dagster's storage: a database of its own (Dagster and Meltano both have a ``runs``
    table)."""
    with fresh_postgres_database("pay_exact_dagster") as url:
        yield url


@pytest.fixture
def orchestration(installed_project: Path, database: str, tmp_path: Path) -> OrchestrateSettings:
    return OrchestrateSettings(
        meltano_database_uri=database,
        store_url=database,
        reports_dir=tmp_path / "reports",
        project_dir=installed_project,
        environments_dir=tmp_path / "environments",
        secrets_dir=tmp_path / "secrets",
    )


@pytest.fixture
def sandbox_customers(
    orchestration: OrchestrateSettings,
) -> Iterator[Callable[..., list[SandboxCustomer]]]:
    """``start(n)``: n customers, files and tokens in place, in pairs that share a division
    number: one in Exact nl and one in Exact be, each country on its own multi-customer sandbox
    pair (as each country has its own host)."""
    started: list[SandboxCustomer] = []
    sandboxes = {country: start_customer_sandboxes() for country in ("nl", "be")}

    def start(count: int, *, first_seed: int = 71) -> list[SandboxCustomer]:
        for i in range(count):
            country = ("nl", "be")[len(started) % 2]
            started.append(
                start_sandbox_customer(
                    f"shop{len(started) + 1}",
                    seed=first_seed + i,
                    division=300001 + len(started) // 2,
                    country=country,
                    environments_dir=orchestration.environments_dir,
                    secrets_dir=orchestration.secrets_dir or Path(),
                    store_url=orchestration.store_url,
                    sandboxes=sandboxes[country],
                    days=1 + i,  # histories of different lengths: bookmarks that differ
                )
            )
        return started[-count:]

    yield start
    for pair in sandboxes.values():
        pair.stop()
