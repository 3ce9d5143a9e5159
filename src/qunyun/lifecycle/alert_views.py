"""Alerts raised from what members wrote (docs/text.md): listing and acknowledging them."""

from typing import Any

from sqlalchemy import Connection, func, select, update

from qunyun.errors import NotFoundError
from qunyun.store.tables import alerts, communities


def list_alerts(
    conn: Connection, workspace_id: int, status: str = "open", kind: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Newest first; `status` open, acknowledged or all."""
    query = (
        select(
            alerts.c.id,
            communities.c.external_id.label("community"),
            alerts.c.kind,
            alerts.c.severity,
            alerts.c.member_id,
            alerts.c.activity_id,
            alerts.c.detail,
            alerts.c.occurred_at,
            alerts.c.status,
        )
        .join(communities, communities.c.id == alerts.c.community_id)
        .where(alerts.c.workspace_id == workspace_id)
        .order_by(alerts.c.occurred_at.desc(), alerts.c.id.desc())
        .limit(limit)
    )
    if status != "all":
        query = query.where(alerts.c.status == status)
    if kind:
        query = query.where(alerts.c.kind == kind)
    return [dict(r._mapping) for r in conn.execute(query)]


def open_alert_counts(conn: Connection, workspace_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(alerts.c.kind, func.count())
        .where(alerts.c.workspace_id == workspace_id, alerts.c.status == "open")
        .group_by(alerts.c.kind)
    )
    return {kind: int(n) for kind, n in rows}


def acknowledge(conn: Connection, workspace_id: int, alert_id: int) -> bool:
    """True if it was open; NotFoundError if the workspace has no such alert."""
    exists = conn.execute(
        select(alerts.c.status).where(alerts.c.id == alert_id, alerts.c.workspace_id == workspace_id)
    ).scalar()
    if exists is None:
        raise NotFoundError(f"no alert {alert_id}", code="alert.not_found")
    done = conn.execute(
        update(alerts).where(alerts.c.id == alert_id, alerts.c.status == "open").values(status="acknowledged")
    )
    return bool(done.rowcount)
