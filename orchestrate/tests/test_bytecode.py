"""The installed plugins and their editable sources are compiled once, tests left out."""

from __future__ import annotations

from pathlib import Path

from pay_exact_orchestrate.bytecode import compile_plugins


def module(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("VALUE = 1\n")
    return path


def compiled(source: Path) -> bool:
    return any((source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"))


def test_plugin_environments_and_their_editable_sources_are_compiled(tmp_path: Path) -> None:
    project = tmp_path / "project"
    site = project / ".meltano/extractors/tap-x/venv/lib/python3.11/site-packages"
    installed = module(site / "library/core.py")
    source = tmp_path / "tap-x"
    own = module(source / "tap_x/streams.py")
    test = module(source / "tests/test_streams.py")
    (site / "_editable_impl_tap_x.pth").write_text(f"{source}\n")
    elsewhere = module(tmp_path / "elsewhere/other.py")

    done = compile_plugins(project)

    assert compiled(installed)
    assert compiled(own)
    assert not compiled(test)
    assert not compiled(elsewhere)
    assert source in done
