"""Creating and upgrading the store's tables when several runs share one database.

PostgreSQL's ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent creator: two
customers' first runs starting together against a fresh shared store both pass the existence
check and one fails on the catalog's unique index (``pg_type_typname_nsp_index``). The tables
are therefore created under a transaction-scoped advisory lock, so creators queue and the later
ones find the tables there.

Every row is keyed by the Exact country as well as the division (the same division number exists
in several countries). Stores written before the country was part of the key are upgraded on
first open, under the same lock: a ``country`` column is added whose default, which the existing
rows take, is the country of the run that opens the store first. On PostgreSQL the primary key is
then rebuilt to include the country; a SQLite file keeps its old primary key (SQLite cannot change
one in place), which is harmless for the one customer such a file serves.
"""

from __future__ import annotations

from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Connection, Engine

from target_exactonline.exact_client.countries import EXACT_HOSTS

# One arbitrary, fixed 64-bit key for "pay-exact creates its store tables"; every store shares
# it, since creating them is rare and quick.
_SCHEMA_LOCK_KEY = 0x7061_7965_7861_6374  # "payexact"
COUNTRY_COLUMN = "country"


def create_tables(engine: Engine, metadata: MetaData, *, country: str) -> None:
    """Create ``metadata``'s missing tables and add the country key to older ones.

    Concurrent callers on PostgreSQL wait their turn.
    """
    if country not in EXACT_HOSTS:  # it becomes an SQL literal below
        raise ValueError(f"unknown Exact country {country!r}")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
        metadata.create_all(conn, checkfirst=True)
        for table in metadata.sorted_tables:
            if COUNTRY_COLUMN in table.c:
                _add_country(conn, table, country)


def _add_country(conn: Connection, table: Table, country: str) -> None:
    """Give a table from before the country key its ``country`` column (and, on PostgreSQL, its
    primary key); a table that has them is left alone."""
    name, schema = table.name, table.schema
    inspector = inspect(conn)
    columns = {c["name"] for c in inspector.get_columns(name, schema=schema)}
    preparer = conn.dialect.identifier_preparer
    qualified = preparer.format_table(table)
    if COUNTRY_COLUMN not in columns:
        conn.execute(
            text(
                f"ALTER TABLE {qualified} ADD COLUMN {COUNTRY_COLUMN} VARCHAR(2) "
                f"NOT NULL DEFAULT '{country}'"
            )
        )
    if conn.dialect.name != "postgresql":
        return
    wanted = [c.name for c in table.primary_key.columns]
    current = inspector.get_pk_constraint(name, schema=schema)
    if COUNTRY_COLUMN in wanted and COUNTRY_COLUMN not in (
        current.get("constrained_columns") or []
    ):
        drop = f"DROP CONSTRAINT {preparer.quote(current['name'])}, " if current.get("name") else ""
        keys = ", ".join(preparer.quote(c) for c in wanted)
        conn.execute(text(f"ALTER TABLE {qualified} {drop}ADD PRIMARY KEY ({keys})"))
