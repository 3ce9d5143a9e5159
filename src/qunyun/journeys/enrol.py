"""Putting a member (or a community) into a playbook: audience, re-entry, holdout arm.

An enrolment is keyed by (playbook, subject, occurrence), so the same trigger
seen twice (a replayed scan, two workers) enrols once. The arm comes from a
hash of (playbook, subject): deterministic, so a member who re-enters stays in
the same arm and a control member is never treated by accident.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from qunyun.journeys.catalog import Entry
from qunyun.journeys.views import MemberView, admits
from qunyun.store.bulk import insert_or_skip
from qunyun.store.journey_tables import enrolments

LIVE = ("active", "waiting")


def arm_of(playbook: str, subject: str, holdout: float) -> str:
    """'control' for a `holdout` share of subjects, by a stable hash; 'treated' otherwise."""
    digest = hashlib.sha256(f"{playbook}\x00{subject}".encode()).digest()
    return "control" if int.from_bytes(digest[:8], "big") / 2**64 < holdout else "treated"


@dataclass(frozen=True)
class Entrant:
    subject: str
    member_id: int | None
    community_id: int | None
    view: MemberView | None = None


def member_entrant(view: MemberView) -> Entrant:
    return Entrant(f"m:{view.member_id}", view.member_id, view.community_id, view)


def community_entrant(community_id: int) -> Entrant:
    return Entrant(f"c:{community_id}", None, community_id)


def enrol(
    conn: Connection,
    workspace_id: int,
    entry: Entry,
    who: Entrant,
    *,
    trigger: str,
    now: datetime,
    occurrence: int | None = None,
    context: dict[str, Any] | None = None,
    check_audience: bool = True,
) -> int | None:
    """Enrol; the new enrolment's id, or None when the audience, re-entry rules or a twin say no."""
    playbook = entry.playbook
    assert entry.version is not None, "only saved (enabled) playbooks enrol"
    if who.view is not None and check_audience and not admits(playbook.audience, who.view, now):
        return None
    if occurrence is None:
        occurrence = _next_occurrence(conn, workspace_id, entry, who.subject, now)
        if occurrence is None:
            return None
    values = {
        "workspace_id": workspace_id,
        "playbook": entry.name,
        "version": entry.version,
        "subject": who.subject,
        "member_id": who.member_id,
        "community_id": who.community_id,
        "occurrence": occurrence,
        "arm": arm_of(entry.name, who.subject, playbook.holdout),
        "status": "active",
        "pc": 0,
        "due_at": now,
        "context": context or {},
        "trigger": trigger[:120],
        "enrolled_at": now,
    }
    inserted = conn.execute(
        insert_or_skip(conn, enrolments).values(**values).returning(enrolments.c.id)
    ).scalar()
    return None if inserted is None else int(inserted)


def _next_occurrence(
    conn: Connection, workspace_id: int, entry: Entry, subject: str, now: datetime
) -> int | None:
    last = conn.execute(
        select(enrolments.c.occurrence, enrolments.c.status, enrolments.c.finished_at)
        .where(
            enrolments.c.workspace_id == workspace_id,
            enrolments.c.playbook == entry.name,
            enrolments.c.subject == subject,
        )
        .order_by(enrolments.c.occurrence.desc())
        .limit(1)
    ).first()
    if last is None:
        return 1
    reentry = entry.playbook.reentry
    if last.status in LIVE or not reentry.allowed:
        return None
    if last.finished_at is not None and now < last.finished_at + timedelta(days=reentry.cooldown_days):
        return None
    return int(last.occurrence) + 1
