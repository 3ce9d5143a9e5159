"""Workspaces (tenants) and communities: found or created by their natural keys."""

from datetime import datetime

from sqlalchemy import Connection, insert, select

from qunyun.store.tables import communities, workspaces


def ensure_workspace(conn: Connection, slug: str, now: datetime) -> int:
    found = conn.execute(select(workspaces.c.id).where(workspaces.c.slug == slug)).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(insert(workspaces).values(slug=slug, name=slug, created_at=now))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def ensure_community(
    conn: Connection,
    workspace_id: int,
    platform: str,
    external_id: str,
    name: str | None,
    now: datetime,
) -> int:
    row = conn.execute(
        select(communities.c.id, communities.c.name).where(
            communities.c.workspace_id == workspace_id,
            communities.c.platform == platform,
            communities.c.external_id == external_id,
        )
    ).first()
    if row is not None:
        if name and row.name != name:
            conn.execute(communities.update().where(communities.c.id == row.id).values(name=name))
        return int(row.id)
    result = conn.execute(
        insert(communities).values(
            workspace_id=workspace_id,
            platform=platform,
            external_id=external_id,
            name=name,
            created_at=now,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])
