"""A private Meltano project for one run of one customer.

Why not run every customer from the one project folder:
- Meltano writes a plugin's files under fixed names in ``.meltano/run/<plugin>/``
  (``tap.properties.json``, ``tap.config.json``, ``state.json``, ...; see
  ``meltano/core/plugin/singer/tap.py``, ``files``). Two runs at once from one folder overwrite
  each other's catalog, config and state: runs fail with "Invalid catalog" or read another
  customer's bookmark (measured in ``bench/orchestrate_night.py --shared-layout``).
- Every Meltano start parses every file ``include_paths`` names: with a thousand customers that
  is most of a small customer's run.

So each run gets a temporary folder holding:
- ``meltano.yml``: the project's, including only this customer's environment file, with
  tap-pay's catalog fixed to the committed one (no discovery per run: Meltano copies a custom
  catalog into the run folder and applies the ``select`` rules to it, as it does to a
  discovered one);
- ``environments/<customer>.meltano.yml``: a copy of that one file;
- ``.meltano/extractors``, ``.meltano/loaders``, ...: symbolic links to the project's installed
  plugins (Meltano looks a plugin's virtual environment up as ``<.meltano>/<type>/<name>/venv``,
  ``meltano/core/venv_service.py``), so nothing is installed per run;
- ``.meltano/run/``: its own, empty, so the files above are private to this run.

Nothing secret is written here: secrets reach the ``meltano`` process as variables only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pay_exact_orchestrate.customers import SUFFIX, Customer

TAP = "tap-pay"
# The plugin folders ``meltano install`` fills; shared read-only by every view.
PLUGIN_TYPES = ("extractors", "loaders", "mappers", "utilities", "transformers", "orchestrators")


class ProjectNotInstalled(RuntimeError):
    """The project's plugins are not installed, so a view would have nothing to run."""


def committed_catalog() -> Path:
    """tap-pay's catalog as ``tap-pay --discover`` writes it (a test keeps them equal)."""
    return Path(str(resources.files("pay_exact_orchestrate") / "catalog" / "tap-pay.json"))


def view_document(project_dir: Path, customer: Customer, catalog: Path) -> dict[str, Any]:
    """The view's ``meltano.yml``: the project's own, with one environment and the catalog."""
    document = yaml.safe_load((project_dir / "meltano.yml").read_text(encoding="utf-8"))
    document["include_paths"] = [f"./environments/{customer.name}{SUFFIX}"]
    document["default_environment"] = customer.name
    for extractor in document.get("plugins", {}).get("extractors", []):
        if extractor.get("name") == TAP:
            extractor["catalog"] = str(catalog)
    return document


def build_view(project_dir: Path, customer: Customer, folder: Path) -> Path:
    """Lay the view out in ``folder`` (empty or missing); returns it."""
    installed = project_dir / ".meltano"
    if not any((installed / kind).is_dir() for kind in PLUGIN_TYPES):
        raise ProjectNotInstalled(
            f"no installed plugins under {installed}: run `meltano install` in {project_dir}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    document = view_document(project_dir, customer, committed_catalog())
    (folder / "meltano.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    environments = folder / "environments"
    environments.mkdir()
    shutil.copyfile(customer.file, environments / f"{customer.name}{SUFFIX}")
    system = folder / ".meltano"
    system.mkdir()
    for kind in PLUGIN_TYPES:
        if (installed / kind).is_dir():
            (system / kind).symlink_to(installed / kind, target_is_directory=True)
    (system / "run").mkdir()
    return folder


@contextmanager
def private_view(project_dir: Path, customer: Customer) -> Iterator[Path]:
    """A view for one run, removed afterwards (logs and reports live elsewhere)."""
    with tempfile.TemporaryDirectory(prefix=f"pay-exact-{customer.name}-") as tmp:
        yield build_view(project_dir, customer, Path(tmp) / "project")
