"""Events a playbook can react to: member activity kinds, and what Qunyun derives from them.

- an activity kind (`message`, `leave`, `purchase`, `checkin`, `survey_answer` …);
- `first_purchase`: a purchase with none before it;
- `negative_message`, `sensitive_word`, `spam`: the alerts Step 5's text pass raised
  (a complaint counts as a negative message);
- `opt_out`: the member asked for no more messages (or an operator said so).
"""

from datetime import datetime

from sqlalchemy import Connection, and_, select

from qunyun.domain import ActivityKind
from qunyun.store.journey_tables import member_optouts
from qunyun.store.tables import activities, alerts, identities

ALERT_EVENTS = {
    "negative_message": "negative_message",
    "complaint": "negative_message",
    "sensitive_word": "sensitive_word",
    "spam": "spam",
}
ACTIVITY_KINDS = {k.value for k in ActivityKind}


def did_since(conn: Connection, member_id: int, events: list[str], since: datetime, now: datetime) -> bool:
    """Did the member cause any of `events` in [since, now]?"""
    kinds = {e for e in events if e in ACTIVITY_KINDS} | (
        {"purchase"} if "first_purchase" in events else set()
    )
    if kinds:
        found = conn.execute(
            select(activities.c.id)
            .join(identities, identities.c.id == activities.c.identity_id)
            .where(
                identities.c.member_id == member_id,
                activities.c.kind.in_(sorted(kinds)),
                activities.c.occurred_at >= since,
                activities.c.occurred_at <= now,
            )
            .limit(1)
        ).first()
        if found is not None:
            return True
    alert_kinds = [k for k, event in ALERT_EVENTS.items() if event in events]
    if alert_kinds:
        found = conn.execute(
            select(alerts.c.id)
            .where(
                alerts.c.member_id == member_id,
                alerts.c.kind.in_(alert_kinds),
                and_(alerts.c.occurred_at >= since, alerts.c.occurred_at <= now),
            )
            .limit(1)
        ).first()
        if found is not None:
            return True
    if "opt_out" in events:
        at = conn.execute(select(member_optouts.c.at).where(member_optouts.c.member_id == member_id)).scalar()
        return at is not None and since <= at <= now
    return False
