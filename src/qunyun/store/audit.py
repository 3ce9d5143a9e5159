"""The audit log: every operator write and every personal-data read leaves a row."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from qunyun.store.tables import audit_log


def record(
    conn: Connection,
    *,
    workspace_id: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            workspace_id=workspace_id,
            at=at,
            actor=actor,
            action=action,
            target=target,
            detail=detail or {},
        )
    )
