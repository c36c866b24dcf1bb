"""The per-run view: one environment, the committed catalog, shared plugins, a private run dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pay_exact_orchestrate.customers import read_customers
from pay_exact_orchestrate.view import (
    ProjectNotInstalled,
    build_view,
    committed_catalog,
    private_view,
)

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The repository's meltano.yml and environments, with 'installed' plugin folders."""
    path = tmp_path / "project"
    (path / ".meltano" / "extractors" / "tap-pay" / "venv").mkdir(parents=True)
    (path / ".meltano" / "loaders" / "target-exactonline" / "venv").mkdir(parents=True)
    (path / "meltano.yml").write_text((REPOSITORY / "meltano.yml").read_text())
    return path


def test_a_view_includes_exactly_one_environment(project: Path, tmp_path: Path) -> None:
    acme = read_customers(REPOSITORY / "environments").usable["acme"]
    view = build_view(project, acme, tmp_path / "view")
    document = yaml.safe_load((view / "meltano.yml").read_text())
    assert document["include_paths"] == ["./environments/acme.meltano.yml"]
    assert document["default_environment"] == "acme"
    assert [p.name for p in (view / "environments").iterdir()] == ["acme.meltano.yml"]
    assert (view / "environments" / "acme.meltano.yml").read_text() == acme.file.read_text()
    # The plugins and the job are the project's own.
    original = yaml.safe_load((REPOSITORY / "meltano.yml").read_text())
    assert document["jobs"] == original["jobs"]
    assert [p["name"] for p in document["plugins"]["loaders"]] == [
        p["name"] for p in original["plugins"]["loaders"]
    ]
    (tap,) = document["plugins"]["extractors"]
    assert tap["catalog"] == str(committed_catalog())


def test_a_view_shares_the_installed_plugins_and_has_its_own_run_folder(
    project: Path, tmp_path: Path
) -> None:
    acme = read_customers(REPOSITORY / "environments").usable["acme"]
    view = build_view(project, acme, tmp_path / "view")
    system = view / ".meltano"
    assert (system / "extractors").resolve() == (project / ".meltano" / "extractors").resolve()
    assert (system / "loaders").resolve() == (project / ".meltano" / "loaders").resolve()
    assert not (system / "run").is_symlink()
    assert list((system / "run").iterdir()) == []


def test_views_of_one_customer_are_apart_and_go_away(project: Path) -> None:
    acme = read_customers(REPOSITORY / "environments").usable["acme"]
    with private_view(project, acme) as first, private_view(project, acme) as second:
        assert first != second
        assert (first / "meltano.yml").exists()
    assert not first.exists()
    assert not second.exists()


def test_no_view_without_installed_plugins(tmp_path: Path) -> None:
    (tmp_path / "meltano.yml").write_text((REPOSITORY / "meltano.yml").read_text())
    acme = read_customers(REPOSITORY / "environments").usable["acme"]
    with pytest.raises(ProjectNotInstalled, match="meltano install"):
        build_view(tmp_path, acme, tmp_path / "view")


def test_the_committed_catalog_is_what_tap_pay_discovers() -> None:
    tap = Path(sys.executable).parent / "tap-pay"
    discovered = subprocess.run(
        [str(tap), "--discover"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    committed = json.loads(committed_catalog().read_text())
    assert committed == json.loads(discovered), (
        "tap-pay's streams changed: refresh the catalog with "
        f"`tap-pay --discover > {committed_catalog()}`"
    )
