"""Where each live connector has read up to; written inside the transaction of what it read."""

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from qunyun.store.bulk import upsert_rows
from qunyun.store.tables import connector_cursors
from qunyun.store.types import encode_utc


def load_cursor(engine: Engine, workspace_id: int, connector: str) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(
            select(connector_cursors.c.cursor).where(
                connector_cursors.c.workspace_id == workspace_id, connector_cursors.c.connector == connector
            )
        ).scalar()
    return None if found is None else str(found)


def save_cursor(conn: Connection, workspace_id: int, connector: str, cursor: str, now: datetime) -> None:
    row = (workspace_id, connector, cursor, encode_utc(now, conn.dialect.name))
    columns = ("workspace_id", "connector", "cursor", "updated_at")
    upsert_rows(conn, connector_cursors, columns, ("workspace_id", "connector"), [row])
