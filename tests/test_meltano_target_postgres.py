"""tap-pay into a third-party, SDK-based warehouse loader: ``meltano run tap-pay target-postgres``.

MeltanoLabs' target-postgres, declared in the project's ``meltano.yml`` as an ordinary loader and
installed from the package registry by ``meltano install``, loads into the PostgreSQL server the
tests use, in a schema of its own per test run (dropped afterwards). What a data engineer would
check in SQL: every stream arrived, the money adds up to the cent as ``numeric``, dates are
dates and flags booleans, and a second run, whose look-back reads everything again, adds no row.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pay_exact_sandbox.generator import GeneratorParams, RevenueGroup
from pay_exact_sandbox.pay.sandbox import PaySandbox
from sqlalchemy import Engine, create_engine, make_url, text
from target_exactonline.exact_client.testing import require_postgres_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"
BARE_PREFIXES = ("TAP_PAY_", "TARGET_POSTGRES_", "MELTANO_")
STREAMS = (
    "settlements",
    "clearings",
    "clearing_lines",
    "clearing_records",
    "transactions",
    "invoice_lines",
    "turnover_groups",
)
KEYS = {
    "settlements": ("code",),
    "clearings": ("clearingId",),
    "clearing_lines": ("code",),
    "clearing_records": ("clearingId", "reportingId"),
    "transactions": ("id",),
    "invoice_lines": ("code",),
    "turnover_groups": ("code",),
}
MERCHANT = GeneratorParams(
    seed=1313,
    days=6,
    clearings_per_day=2,
    payments_per_clearing=(3, 8),
    revenue_groups=(RevenueGroup("Webshop", "woocommerce"), RevenueGroup("Winkel", "lightspeed")),
)


def meltano(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(MELTANO), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"meltano {' '.join(args)} failed:\n{result.stderr[-4000:]}"
    return result


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(BARE_PREFIXES)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's own meltano.yml with the two plugins this test runs installed."""
    path = tmp_path_factory.mktemp("pay-exact-warehouse")
    shutil.copytree(
        ROOT / "tap-pay",
        path / "tap-pay",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "tests"),
    )
    shutil.copytree(ROOT / "environments", path / "environments")
    text_ = (ROOT / "meltano.yml").read_text()
    (path / "meltano.yml").write_text(
        re.sub(r"(?m)^project_id: .*$", f"project_id: {uuid.uuid4()}", text_)
    )
    meltano(path, "install", "tap-pay", "target-postgres", env=clean_environ())
    return path


@pytest.fixture
def warehouse() -> Iterator[tuple[Engine, str]]:
    """An engine on the test server and a schema name no parallel run shares."""
    engine = create_engine(require_postgres_url())
    schema = f"tap_pay_{uuid.uuid4().hex[:12]}"
    yield engine, schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def loader_env(engine: Engine, schema: str) -> dict[str, str]:
    url = make_url(engine.url)
    return {
        "TARGET_POSTGRES_HOST": url.host or "127.0.0.1",
        "TARGET_POSTGRES_PORT": str(url.port or 5432),
        "TARGET_POSTGRES_USER": url.username or "postgres",
        "TARGET_POSTGRES_PASSWORD": url.password or "",
        "TARGET_POSTGRES_DATABASE": url.database or "postgres",
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
    }


def cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def test_every_stream_lands_in_postgres_exact_typed_and_once(
    project: Path,
    pay_sandbox_factory: Callable[..., PaySandbox],
    warehouse: tuple[Engine, str],
) -> None:
    engine, schema = warehouse
    pay_sandbox = pay_sandbox_factory(MERCHANT)
    pay = pay_sandbox.merchant.pay
    env = {
        **clean_environ(),
        **loader_env(engine, schema),
        "PAY_SANDBOX_API_URL": pay_sandbox.api_url,
        "DEMO_PAY_TOKEN_CODE": pay_sandbox.token_code,
        "DEMO_PAY_API_TOKEN": pay_sandbox.api_token,
        "TAP_PAY_ENRICH_TRANSACTIONS": "true",
        # Long enough that the second run's look-back reads every settlement again.
        "TAP_PAY_LOOKBACK_DAYS": "30",
    }
    run = meltano(project, "--environment=demo", "run", "tap-pay", "target-postgres", env=env)

    def query(sql: str, **params: str) -> list[tuple]:
        # The SQL names only this test's own schema and the tap's streams and keys.
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def counts() -> dict[str, int]:
        return {s: query(f'SELECT count(*) FROM "{schema}"."{s}"')[0][0] for s in STREAMS}  # noqa: S608

    # Every stream arrived, with every record Pay. has.
    expected = {
        "settlements": len(pay["settlements"]),
        "clearings": sum(len(s["clearings"]) for s in pay["settlements"]),
        "clearing_lines": sum(
            len(c["clearingLines"]) for s in pay["settlements"] for c in s["clearings"]
        ),
        "clearing_records": len(pay["clearingRecords"]),
        "transactions": len({r["orderId"] for r in pay["clearingRecords"]}),
        "invoice_lines": len(pay["invoiceLines"]),
        "turnover_groups": len(pay["turnoverGroups"]),
    }
    assert counts() == expected

    # Per clearing, the payments add up to Pay.'s amounts to the cent, as numeric, not float.
    by_clearing: Counter[str] = Counter()
    for record in pay["clearingRecords"]:
        by_clearing[record["clearingId"]] += record["amount"]["value"]
    sums = dict(
        query(f'SELECT "clearingId", sum(amount) FROM "{schema}".clearing_records GROUP BY 1')  # noqa: S608
    )
    assert sums == {clearing: cents(value) for clearing, value in by_clearing.items()}
    assert all(type(value) is Decimal for value in sums.values())
    lines: Counter[str] = Counter()
    for settlement in pay["settlements"]:
        for clearing in settlement["clearings"]:
            for line in clearing["clearingLines"]:
                value = line["amount"]["value"]
                debit = line["clearingLineType"]["direction"] == "DEBIT"  # lowers the payout
                lines[clearing["clearingId"]] += -abs(value) if debit else value
    net = dict(query(f'SELECT "clearingId", amount FROM "{schema}".clearings'))  # noqa: S608
    assert net == {clearing: cents(value) for clearing, value in lines.items()}

    # Dates are dates, timestamps timestamps, money numeric, flags booleans.
    types = dict(
        ((table, column), data_type)
        for table, column, data_type in query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :schema",
            schema=schema,
        )
    )
    assert types[("settlements", "settlementDate")] == "date"
    assert types[("invoice_lines", "date")] == "date"
    assert types[("clearing_records", "transactionDate")] == "timestamp without time zone"
    for table, column in [
        ("settlements", "amount"),
        ("clearings", "amount"),
        ("clearing_lines", "amount"),
        ("clearing_records", "amount"),
        ("invoice_lines", "totalCosts"),
        ("transactions", "amount"),
    ]:
        assert types[(table, column)] == "numeric", (table, column)
    assert types[("clearing_lines", "collecting")] == "boolean"
    assert types[("turnover_groups", "default")] == "boolean"
    assert types[("clearings", "lineCount")] == "bigint"

    # A second run re-reads the look-back window (every settlement here) and adds no row.
    pay_sandbox.admin.log.clear()
    meltano(project, "--environment=demo", "run", "tap-pay", "target-postgres", env=env)
    assert pay_sandbox.requests("/v2/clearings/CLEARING"), "the second run re-read nothing"
    assert counts() == expected
    for stream, key in KEYS.items():
        columns = ", ".join(f'"{column}"' for column in key)
        (distinct,) = query(f'SELECT count(DISTINCT ({columns}, 1)) FROM "{schema}"."{stream}"')  # noqa: S608
        assert distinct[0] == expected[stream], stream

    assert pay_sandbox.api_token not in run.stdout + run.stderr
