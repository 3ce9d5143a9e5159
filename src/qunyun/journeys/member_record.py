"""What the journeys did to one member: tags, opt-out, playbooks received and their outcome."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from qunyun.store.bulk import insert_or_skip
from qunyun.store.journey_tables import enrolments, member_optouts, member_tags, outbox

TAG_MAX = 60


def tags_of(conn: Connection, member_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(member_tags.c.tag, member_tags.c.source, member_tags.c.created_at)
        .where(member_tags.c.member_id == member_id)
        .order_by(member_tags.c.tag)
    )
    return [dict(r._mapping) for r in rows]


def add_tag(conn: Connection, workspace_id: int, member_id: int, tag: str, source: str, at: datetime) -> bool:
    """True if the member did not have the tag yet."""
    values = dict(workspace_id=workspace_id, member_id=member_id, tag=tag, source=source, created_at=at)
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING through SQLAlchemy.
    inserted = conn.execute(
        insert_or_skip(conn, member_tags).values(**values).returning(member_tags.c.member_id)
    ).scalar()
    return inserted is not None


def remove_tag(conn: Connection, member_id: int, tag: str) -> bool:
    done = conn.execute(
        delete(member_tags).where(member_tags.c.member_id == member_id, member_tags.c.tag == tag)
    )
    return bool(done.rowcount)


def opt_out_of(conn: Connection, member_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(member_optouts).where(member_optouts.c.member_id == member_id)).first()
    return None if row is None else dict(row._mapping)


def playbooks_received(
    conn: Connection, workspace_id: int, member_id: int, limit: int = 50
) -> list[dict[str, Any]]:
    """Enrolments newest first, each with the messages it produced and how they went."""
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                enrolments.c.id,
                enrolments.c.playbook,
                enrolments.c.version,
                enrolments.c.arm,
                enrolments.c.status,
                enrolments.c.outcome,
                enrolments.c.enrolled_at,
                enrolments.c.finished_at,
                enrolments.c.subject,
                enrolments.c.occurrence,
            )
            .where(enrolments.c.workspace_id == workspace_id, enrolments.c.member_id == member_id)
            .order_by(enrolments.c.enrolled_at.desc(), enrolments.c.id.desc())
            .limit(limit)
        )
    ]
    if not rows:
        return rows
    sent = conn.execute(
        select(outbox.c.enrolment_id, outbox.c.step, outbox.c.status, outbox.c.channel, outbox.c.sent_at)
        .where(outbox.c.workspace_id == workspace_id, outbox.c.member_id == member_id)
        .order_by(outbox.c.id)
    ).all()
    for row in rows:
        row["messages"] = [dict(s._mapping) for s in sent if s.enrolment_id == row["id"]]
    return rows
