"""Where Exact Online tokens live: one SQL table behind one interface, with a cross-process lock.

Exact rotates the refresh token on every refresh and refuses the old one, so the store is the
single source of truth for a connection and every refresh happens inside :meth:`TokenStore.locked`:
the lock is taken, the row re-read, and the new tokens committed before the lock is released.

- SQLite (the default, a local file created with mode 0600): the lock is a write transaction
  opened with ``BEGIN IMMEDIATE``, which other processes wait for (up to ``lock_timeout``). It
  covers the whole file, so refreshes of different keys in one file also take turns.
- PostgreSQL: a transaction-scoped advisory lock on the connection key, so the lock also works
  before the row exists; released by commit or rollback.
- Any other SQLAlchemy database: ``SELECT ... FOR UPDATE`` on the row.

Rows are keyed by the Exact country and the connection key. With a :class:`TokenCipher` the two
token columns hold Fernet ciphertext bound to that country and key (``token_cipher.py``); without
one they hold the token text, which only a SQLite file readable by its owner alone may do (the
settings refuse a shared store without a key). A row written in plain text before a key was
configured is still read, and encrypted on its next refresh or by ``rotate``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    Column,
    Double,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from target_exactonline.exact_client.countries import DEFAULT_COUNTRY
from target_exactonline.exact_client.redaction import REDACTED, register_secret
from target_exactonline.exact_client.token_cipher import (
    KEY_SETTING,
    TokenCipher,
    TokenKeyError,
    is_encrypted,
)
from target_exactonline.store_schema import create_tables

DEFAULT_TOKEN_STORE_URL = "sqlite:///.state/target-exactonline.sqlite"  # noqa: S105 - a path
DEFAULT_TABLE_NAME = "exact_oauth_tokens"
DEFAULT_TOKEN_KEY = "default"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True, slots=True)
class TokenSet:
    """One connection's tokens. Times are epoch seconds on the client's clock.

    ``expires_at`` is counted from when the token request was sent and ``issued_at`` is when its
    answer arrived, so both err on the safe side (refresh a little early, never too early).
    ``generation`` increases with every rotation, so a process can tell that another refreshed.
    """

    access_token: str
    refresh_token: str
    expires_at: float
    issued_at: float
    generation: int = 0

    def __post_init__(self) -> None:
        register_secret(self.access_token)
        register_secret(self.refresh_token)

    def seconds_left(self, now: float) -> float:
        return self.expires_at - now

    def age(self, now: float) -> float:
        return now - self.issued_at

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={REDACTED!r}, refresh_token={REDACTED!r}, "
            f"expires_at={self.expires_at}, issued_at={self.issued_at}, "
            f"generation={self.generation})"
        )

    __str__ = __repr__


class TokenSlot(Protocol):
    """A locked connection key: its stored tokens (re-read under the lock) and a way to save."""

    @property
    def current(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None:
        """Write and commit ``tokens``; this also releases the lock."""


class TokenStore(Protocol):
    """Persistent tokens per connection key, with a lock that holds across processes."""

    def load(self, key: str) -> TokenSet | None: ...

    def locked(self, key: str) -> contextlib.AbstractContextManager[TokenSlot]: ...

    def describe(self) -> str:
        """Where the tokens live, fit for messages (no password)."""
        ...


def resolve_token_key(
    config: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> str:
    """The connection key: ``token_store_key`` (or ``store_key``) from the config, else the
    Meltano environment, else ``default``.

    One Meltano environment is one customer, so its name keys that customer's connection.
    """
    explicit = config.get("token_store_key") or config.get("store_key")
    if explicit:
        return str(explicit)
    env = os.environ if environ is None else environ
    return env.get("MELTANO_ENVIRONMENT") or DEFAULT_TOKEN_KEY


class _Slot:
    def __init__(self, store: SqlTokenStore, conn: Connection, key: str) -> None:
        self._store = store
        self._conn = conn
        self._key = key
        self._current = store._read(conn, key)
        self.saved = False

    @property
    def current(self) -> TokenSet | None:
        return self._current

    def save(self, tokens: TokenSet) -> None:
        if self.saved:
            raise RuntimeError("a token slot saves once; take the lock again to save more")
        self._store._write(self._conn, self._key, tokens)
        # The commit is the durability point: the caller uses the new access token only after it.
        self._conn.commit()
        self._current = tokens
        self.saved = True


class SqlTokenStore:
    """:class:`TokenStore` on any SQLAlchemy URL (``sqlite:///path`` by default)."""

    def __init__(
        self,
        url: str = DEFAULT_TOKEN_STORE_URL,
        *,
        table_name: str = DEFAULT_TABLE_NAME,
        schema: str | None = None,
        lock_timeout: float = 120.0,
        country: str = DEFAULT_COUNTRY,
        cipher: TokenCipher | None = None,
    ) -> None:
        self.url = url
        self.lock_timeout = lock_timeout
        self.country = country
        self._cipher = cipher
        parsed = make_url(url)
        self._dialect = parsed.get_backend_name()
        self._metadata = MetaData(schema=schema)
        self.table = Table(
            table_name,
            self._metadata,
            Column("country", String(2), primary_key=True),
            Column("token_key", String(200), primary_key=True),
            Column("access_token", Text, nullable=False),
            Column("refresh_token", Text, nullable=False),
            Column("expires_at", Double, nullable=False),
            Column("issued_at", Double, nullable=False),
            Column("generation", Integer, nullable=False, default=0),
        )
        self._engine = self._create_engine(url)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    # -- engine -------------------------------------------------------------------------------

    def _create_engine(self, url: str) -> Engine:
        if self._dialect == "sqlite":
            database = make_url(url).database
            if database and database != ":memory:" and not database.startswith("file:"):
                _create_private_file(Path(database))
            engine = create_engine(url, connect_args={"timeout": self.lock_timeout})

            @event.listens_for(engine, "connect")
            def _no_implicit_transactions(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
                # Let SQLAlchemy's "begin" event decide how each transaction starts.
                dbapi_connection.isolation_level = None

            @event.listens_for(engine, "begin")
            def _begin(conn: Connection) -> None:
                locking = conn.get_execution_options().get("token_lock", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if locking else "BEGIN")

            return engine
        return create_engine(url, pool_pre_ping=True)

    def describe(self) -> str:
        shown = make_url(self.url).render_as_string(hide_password=True)
        return f"{shown} (table {self.table.fullname})"

    def close(self) -> None:
        self._engine.dispose()

    def ensure_schema(self) -> None:
        """Create the table if it is missing (safe when several processes race to do it)."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            create_tables(self._engine, self._metadata, country=self.country)
            self._schema_ready = True

    def drop_schema(self) -> None:
        self._metadata.drop_all(self._engine, checkfirst=True)
        self._schema_ready = False

    # -- reading and writing ------------------------------------------------------------------

    def load(self, key: str) -> TokenSet | None:
        self.ensure_schema()
        with self._engine.connect() as conn:
            return self._read(conn, key)

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[TokenSlot]:
        """Hold the connection's lock; yields its re-read tokens and a ``save`` that commits."""
        self.ensure_schema()
        with self._engine.connect() as conn:
            if self._dialect == "sqlite":
                conn.execution_options(token_lock=True)
            try:
                conn.begin()
                self._acquire(conn, key)
                slot = _Slot(self, conn, key)
                yield slot
            except OperationalError as exc:
                conn.rollback()
                if not _is_lock_timeout(exc):
                    raise
                raise TokenStoreLockTimeout(
                    f"could not lock the token store {self.describe()} for {key!r} within "
                    f"{self.lock_timeout:g} s: {type(exc.orig).__name__}"
                ) from exc
            except BaseException:
                conn.rollback()
                raise
            else:
                if not slot.saved:
                    conn.rollback()

    def put(self, key: str, tokens: TokenSet) -> None:
        """Store tokens for ``key`` (after a first consent), under the lock."""
        with self.locked(key) as slot:
            slot.save(tokens)

    def delete(self, key: str) -> None:
        self.ensure_schema()
        with self._engine.begin() as conn:
            conn.execute(self.table.delete().where(self._row(key)))

    def rotate(self, key: str) -> bool:
        """Re-encrypt ``key``'s tokens with the newest key (encrypting a plain-text row);
        False when there is no row. Taken under the lock, so no refresh interleaves."""
        if self._cipher is None:
            raise TokenKeyError(f"setting {KEY_SETTING!r} is needed to re-encrypt tokens")
        with self.locked(key) as slot:
            if slot.current is None:
                return False
            slot.save(slot.current)
        return True

    def _acquire(self, conn: Connection, key: str) -> None:
        if self._dialect == "postgresql":
            conn.execute(text(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._lock_id(key)})
        elif self._dialect != "sqlite":
            conn.execute(select(self.table.c.token_key).where(self._row(key)).with_for_update())

    def _lock_id(self, key: str) -> int:
        digest = hashlib.sha256(
            f"{self.table.fullname}\x00{self.country}\x00{key}".encode()
        ).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _row(self, key: str) -> ColumnElement[bool]:
        return and_(self.table.c.country == self.country, self.table.c.token_key == key)

    def _binding(self, key: str) -> str:
        return f"{self.country}/{key}"

    def _open(self, key: str, stored: str, field: str) -> str:
        if not is_encrypted(stored):
            return stored  # written before encryption was configured (see the module text)
        if self._cipher is None:
            raise TokenKeyError(
                f"the stored {field} of {self._binding(key)!r} is encrypted and setting "
                f"{KEY_SETTING!r} is not configured"
            )
        return self._cipher.decrypt(self._binding(key), stored, field=field)

    def _seal(self, key: str, token: str) -> str:
        return token if self._cipher is None else self._cipher.encrypt(self._binding(key), token)

    def _read(self, conn: Connection, key: str) -> TokenSet | None:
        row = conn.execute(select(self.table).where(self._row(key))).first()
        if row is None:
            return None
        return TokenSet(
            access_token=self._open(key, row.access_token, "access token"),
            refresh_token=self._open(key, row.refresh_token, "refresh token"),
            expires_at=float(row.expires_at),
            issued_at=float(row.issued_at),
            generation=int(row.generation),
        )

    def _write(self, conn: Connection, key: str, tokens: TokenSet) -> None:
        values = {
            "access_token": self._seal(key, tokens.access_token),
            "refresh_token": self._seal(key, tokens.refresh_token),
            "expires_at": tokens.expires_at,
            "issued_at": tokens.issued_at,
            "generation": tokens.generation,
        }
        updated = conn.execute(self.table.update().where(self._row(key)).values(**values))
        if updated.rowcount == 0:
            conn.execute(self.table.insert().values(country=self.country, token_key=key, **values))


class TokenStoreLockTimeout(RuntimeError):
    """Another process held the token lock for longer than ``lock_timeout``."""


def _is_lock_timeout(exc: OperationalError) -> bool:
    # SQLite: "database is locked"; PostgreSQL: SQLSTATE 55P03 lock_not_available.
    if getattr(exc.orig, "sqlstate", None) == "55P03":
        return True
    return "database is locked" in str(exc.orig)


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (it holds refresh tokens)."""
    if path.exists():
        # A file another part created (the booking ledger shares it by default): tighten it.
        if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
            path.chmod(0o600)
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)


def next_generation(current: TokenSet | None, new: TokenSet) -> TokenSet:
    """``new`` numbered one past ``current``."""
    return replace(new, generation=(current.generation + 1) if current else 0)
