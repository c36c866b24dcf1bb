"""Many customers on Dagster, on this machine: ``bin/dev orchestrate``.

1. installs the Meltano plugins (as ``bin/dev demo`` does),
2. starts a handful of demo customers, generated merchants on one multi-customer Pay. and Exact
   sandbox pair, each with an environment file, an owner-only secrets file and an Exact consent,
3. prepares the shared stores: a PostgreSQL database when a server answers (the
   ``PAY_EXACT_DEMO_POSTGRES_URL`` or the local one), else SQLite files and one run at a time,
4. starts Dagster's UI and daemon (``dagster dev``) with this project's definitions and says where
   to look. Ctrl-C stops everything.

Every start begins afresh (new sandboxes, new stores) in ``.state/orchestrate/``. Options:
  --customers N   how many demo customers (default 3)
  --port P        Dagster's UI port (default 3000)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml
from pay_exact_orchestrate.bytecode import compile_plugins
from pay_exact_orchestrate.customer_run import prepare_system_database
from pay_exact_orchestrate.sandbox_customers import (
    start_customer_sandboxes,
    start_sandbox_customer,
)
from pay_exact_orchestrate.settings import OrchestrateSettings

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
STATE = ROOT / ".state" / "orchestrate"
DEMO_DATABASE = "pay_exact_orchestrate_demo"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BARE_PREFIXES = ("TAP_PAY_", "TARGET_EXACTONLINE_", "MELTANO_", "PAY_EXACT_", "DAGSTER_")


def say(text: str = "") -> None:
    print(f"[orchestrate] {text}" if text else "", flush=True)


def postgres_database() -> str | None:
    """A fresh demo database on the PostgreSQL server, or None when none answers."""
    url = sa.engine.make_url(os.environ.get("PAY_EXACT_DEMO_POSTGRES_URL") or LOCAL_POSTGRES)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{DEMO_DATABASE}"'))
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        admin.dispose()
    return url.set(database=DEMO_DATABASE).render_as_string(hide_password=False)


def dagster_home(shared_postgres: bool) -> Path:
    """The shipped dagster.yaml's queue limits; Dagster's own storage stays in the folder."""
    home = STATE / "dagster"
    home.mkdir(parents=True)
    shipped = yaml.safe_load((ROOT / "orchestrate" / "dagster.yaml").read_text())
    instance = {k: v for k, v in shipped.items() if k != "storage"}
    if not shared_postgres:
        # SQLite stores take one writer at a time: one booking run at a time.
        instance["run_coordinator"]["config"]["max_concurrent_runs"] = 1
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
    return home


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3)
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(BARE_PREFIXES)}
    base_env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    say("installing the Meltano plugins (quick after the first time) ...")
    subprocess.run(
        [str(BIN / "meltano"), "install"],
        cwd=ROOT,
        env=base_env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    database = postgres_database()
    if database is None:
        say("no PostgreSQL answered: SQLite files in .state/orchestrate/, one run at a time")
        meltano_db = f"sqlite:///{STATE / 'meltano.db'}"
        store = f"sqlite:///{STATE / 'pay-exact-store.sqlite'}"
    else:
        say(f"shared stores in PostgreSQL database {DEMO_DATABASE}")
        meltano_db = store = database
    settings = OrchestrateSettings(
        meltano_database_uri=meltano_db,
        store_url=store,
        reports_dir=STATE / "reports",
        project_dir=ROOT,
        environments_dir=STATE / "environments",
        secrets_dir=STATE / "secrets",
    )
    say(f"starting {args.customers} demo customers on one Pay. and one Exact sandbox ...")
    sandboxes = start_customer_sandboxes()
    try:
        for i in range(args.customers):
            customer = start_sandbox_customer(
                f"shop{i + 1}",
                seed=500 + i,
                division=400001 + i,
                country=("nl", "be")[i % 2],  # customers in two Exact countries
                environments_dir=settings.environments_dir,
                secrets_dir=settings.secrets_dir or STATE / "secrets",
                store_url=store,
                sandboxes=sandboxes,
                days=2 + i % 3,
            )
            say(
                f"  {customer.name}: {len(customer.clearing_ids)} clearings to book, "
                f"Exact division {customer.exact.division}"
            )
        say(f"  Pay. sandbox {sandboxes.pay_url}, Exact sandbox {sandboxes.exact_url}")
        say(f"  booked keys and duplicates per customer: {sandboxes.exact_url}/_admin/customers")
        prepare_system_database(settings, base_environ=base_env)
        compile_plugins(ROOT)
        env = {
            **base_env,
            "DAGSTER_HOME": str(dagster_home(database is not None)),
            "MELTANO_DATABASE_URI": meltano_db,
            "PAY_EXACT_STORE_URL": store,
            "PAY_EXACT_REPORTS_DIR": str(settings.reports_dir),
            "PAY_EXACT_SECRETS_DIR": str(settings.secrets_dir),
            "PAY_EXACT_PROJECT_DIR": str(ROOT),
            "PAY_EXACT_ENVIRONMENTS_DIR": str(settings.environments_dir),
        }
        url = f"http://127.0.0.1:{args.port}"
        say()
        say(f"Dagster's UI: {url}  (Ctrl-C stops Dagster and the sandboxes)")
        say("  - the sensor customers_sensor adds one partition per customer within a minute")
        say(f"  - {url}/assets/customer_booking: Materialize all partitions books every customer")
        say("    (a backfill: at most 4 runs at once, never two of one customer)")
        say("  - each run's metadata: clearings booked, blocked, failed, Exact calls, report")
        say(f"  - reports: {settings.reports_dir.relative_to(ROOT)}/<customer>/")
        say(
            f"  - one customer without Dagster: env $(cat {STATE.relative_to(ROOT)}/run.env) "
            ".venv/bin/pay-exact-run-customer shop1"
        )
        run_env = STATE / "run.env"
        run_env.touch(mode=0o600)
        run_env.write_text(" ".join(f"{k}={v}" for k, v in env.items() if k not in base_env) + "\n")
        say()
        dagster = subprocess.Popen(
            [
                str(BIN / "dagster"),
                "dev",
                "-m",
                "pay_exact_orchestrate.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(args.port),
            ],
            cwd=STATE,
            env=env,
        )
        try:
            return dagster.wait()
        finally:
            if dagster.poll() is None:
                dagster.send_signal(signal.SIGINT)
                try:
                    dagster.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    dagster.kill()
    finally:
        sandboxes.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
