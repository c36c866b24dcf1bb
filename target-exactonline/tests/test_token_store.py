"""The token store on SQLite and PostgreSQL: persistence, the cross-process lock, file mode."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from target_exactonline.exact_client.redaction import REDACTED
from target_exactonline.exact_client.testing import require_postgres_url, unique_table_name
from target_exactonline.exact_client.token_store import (
    SqlTokenStore,
    TokenSet,
    TokenStoreLockTimeout,
    resolve_token_key,
)


def _tokens(n: int = 0) -> TokenSet:
    return TokenSet(
        access_token=f"access-token-{n:04d}-xxxxxxxx",
        refresh_token=f"refresh-token-{n:04d}-xxxxxxxx",
        expires_at=1_800_000_600.0 + n,
        issued_at=1_800_000_000.0 + n,
        generation=n,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    table = unique_table_name()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state' / 'tokens.sqlite'}"
    else:
        url = require_postgres_url()
    yield url, table
    cleanup = SqlTokenStore(url, table_name=table)
    cleanup.drop_schema()
    cleanup.close()


@pytest.fixture
def store(store_spec: tuple[str, str]) -> Iterator[SqlTokenStore]:
    url, table = store_spec
    s = SqlTokenStore(url, table_name=table, lock_timeout=5)
    yield s
    s.close()


def test_put_and_load_round_trip(store: SqlTokenStore) -> None:
    assert store.load("acme") is None
    store.put("acme", _tokens(1))
    store.put("other", _tokens(7))
    assert store.load("acme") == _tokens(1)
    store.put("acme", _tokens(2))
    assert store.load("acme") == _tokens(2)
    assert store.load("other") == _tokens(7)
    store.delete("acme")
    assert store.load("acme") is None


def test_locked_slot_commits_on_save_and_rolls_back_otherwise(store: SqlTokenStore) -> None:
    store.put("acme", _tokens(1))
    with store.locked("acme") as slot:
        assert slot.current == _tokens(1)
        slot.save(_tokens(2))
        # Durable before the block ends: a second connection sees it at once.
        assert store.load("acme") == _tokens(2)
        with pytest.raises(RuntimeError, match="saves once"):
            slot.save(_tokens(3))
    with pytest.raises(KeyError), store.locked("acme"):
        raise KeyError("boom")
    with store.locked("acme") as slot:
        assert slot.current == _tokens(2)
    assert store.load("acme") == _tokens(2)


def test_repr_never_shows_tokens() -> None:
    tokens = _tokens(3)
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in str(tokens)
    assert REDACTED in repr(tokens)


_HOLDER = textwrap.dedent(
    """
    import sys
    from target_exactonline.exact_client.token_store import SqlTokenStore, TokenSet
    store = SqlTokenStore(sys.argv[1], table_name=sys.argv[2])
    with store.locked("acme") as slot:
        print("locked", slot.current.generation, flush=True)
        sys.stdin.readline()
        slot.save(TokenSet("held-access-token-xyz", "held-refresh-token-xyz", 2e9, 1.9e9, 9))
    print("released", flush=True)
    """
)


def test_lock_holds_across_processes(store_spec: tuple[str, str]) -> None:
    url, table = store_spec
    store = SqlTokenStore(url, table_name=table, lock_timeout=0.5)
    store.put("acme", _tokens(1))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url, table],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().split() == ["locked", "1"]
        # While the other process holds the lock, this one cannot take it ...
        with pytest.raises(TokenStoreLockTimeout, match="could not lock"), store.locked("acme"):
            pass
        if url.startswith("postgresql"):
            # ... while another key is not blocked (SQLite locks the whole file).
            with store.locked("other") as slot:
                assert slot.current is None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        assert holder.wait(timeout=30) == 0
        # Once released, the lock is free and the holder's commit is what we read.
        with store.locked("acme") as slot:
            assert slot.current is not None
            assert slot.current.generation == 9
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=30)
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()
        store.close()


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "tokens.sqlite"
    store = SqlTokenStore(f"sqlite:///{path}")
    store.put("acme", _tokens(1))
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    shared = tmp_path / "ledger.sqlite"
    shared.touch(mode=0o644)
    os.chmod(shared, 0o644)
    SqlTokenStore(f"sqlite:///{shared}").close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o600


def test_describe_hides_the_password() -> None:
    store = SqlTokenStore("postgresql+psycopg://app:hunter2-password@db.example:5432/pay")
    assert "hunter2-password" not in store.describe()
    assert "db.example" in store.describe()
    store.close()


def test_resolve_token_key() -> None:
    assert resolve_token_key({"token_store_key": "acme"}, {"MELTANO_ENVIRONMENT": "x"}) == "acme"
    assert resolve_token_key({"store_key": "shop"}, {}) == "shop"
    assert resolve_token_key({}, {"MELTANO_ENVIRONMENT": "bakery"}) == "bakery"
    assert resolve_token_key({}, {}) == "default"
