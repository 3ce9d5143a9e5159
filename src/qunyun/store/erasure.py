"""Erasing a member (PIPL art. 47 / GDPR art. 17): their personal data goes, the counts stay.

What goes: the display name and every identity's nickname and platform id
(replaced by `erased:<identity id>`), contacts, the text of everything they
wrote (messages, the topics and flags read from it, interest reasons, alert
quotes, free-text survey answers), the texts and addresses of messages we
queued for them, their tags. What stays, without a name attached: activity
rows (kind, time, amounts) so community metrics do not change retroactively,
the points ledger and coupons (bookkeeping), numeric survey scores. The
member is opted out of every playbook. A platform user who comes back later
arrives as a new member. The analytics mirror drops the texts at its next
sync (`analytics/mirror.py`).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from qunyun.store.bulk import insert_or_skip
from qunyun.store.feedback_tables import survey_responses
from qunyun.store.journey_tables import member_optouts, member_tags, operator_tasks, outbox
from qunyun.store.member_activity import require_member
from qunyun.store.tables import (
    activities,
    alerts,
    contacts,
    identities,
    member_behaviour,
    member_topics,
    members,
    message_text,
)

ERASED_RECIPIENT = "erased"


@dataclass
class ErasureReport:
    member_id: int
    identities: int = 0
    messages: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _numbers_only(answers: Any) -> Any:
    """Survey answers without free text: scales and choices are kept, strings dropped."""
    if isinstance(answers, dict):
        return {k: _numbers_only(v) for k, v in answers.items() if not isinstance(v, str)}
    if isinstance(answers, list):
        return [_numbers_only(v) for v in answers if not isinstance(v, str)]
    return answers


def erase_member(conn: Connection, workspace_id: int, member_id: int, at: datetime) -> ErasureReport:
    """Erase in the caller's transaction (all of it or nothing)."""
    require_member(conn, workspace_id, member_id)
    report = ErasureReport(member_id)
    ids = list(conn.execute(select(identities.c.id).where(identities.c.member_id == member_id)).scalars())
    report.identities = len(ids)
    merged_in = select(members.c.id).where(members.c.merged_into_id == member_id)
    conn.execute(
        update(members)
        .where((members.c.id == member_id) | members.c.id.in_(merged_in))
        .values(display_name=None, erased_at=at)
    )
    for identity_id in ids:
        conn.execute(
            update(identities)
            .where(identities.c.id == identity_id)
            .values(nickname=None, external_id=f"erased:{identity_id}")
        )
    count = report.counts
    count["contacts"] = conn.execute(delete(contacts).where(contacts.c.identity_id.in_(ids))).rowcount
    written = select(activities.c.id).where(activities.c.identity_id.in_(ids), activities.c.text.is_not(None))
    count["message_readings"] = conn.execute(
        update(message_text).where(message_text.c.activity_id.in_(written)).values(topics=[], flags=[])
    ).rowcount
    report.messages = conn.execute(
        update(activities)
        .where(activities.c.identity_id.in_(ids), activities.c.text.is_not(None))
        .values(text=None)
    ).rowcount
    count["topics"] = conn.execute(
        delete(member_topics).where(member_topics.c.member_id == member_id)
    ).rowcount
    count["behaviour_tags"] = conn.execute(
        delete(member_behaviour).where(member_behaviour.c.member_id == member_id)
    ).rowcount
    count["tags"] = conn.execute(delete(member_tags).where(member_tags.c.member_id == member_id)).rowcount
    count["alerts"] = conn.execute(
        update(alerts).where(alerts.c.member_id == member_id).values(detail={"erased": True})
    ).rowcount
    count["outbox"] = conn.execute(
        update(outbox).where(outbox.c.member_id == member_id).values(text="", recipient=ERASED_RECIPIENT)
    ).rowcount
    count["tasks"] = conn.execute(
        update(operator_tasks)
        .where(operator_tasks.c.member_id == member_id)
        .values(text="", recipient=ERASED_RECIPIENT)
    ).rowcount
    answers = conn.execute(
        select(survey_responses.c.id, survey_responses.c.answers).where(
            survey_responses.c.member_id == member_id
        )
    ).all()
    for row in answers:
        conn.execute(
            update(survey_responses)
            .where(survey_responses.c.id == row.id)
            .values(answers=_numbers_only(row.answers))
        )
    count["survey_responses"] = len(answers)
    conn.execute(
        insert_or_skip(conn, member_optouts).values(
            workspace_id=workspace_id, member_id=member_id, at=at, source="operator", detail="erased"
        )
    )
    return report
