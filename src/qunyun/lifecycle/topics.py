"""What a community talks about: topic participation and this week's rising terms.

Reads the messages of the last `weeks + 1` weeks before `as_of` from the store
(the (community, time) index bounds the scan) and runs them through the topic
lexicon and the hot-terms counter (qunyun.nlp). Staff and bots are left out, as
in every member metric.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from qunyun.domain import MESSAGE_KINDS
from qunyun.nlp.hot import hot_terms
from qunyun.nlp.normalize import normalize
from qunyun.nlp.topics import TopicLexicon
from qunyun.store.tables import activities, communities, identities, members

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class _Message:
    member_id: int
    occurred_at: datetime
    text: str


def _messages(
    conn: Connection, workspace_id: int, community: str | None, start: datetime, end: datetime
) -> Iterator[_Message]:
    query = (
        select(identities.c.member_id, activities.c.occurred_at, activities.c.text)
        .select_from(activities)
        .join(communities, communities.c.id == activities.c.community_id)
        .join(identities, identities.c.id == activities.c.identity_id)
        .join(members, members.c.id == identities.c.member_id)
        .where(
            communities.c.workspace_id == workspace_id,
            activities.c.kind.in_([k.value for k in MESSAGE_KINDS]),
            activities.c.occurred_at >= start,
            activities.c.occurred_at < end,
            activities.c.text.is_not(None),
            members.c.is_staff.is_(False),
            members.c.is_bot.is_(False),
        )
    )
    if community is not None:
        query = query.where(communities.c.external_id == community)
    for row in conn.execute(query.execution_options(yield_per=10_000)):
        yield _Message(row.member_id, row.occurred_at, row.text)


def community_topics(
    conn: Connection,
    workspace_id: int,
    as_of: datetime,
    lexicon: TopicLexicon,
    community: str | None = None,
    weeks: int = 4,
    top: int = 10,
) -> dict[str, Any]:
    """Topics of the week ending at `as_of` against the `weeks` before it, and rising terms."""
    start = as_of - WEEK * (weeks + 1)
    by_week: dict[int, list[str]] = defaultdict(list)
    topic_messages: dict[int, Counter[str]] = defaultdict(Counter)
    topic_members: dict[str, set[int]] = defaultdict(set)
    speakers: set[int] = set()
    for message in _messages(conn, workspace_id, community, start, as_of):
        week = int((as_of - message.occurred_at) / WEEK)  # 0 = the latest week
        by_week[week].append(message.text)
        for hit in lexicon.find(normalize(message.text).text):
            topic_messages[week][hit.topic] += 1
            if week == 0:
                topic_members[hit.topic].add(message.member_id)
        if week == 0:
            speakers.add(message.member_id)
    topics: list[dict[str, Any]] = []
    for topic in lexicon.topics:
        baseline = sum(topic_messages[w][topic] for w in range(1, weeks + 1)) / weeks
        topics.append(
            {
                "topic": topic,
                "messages": topic_messages[0][topic],
                "members": len(topic_members[topic]),
                "share_of_speakers": len(topic_members[topic]) / len(speakers) if speakers else None,
                "baseline_messages": baseline,
            }
        )
    topics.sort(key=lambda t: (-t["messages"], t["topic"]))
    hot = hot_terms(by_week[0], [by_week[w] for w in range(1, weeks + 1)], top=top)
    return {
        "as_of": as_of,
        "week_start": as_of - WEEK,
        "community": community,
        "speakers": len(speakers),
        "topics": topics,
        "hot_terms": [
            {"term": h.term, "count": h.count, "baseline": h.baseline, "lift": h.lift} for h in hot
        ],
    }
