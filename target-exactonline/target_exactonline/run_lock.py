"""One booking run per Exact division (of one Exact country) at a time.

Two runs for the same division at once (a schedule overlapping a slow run, a manual run beside
the nightly one) would both read the same clearings, both find them unbooked in Exact and in
the ledger, and both post them. So the booking part of a run holds a lock on its division in
the target's store. A second run waits for it, and then finds in the ledger what the first run
booked (it books nothing twice and makes no Exact call for it); after ``wait_seconds`` it gives
up with a clear message, books nothing and writes no state, so Meltano keeps the previous one.
The second run takes no token either until it holds the lock, so it cannot spend a refresh
token the first run is about to use.

The lock goes away with its process, also when that is killed (SIGKILL, power cut):

- SQLite file (the default store): an OS file lock (``flock``) on
  ``<database>.run-<country>-<division>.lock`` beside the database file;
- PostgreSQL: a session advisory lock held on its own connection for the run;
- any other database, or an in-memory one: no lock between processes (a warning says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from target_exactonline.exact_client.countries import DEFAULT_COUNTRY

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

DEFAULT_WAIT_S = 600.0
POLL_S = 0.25


class RunLocked(RuntimeError):
    """Another run for the same division held the lock for longer than this run waits."""


def lock_file_for(store_url: str, division: int, country: str = DEFAULT_COUNTRY) -> Path | None:
    """The lock file of a SQLite store, or None when the store is not a SQLite file."""
    url = make_url(store_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return path.with_name(f"{path.name}.run-{country}-{division}.lock")


@contextlib.contextmanager
def run_lock(
    store_url: str,
    *,
    division: int,
    logger: logging.Logger,
    country: str = DEFAULT_COUNTRY,
    wait_seconds: float = DEFAULT_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the division's run lock for the enclosed block; raises RunLocked after waiting."""
    backend = make_url(store_url).get_backend_name()
    if backend == "postgresql":
        with _postgres_lock(store_url, division, country, logger, wait_seconds, sleep=sleep):
            yield
        return
    path = lock_file_for(store_url, division, country)
    if path is None or fcntl is None:
        logger.warning(
            "Runs for division %s are not kept apart: the store %s is not a SQLite file or "
            "PostgreSQL; make sure only one run per division happens at a time",
            division,
            make_url(store_url).render_as_string(hide_password=True),
        )
        yield
        return
    with _file_lock(path, division, logger, wait_seconds, sleep):
        yield


def _waited_too_long(division: int, wait_seconds: float, holder: str) -> RunLocked:
    return RunLocked(
        f"another run for Exact division {division} is still booking{holder}; this run waited "
        f"{wait_seconds:g} s and stopped without booking anything. Nothing is lost: the state "
        "is unchanged, and the next run books whatever the other run did not."
    )


@contextlib.contextmanager
def _file_lock(
    path: Path,
    division: int,
    logger: logging.Logger,
    wait_seconds: float,
    sleep: Callable[[float], None],
) -> Iterator[None]:
    assert fcntl is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if time.monotonic() >= deadline:
                    raise _waited_too_long(division, wait_seconds, holder) from None
                if not told:
                    logger.warning(
                        "Another run for Exact division %s is booking%s; waiting for it (at "
                        "most %g s)",
                        division,
                        holder,
                        wait_seconds,
                    )
                    told = True
                sleep(POLL_S)
        # Who holds it, for the message another run shows while it waits.
        os.ftruncate(fd, 0)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.pwrite(fd, f"process {os.getpid()} since {stamp}".encode(), 0)
        if told:
            logger.info("The other run for division %s has finished; this run goes on", division)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        text_ = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    return f" ({text_})" if text_ else ""


def _lock_key(division: int, country: str) -> int:
    digest = hashlib.sha256(f"pay-exact-run\x00{country}\x00{division}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _postgres_lock(
    store_url: str,
    division: int,
    country: str,
    logger: logging.Logger,
    wait_seconds: float,
    *,
    sleep: Callable[[float], None],
) -> Iterator[None]:
    # A connection of its own, outside any pool: the lock lives exactly as long as it does.
    engine = create_engine(store_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    key = _lock_key(division, country)
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + wait_seconds
            told = False
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                if time.monotonic() >= deadline:
                    raise _waited_too_long(division, wait_seconds, "")
                if not told:
                    logger.warning(
                        "Another run for Exact division %s is booking; waiting for it (at most "
                        "%g s)",
                        division,
                        wait_seconds,
                    )
                    told = True
                sleep(POLL_S)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        engine.dispose()
