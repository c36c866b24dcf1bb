"""Creating the store's tables when several runs share one database.

PostgreSQL's ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent creator: two
customers' first runs starting together against a fresh shared store both pass the existence
check and one fails on the catalog's unique index (``pg_type_typname_nsp_index``). The tables
are therefore created under a transaction-scoped advisory lock, so creators queue and the later
ones find the tables there.
"""

from __future__ import annotations

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

# One arbitrary, fixed 64-bit key for "pay-exact creates its store tables"; every store shares
# it, since creating them is rare and quick.
_SCHEMA_LOCK_KEY = 0x7061_7965_7861_6374  # "payexact"


def create_tables(engine: Engine, metadata: MetaData) -> None:
    """Create ``metadata``'s missing tables; concurrent callers on PostgreSQL wait their turn."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
        metadata.create_all(conn, checkfirst=True)
