"""Who is in a community now, by the latest join or leave of each platform account."""

from sqlalchemy import Connection, and_, func, select

from qunyun.store.tables import activities, communities, identities


def present_accounts(conn: Connection, workspace_id: int, platform: str, community: str) -> set[str]:
    """External ids whose latest join/leave activity in `community` is a join."""
    latest = (
        select(
            activities.c.identity_id,
            activities.c.kind,
            func.row_number()
            .over(
                partition_by=activities.c.identity_id,
                order_by=(activities.c.occurred_at.desc(), activities.c.id.desc()),
            )
            .label("rank"),
        )
        .join(communities, communities.c.id == activities.c.community_id)
        .where(
            communities.c.workspace_id == workspace_id,
            communities.c.platform == platform,
            communities.c.external_id == community,
            activities.c.kind.in_(("join", "leave")),
        )
        .subquery()
    )
    rows = conn.execute(
        select(identities.c.external_id)
        .join(latest, and_(latest.c.identity_id == identities.c.id, latest.c.rank == 1))
        .where(latest.c.kind == "join")
    )
    return {str(external_id) for external_id in rows.scalars()}
