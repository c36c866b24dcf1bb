"""Where a customer run finds the project, the customers and the stores every run shares.

All of it comes from environment variables of the process that starts runs (the Dagster code
location, or the shell that runs ``pay-exact-run-customer``):

- ``MELTANO_DATABASE_URI`` (required): Meltano's system database (the bookmarks), shared by all;
- ``PAY_EXACT_STORE_URL`` (required): the target's store (ledger, tokens, run history, relations);
- ``PAY_EXACT_REPORTS_DIR`` (required): shared folder of the run reports, a sub-folder per customer;
- ``PAY_EXACT_SECRETS_DIR``: the owner-only secret files, one per customer (default provider);
- ``PAY_EXACT_PROJECT_DIR``: the Meltano project with its plugins installed (this repository);
- ``PAY_EXACT_ENVIRONMENTS_DIR``: one ``<customer>.meltano.yml`` each (the project's
  ``environments/``).

A run's Meltano project is a temporary folder (see ``view.py``). Left unset, Meltano's system
database and the target's store would both default to SQLite files inside that folder, and the
reports to a folder beside them: every bookmark, every ledger row and every report of the run
would vanish with it, and the next night would read and book everything again from the start
(only the target's key lookup in Exact would then stand between the customer and double
bookings). So a missing variable stops the run before it starts, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MELTANO_DATABASE_URI = "MELTANO_DATABASE_URI"
STORE_URL = "PAY_EXACT_STORE_URL"
REPORTS_DIR = "PAY_EXACT_REPORTS_DIR"
SECRETS_DIR = "PAY_EXACT_SECRETS_DIR"
PROJECT_DIR = "PAY_EXACT_PROJECT_DIR"
ENVIRONMENTS_DIR = "PAY_EXACT_ENVIRONMENTS_DIR"

# This package lives in <repository>/orchestrate/pay_exact_orchestrate/.
REPOSITORY = Path(__file__).resolve().parents[2]

_WHY = {
    MELTANO_DATABASE_URI: "Meltano's system database, where every customer's bookmark is kept",
    STORE_URL: "the target's store (booking ledger, Exact tokens, run history)",
    REPORTS_DIR: "the shared folder the run reports are written to",
}


class SettingsMissing(RuntimeError):
    """A shared store is not configured; the run must not start on a private default."""


@dataclass(frozen=True, slots=True)
class OrchestrateSettings:
    meltano_database_uri: str
    store_url: str
    reports_dir: Path
    project_dir: Path
    environments_dir: Path
    secrets_dir: Path | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> OrchestrateSettings:
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = (env.get(name) or "").strip()
            if not value:
                raise SettingsMissing(
                    f"{name} is not set: it names {_WHY[name]}. A customer run does not start "
                    "without it, because its default would be a file in the run's temporary "
                    "folder, lost when the run ends (see docs/operations.md)."
                )
            return value

        project = Path(env.get(PROJECT_DIR) or REPOSITORY).resolve()
        secrets = (env.get(SECRETS_DIR) or "").strip()
        return cls(
            meltano_database_uri=required(MELTANO_DATABASE_URI),
            store_url=required(STORE_URL),
            reports_dir=Path(required(REPORTS_DIR)).resolve(),
            project_dir=project,
            environments_dir=Path(env.get(ENVIRONMENTS_DIR) or project / "environments").resolve(),
            secrets_dir=Path(secrets).resolve() if secrets else None,
        )
