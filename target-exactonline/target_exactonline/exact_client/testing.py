"""Helpers for tests of code that uses the Exact client (a driven clock, a PostgreSQL URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

POSTGRES_URL_ENV = "PAY_EXACT_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "PAY_EXACT_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class ManualClock:
    """A clock that moves only when told: pass ``clock.now`` as clock and ``clock.sleep`` as
    sleep, and every wait the code under test makes advances it instead of blocking."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def postgres_url() -> tuple[str | None, str]:
    """The test PostgreSQL URL when a server answers, else None and the reason."""
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except (SQLAlchemyError, ImportError) as exc:
        return None, f"no PostgreSQL at {url} ({type(exc).__name__}); set {POSTGRES_URL_ENV}"
    return url, ""


def require_postgres_url() -> str:
    """The URL, or skip the calling test with the reason (fail instead when CI requires it)."""
    import pytest  # noqa: PLC0415 - only tests call this

    url, reason = postgres_url()
    if url is None:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"PostgreSQL is required ({REQUIRE_POSTGRES_ENV}=1) but {reason}")
        pytest.skip(reason)
    return url


def unique_table_name(prefix: str = "t") -> str:
    """A table name no parallel test run shares."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}_exact_oauth_tokens"


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database named ``<prefix>_<random>``, dropped afterwards.

    Skips the calling test without a server (fails instead when CI requires one)."""
    import pytest  # noqa: PLC0415 - only tests call this

    base = os.environ.get(POSTGRES_URL_ENV, "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except SQLAlchemyError as exc:
        admin.dispose()
        if os.environ.get(REQUIRE_POSTGRES_ENV):
            raise
        pytest.skip(f"no PostgreSQL server reachable at {base}: {exc}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
