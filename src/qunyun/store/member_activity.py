"""Activities that Qunyun itself records for a member (a check-in, a redeemed coupon,
a survey answer …), written in the caller's transaction so the effect and its
activity commit together.

An activity row needs an identity and a community. The member's identity on
the community's platform is used; without a community, the community where the
member was last seen. The idempotency key is the action's own key, hashed, so a
replayed action records nothing new.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.domain import ActivityKind
from qunyun.errors import NotFoundError
from qunyun.store.tables import activities, communities, identities, members

SOURCE = "qunyun"


class UnknownMemberError(NotFoundError):
    def __init__(self, member_id: int, detail: str = "no such member in this workspace") -> None:
        super().__init__(f"member {member_id}: {detail}", code="member.not_found")


@dataclass(frozen=True)
class MemberActivity:
    member_id: int
    kind: ActivityKind
    at: datetime
    key: str  # the action's idempotency key
    community_id: int | None = None
    text: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    reference_id: str | None = None


def activity_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def require_member(conn: Connection, workspace_id: int, member_id: int) -> None:
    found = conn.execute(
        select(members.c.id).where(members.c.id == member_id, members.c.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise UnknownMemberError(member_id)


def _placement(
    conn: Connection, workspace_id: int, member_id: int, community_id: int | None
) -> tuple[int, int]:
    """(identity id, community id) to record the member's activity under."""
    own = select(identities.c.id).where(
        identities.c.member_id == member_id, identities.c.workspace_id == workspace_id
    )
    if community_id is None:
        last = conn.execute(
            select(activities.c.identity_id, activities.c.community_id)
            .where(activities.c.identity_id.in_(own))
            .order_by(activities.c.occurred_at.desc(), activities.c.id.desc())
            .limit(1)
        ).first()
        if last is None:
            raise UnknownMemberError(member_id, "has no activity anywhere; name the community")
        return int(last.identity_id), int(last.community_id)
    platform = conn.execute(
        select(communities.c.platform).where(
            communities.c.id == community_id, communities.c.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    if platform is None:
        raise NotFoundError(f"community {community_id}: not in this workspace", code="community.not_found")
    identity = conn.execute(
        own.where(identities.c.platform == platform).order_by(identities.c.id).limit(1)
    ).scalar_one_or_none()
    if identity is None:
        identity = conn.execute(own.order_by(identities.c.id).limit(1)).scalar_one_or_none()
    if identity is None:
        raise UnknownMemberError(member_id, "has no identity")
    return int(identity), community_id


def record_member_activity(conn: Connection, workspace_id: int, event: MemberActivity) -> bool:
    """Insert the activity unless its key is already stored; True if it went in."""
    identity_id, community_id = _placement(conn, workspace_id, event.member_id, event.community_id)
    values = {
        "community_id": community_id,
        "identity_id": identity_id,
        "kind": event.kind.value,
        "occurred_at": event.at,
        "text": event.text,
        "amount_minor": event.amount_minor,
        "currency": event.currency,
        "reference_id": event.reference_id,
        "reply_to": None,
        "source": SOURCE,
        "idempotency_key": activity_key(event.key),
        "ingested_at": event.at,
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING that skipped.
    inserted = conn.execute(
        insert(activities).values(**values).on_conflict_do_nothing().returning(activities.c.id)
    ).scalar_one_or_none()
    return inserted is not None
