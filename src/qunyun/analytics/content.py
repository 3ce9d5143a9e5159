"""Best posting hours and content performance (docs/metrics.md, "Hours and content").

A **post** is a message (not a reply, not a bare acknowledgement). Its
**responses** are the replies and reactions that point at it (`reply_to` =
the post's `reference_id`) within 24 hours. Posts by staff count — their
posts are the content being measured — but responses only from real members.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any

import ibis
from sqlalchemy import Connection, select

from qunyun.analytics.engine import AnalyticsEngine
from qunyun.analytics.metrics import ACK_PATTERN, INTERACTION_KINDS, MetricsQuery, events
from qunyun.domain import ActivityKind
from qunyun.store.tables import message_text

RESPONSE_WINDOW = timedelta(hours=24)
_URL = r"https?://"
_QUESTION = r"[?？]|吗[。！!]?\s*$|怎么|如何|有没有|请问"


def _local(q: MetricsQuery, ts: ibis.Value) -> ibis.Value:
    return ts + ibis.interval(seconds=int(q.offset.total_seconds()))


def hour_of_week(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """Interactions per local (weekday, hour): 7 x 24 cells, weekday 0 = Monday."""
    ev = events(engine, q)
    ev = ev.filter((ev.day >= q.start) & (ev.day <= q.end) & ev.kind.isin(list(INTERACTION_KINDS)))
    local = _local(q, ev.occurred_at)
    cells = ev.mutate(weekday=local.day_of_week.index(), hour=local.hour())
    return (
        cells.group_by(["weekday", "hour"])
        .aggregate(interactions=cells.count(), members=cells.member_id.nunique())
        .order_by(["weekday", "hour"])
    )


def _all_posts(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """Posts by anyone in scope (staff included), with local time and a content type."""
    acts = engine.table("activities")
    comms = engine.table("communities").filter(lambda c: c.workspace_id == q.workspace_id)
    if q.community_id is not None:
        comms = comms.filter(lambda c: c.id == q.community_id)
    posts = acts.semi_join(comms, acts.community_id == comms.id).filter(
        (acts.kind == ActivityKind.MESSAGE.value)
        & acts.reference_id.notnull()
        & ~acts.text.fill_null("").re_search(ACK_PATTERN)
    )
    local = _local(q, posts.occurred_at)
    posts = posts.mutate(day=local.date(), weekday=local.day_of_week.index(), hour=local.hour())
    posts = posts.filter((posts.day >= q.start) & (posts.day <= q.end))
    text = posts.text.fill_null("")
    kind = ibis.cases((text.re_search(_URL), "link"), (text.re_search(_QUESTION), "question"), else_="text")
    return posts.mutate(content_type=kind)


def post_performance(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """One row per post: replies and reactions from real members within 24 hours."""
    posts = _all_posts(engine, q)
    ev = events(engine, q)
    answers = ev.filter(
        ev.kind.isin([ActivityKind.REPLY.value, ActivityKind.REACTION.value]) & ev.reply_to.notnull()
    ).select(a_community="community_id", a_to="reply_to", a_kind="kind", a_at="occurred_at")
    window = ibis.interval(seconds=int(RESPONSE_WINDOW.total_seconds()))
    matched = posts.join(
        answers,
        (posts.community_id == answers.a_community)
        & (posts.reference_id == answers.a_to)
        & (answers.a_at >= posts.occurred_at)
        & (answers.a_at <= posts.occurred_at + window),
    )
    counts = matched.group_by(post_id="id").aggregate(
        replies=matched.count(where=matched.a_kind == ActivityKind.REPLY.value),
        reactions=matched.count(where=matched.a_kind == ActivityKind.REACTION.value),
    )
    out = posts.left_join(counts, posts.id == counts.post_id)
    return out.select(
        post_id=posts.id,
        community_id=posts.community_id,
        occurred_at=posts.occurred_at,
        weekday=posts.weekday,
        hour=posts.hour,
        content_type=posts.content_type,
        text=posts.text.fill_null("").substr(0, 80),
        replies=out.replies.fill_null(0),
        reactions=out.reactions.fill_null(0),
    ).mutate(responses=ibis._.replies + ibis._.reactions)


def content_summary(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """Per content type: posts, and average replies, reactions and responses per post."""
    perf = post_performance(engine, q)
    return (
        perf.group_by("content_type")
        .aggregate(
            posts=perf.count(),
            replies_per_post=perf.replies.mean(),
            reactions_per_post=perf.reactions.mean(),
            responses_per_post=perf.responses.mean(),
        )
        .order_by(ibis.desc("responses_per_post"), "content_type")
    )


def best_slots(hours: list[dict[str, Any]], top: int = 5) -> list[dict[str, Any]]:
    """The posting slots (rows of `posting_hours`) whose posts drew most responses.

    A slot with a couple of posts says little, so only slots with at least 5
    posts, and at least 1/500 of all posts, are ranked.
    """
    enough = max(5, sum(r["posts"] for r in hours) // 500)
    ranked = [r for r in hours if r["posts"] >= enough]
    return sorted(ranked, key=lambda r: (-r["responses_per_post"], -r["posts"]))[:top]


def posting_hours(engine: AnalyticsEngine, q: MetricsQuery) -> ibis.Table:
    """Per local (weekday, hour) a post was made: posts and average responses within 24 h."""
    perf = post_performance(engine, q)
    return (
        perf.group_by(["weekday", "hour"])
        .aggregate(posts=perf.count(), responses_per_post=perf.responses.mean())
        .order_by(["weekday", "hour"])
    )


def post_topics(conn: Connection, workspace_id: int, post_ids: Collection[int]) -> dict[int, list[str]]:
    """The topics the text pass (Step 5) found in each post, from `message_text` (not mirrored:
    the pass writes it in the source database); posts it has not read, or with no topic, are
    left out."""
    if not post_ids:
        return {}
    low, high = min(post_ids), max(post_ids)
    rows = conn.execute(
        select(message_text.c.activity_id, message_text.c.topics).where(
            message_text.c.workspace_id == workspace_id, message_text.c.activity_id.between(low, high)
        )
    )
    wanted = set(post_ids)
    found: dict[int, list[str]] = {}
    for activity_id, topics in rows:
        names = sorted({str(t[0]) for t in topics or ()})
        if activity_id in wanted and names:
            found[int(activity_id)] = names
    return found


def topic_summary(
    posts: Sequence[Mapping[str, Any]], topics: Mapping[int, Sequence[str]]
) -> list[dict[str, Any]]:
    """Per topic: posts about it, and their average replies, reactions and responses within 24 h
    (rows of `post_performance`); a post about two topics counts for both."""
    totals: dict[str, list[int]] = {}
    for post in posts:
        for topic in topics.get(int(post["post_id"]), ()):
            total = totals.setdefault(topic, [0, 0, 0])
            total[0] += 1
            total[1] += int(post["replies"])
            total[2] += int(post["reactions"])
    summary = [
        {
            "topic": topic,
            "posts": n,
            "replies_per_post": replies / n,
            "reactions_per_post": reactions / n,
            "responses_per_post": (replies + reactions) / n,
        }
        for topic, (n, replies, reactions) in totals.items()
    ]
    return sorted(summary, key=lambda r: (-r["responses_per_post"], r["topic"]))
