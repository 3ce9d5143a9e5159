"""Behavioural tags of every member, stored in `member_behaviour` by `qunyun refresh`.

The member page computes its member's tags live (`behaviour.behaviour_tags`); member lists, the
dashboard's tag filter and playbook audiences need everyone's, so the refresh counts them for the
whole workspace in one DuckDB query over the analytics mirror (local hours through ICU time zones,
questions by the same pattern, RE2 here) and applies the same `rules`. Only the difference is
written: tags a member lost are deleted, new ones inserted. A kept tag keeps the reason and date
it was first found with (its counts move every day; rewriting them would rewrite most rows of a
large community daily); the member page shows today's reasons.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, delete, func, select

from qunyun.analytics.engine import naive_utc
from qunyun.analytics.mirror import ActivityMirror
from qunyun.domain import MESSAGE_KINDS
from qunyun.lifecycle.behaviour import (
    NIGHT_HOURS,
    NOT_INTERACTIONS,
    QUESTION_PATTERN,
    RULE_TOPICS,
    WINDOW_DAYS,
    BehaviourCounts,
    rules,
)
from qunyun.store.bulk import upsert_rows
from qunyun.store.tables import behaviour_state, communities, member_behaviour, member_topics
from qunyun.store.types import encode_utc

_CHUNK = 500


@dataclass
class BehaviourReport:
    members: int = 0  # members with a behavioural tag after the pass
    added: int = 0
    removed: int = 0


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)  # fixed identifiers from this package, not input


_MESSAGES = _in(tuple(sorted(k.value for k in MESSAGE_KINDS)))
_COUNTS_SQL = f"""
SELECT i.member_id,
       count(*) FILTER (WHERE a.kind NOT IN ({_in(NOT_INTERACTIONS)})),
       count(*) FILTER (WHERE a.kind = 'share'),
       count(*) FILTER (WHERE a.kind = 'coupon_redeem'),
       count(*) FILTER (WHERE a.kind = 'event_attend'),
       count(*) FILTER (WHERE a.kind IN ({_MESSAGES})),
       count(*) FILTER (WHERE a.kind IN ({_MESSAGES})
                        AND hour(timezone($zone, a.occurred_at AT TIME ZONE 'UTC'))
                            IN ({", ".join(str(h) for h in NIGHT_HOURS)})),
       count(*) FILTER (WHERE a.kind IN ({_MESSAGES}) AND a.text <> ''
                        AND regexp_matches(a.text, $question))
FROM activities a JOIN identities i ON i.id = a.identity_id
WHERE i.workspace_id = $workspace AND a.occurred_at > $since AND a.occurred_at <= $until
GROUP BY i.member_id
"""


def counts_by_member(
    mirror: ActivityMirror, workspace_id: int, as_of: datetime, zone: ZoneInfo
) -> dict[int, BehaviourCounts]:
    """Every member's counts over the window ending at `as_of`, from the (synced) mirror."""
    rows = mirror.duck.execute(
        _COUNTS_SQL,
        {
            "zone": zone.key,
            "question": QUESTION_PATTERN,
            "workspace": workspace_id,
            "since": naive_utc(as_of - timedelta(days=WINDOW_DAYS)),
            "until": naive_utc(as_of),
        },
    ).fetchall()
    return {int(member): BehaviourCounts(*(int(n) for n in counts)) for member, *counts in rows}


def _interests(conn: Connection, workspace_id: int) -> dict[int, dict[str, float]]:
    """The rules' topics per member, the strongest score over the member's groups."""
    found: dict[int, dict[str, float]] = defaultdict(dict)
    for member_id, topic, score in conn.execute(
        select(member_topics.c.member_id, member_topics.c.topic, func.max(member_topics.c.score))
        .join(communities, communities.c.id == member_topics.c.community_id)
        .where(communities.c.workspace_id == workspace_id, member_topics.c.topic.in_(RULE_TOPICS))
        .group_by(member_topics.c.member_id, member_topics.c.topic)
    ):
        found[int(member_id)][str(topic)] = float(score)
    return found


def behaviour_due(conn: Connection, workspace_id: int, as_of: datetime, every: timedelta) -> bool:
    """Whether the last pass is `every` or more before `as_of` (or there was none)."""
    last = conn.execute(
        select(behaviour_state.c.as_of).where(behaviour_state.c.workspace_id == workspace_id)
    ).scalar()
    return last is None or as_of - last >= every


def store_behaviour_tags(
    engine: Engine, mirror: ActivityMirror, workspace_id: int, as_of: datetime, zone: ZoneInfo
) -> BehaviourReport:
    """Recompute every member's behavioural tags as of `as_of` and store the difference."""
    counts = counts_by_member(mirror, workspace_id, as_of, zone)
    report = BehaviourReport()
    with engine.begin() as conn:
        interests = _interests(conn, workspace_id)
        wanted: dict[tuple[int, str], str] = {}
        for member_id in counts.keys() | interests.keys():
            for tag in rules(counts.get(member_id, BehaviourCounts()), interests.get(member_id, {})):
                wanted[(member_id, tag["tag"])] = tag["reason"]
        stored = {
            (int(m), str(t))
            for m, t in conn.execute(
                select(member_behaviour.c.member_id, member_behaviour.c.tag).where(
                    member_behaviour.c.workspace_id == workspace_id
                )
            )
        }
        stale = sorted(stored - wanted.keys())
        _delete(conn, stale)
        fresh = sorted(wanted.keys() - stored)
        stamp = encode_utc(as_of, conn.dialect.name)
        upsert_rows(
            conn,
            member_behaviour,
            ("workspace_id", "member_id", "tag", "reason", "as_of"),
            ("member_id", "tag"),
            [(workspace_id, m, t, wanted[(m, t)], stamp) for m, t in fresh],
        )
        upsert_rows(
            conn, behaviour_state, ("workspace_id", "as_of"), ("workspace_id",), [(workspace_id, stamp)]
        )
    report.members = len({m for m, _ in wanted})
    report.removed = len(stale)
    report.added = len(fresh)
    return report


def _delete(conn: Connection, keys: list[tuple[int, str]]) -> None:
    by_tag: dict[str, list[int]] = defaultdict(list)
    for member_id, tag in keys:
        by_tag[tag].append(member_id)
    for tag, members in by_tag.items():
        for start in range(0, len(members), _CHUNK):
            conn.execute(
                delete(member_behaviour).where(
                    and_(
                        member_behaviour.c.tag == tag,
                        member_behaviour.c.member_id.in_(members[start : start + _CHUNK]),
                    )
                )
            )
