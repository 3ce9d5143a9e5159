"""One member, everything we know: identities, contacts (masked), state per community."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from qunyun.errors import NotFoundError
from qunyun.lifecycle.behaviour import behaviour_tags
from qunyun.nlp.interests import strong
from qunyun.privacy import PiiProtector
from qunyun.store import contacts as contact_store
from qunyun.store.merges import resolve_live_member
from qunyun.store.tables import (
    activities,
    communities,
    identities,
    member_scores,
    member_state,
    member_topics,
    members,
)


def find_member(conn: Connection, workspace_id: int, ref: str) -> int:
    """A member by id ('42') or by identity ('telegram:user123'), following merges."""
    if ref.isdigit():
        return resolve_live_member(conn, workspace_id, int(ref))
    platform, _, external = ref.partition(":")
    found = conn.execute(
        select(identities.c.member_id).where(
            identities.c.workspace_id == workspace_id,
            identities.c.platform == platform,
            identities.c.external_id == external,
        )
    ).scalar()
    if found is None:
        raise NotFoundError(
            f"no member {ref!r} (give an id or platform:external_id)", code="member.not_found"
        )
    return int(found)


def mask(value: str) -> str:
    """'+86 13812345678' → '138****5678': enough to recognise, not to dial."""
    digits = [c for c in value if c.isdigit()]
    if len(digits) >= 7:
        tail = "".join(digits[-4:])
        head = "".join(digits[-11:-8]) if len(digits) >= 11 else "".join(digits[:3])
        return f"{head}****{tail}"
    return value[:2] + "****" if len(value) > 2 else "****"


def member_profile(
    conn: Connection,
    workspace_id: int,
    member_id: int,
    protector: PiiProtector | None,
    reveal: bool = False,
    behaviour_as_of: tuple[datetime, ZoneInfo] | None = None,
) -> dict[str, Any]:
    row = conn.execute(
        select(members).where(members.c.id == member_id, members.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no member {member_id}", code="member.not_found")
    idents = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                identities.c.id,
                identities.c.platform,
                identities.c.external_id,
                identities.c.nickname,
            )
            .where(identities.c.member_id == member_id)
            .order_by(identities.c.id)
        )
    ]
    return {
        "member_id": member_id,
        "display_name": row.display_name,
        "merged_into": row.merged_into_id,
        "identities": idents,
        "contacts": _contacts(conn, member_id, protector, reveal),
        "communities": _states(conn, member_id),
        "last_activity": _last_activity(conn, member_id),
        "interests": _interests(conn, member_id),
        "behaviour": behaviour_tags(conn, member_id, *behaviour_as_of) if behaviour_as_of else [],
    }


def _interests(conn: Connection, member_id: int) -> list[dict[str, Any]]:
    """Interest tags, strongest first, each with the messages that led to it (docs/text.md).

    Weak topics (under `nlp.interests.strong`'s cuts, per community) are kept in the table but
    not shown as tags.
    """
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                communities.c.external_id.label("community"),
                member_topics.c.topic,
                member_topics.c.score,
                member_topics.c.as_of,
                member_topics.c.reasons,
            )
            .join(communities, communities.c.id == member_topics.c.community_id)
            .where(member_topics.c.member_id == member_id)
            .order_by(member_topics.c.score.desc(), member_topics.c.topic)
        )
    ]
    shown = []
    for community in {r["community"] for r in rows}:
        mine = [r for r in rows if r["community"] == community]
        keep = strong([(r["topic"], r["score"]) for r in mine])
        shown += [r for r in mine if r["topic"] in keep]
    return sorted(shown, key=lambda r: (-r["score"], r["topic"]))


def _contacts(
    conn: Connection, member_id: int, protector: PiiProtector | None, reveal: bool
) -> list[dict[str, str]]:
    shown = []
    for kind, token in contact_store.contacts_of_member(conn, member_id):
        if protector is None:
            shown.append({"kind": kind, "value": "(encrypted; no key configured)"})
            continue
        clear = protector.decrypt(token)
        shown.append({"kind": kind, "value": clear if reveal else mask(clear)})
    return shown


def _states(conn: Connection, member_id: int) -> list[dict[str, Any]]:
    query = (
        select(
            communities.c.platform,
            communities.c.external_id.label("community"),
            communities.c.name.label("community_name"),
            member_state.c.stage,
            member_state.c.segment,
            member_state.c.as_of,
            member_state.c.stage_since,
            member_state.c.segment_since,
            member_state.c.is_member,
            member_state.c.joined_at,
            member_state.c.left_at,
            member_state.c.last_seen_at,
            member_state.c.last_message_at,
            member_state.c.messages_total,
            member_state.c.messages_30d,
            member_state.c.interactions_30d,
            member_state.c.purchases_total,
            member_state.c.spend_minor,
            member_state.c.reason,
            member_scores.c.activity_model,
            member_scores.c.p_alive,
            member_scores.c.expected_activity_30d,
            member_scores.c.past_activity_30d,
            member_scores.c.p_alive_purchase,
            member_scores.c.expected_purchases,
            member_scores.c.expected_spend_minor,
            member_scores.c.clv_minor,
        )
        .join(communities, communities.c.id == member_state.c.community_id)
        .outerjoin(
            member_scores,
            (member_scores.c.community_id == member_state.c.community_id)
            & (member_scores.c.member_id == member_state.c.member_id),
        )
        .where(member_state.c.member_id == member_id)
        .order_by(communities.c.external_id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _last_activity(conn: Connection, member_id: int) -> dict[str, Any] | None:
    recent = timeline(conn, member_id, 1)
    return recent[0] if recent else None


def timeline(conn: Connection, member_id: int, limit: int | None = 50) -> list[dict[str, Any]]:
    """The member's activities, newest first (every identity, every community)."""
    query = (
        select(
            activities.c.kind,
            activities.c.occurred_at,
            activities.c.text,
            activities.c.amount_minor,
            activities.c.currency,
            communities.c.external_id.label("community"),
        )
        .join(identities, identities.c.id == activities.c.identity_id)
        .join(communities, communities.c.id == activities.c.community_id)
        .where(identities.c.member_id == member_id)
        .order_by(activities.c.occurred_at.desc(), activities.c.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]
