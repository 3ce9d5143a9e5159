"""The import hot path: many rows, one statement, conflicts skipped and counted.

SQLAlchemy's per-row bind processing costs more than the database does at
this volume, so rows arrive here already in their bound form (see
`types.encode_utc`) and go straight to the DB-API `executemany`.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


def insert_or_skip(conn: Connection, table: Table) -> PgInsert | SqliteInsert:
    """`INSERT … ON CONFLICT DO NOTHING` for the connection's database (add values or RETURNING)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_ignoring_conflicts(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> int:
    """Insert rows, skipping any that violate a unique constraint; return how many went in."""
    if not rows:
        return 0
    placeholder = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))}) ON CONFLICT DO NOTHING"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open inside a transaction
    try:
        cursor.executemany(sql, rows)
        # sqlite3 and psycopg 3 both report the total rows changed by executemany.
        return int(cursor.rowcount)
    finally:
        cursor.close()


def upsert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert rows, or update every non-key column where the key exists (rows in bound form)."""
    if not rows:
        return
    placeholder = "?" if conn.dialect.name == "sqlite" else "%s"
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open inside a transaction
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def update_integer_columns(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Sequence[tuple[int, ...]],
) -> None:
    """Set integer `columns` of the rows matching integer `keys`; each row is (*columns, *keys).
    Rows matching nothing change nothing. PostgreSQL gets one statement over arrays, SQLite
    one prepared statement run per row (both in the caller's transaction)."""
    if not rows:
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open inside a transaction
    try:
        if conn.dialect.name == "postgresql":
            names = [*columns, *keys]
            arrays = ", ".join(["%s::bigint[]"] * len(names))
            assignments = ", ".join(f"{c} = v.{c}" for c in columns)
            match = " AND ".join(f"t.{k} = v.{k}" for k in keys)
            cursor.execute(
                f"UPDATE {table.name} AS t SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)})"
                f" WHERE {match}",
                [list(values) for values in zip(*rows, strict=True)],
            )
        else:
            assignments = ", ".join(f"{c} = ?" for c in columns)
            match = " AND ".join(f"{k} = ?" for k in keys)
            cursor.executemany(f"UPDATE {table.name} SET {assignments} WHERE {match}", rows)
    finally:
        cursor.close()
