"""Monthly leaderboards by interaction score, and the community stars (社群之星) they crown.

score(member) = Σ weight[kind] × count[kind]                       (activity part)
              + centrality_weight × mean activity score × c(member) (conversation part)

over the month (local calendar) in one community or all; staff and bots are
left out, and bare acknowledgements (收到, 谢谢, +1, emoji only) weigh
`acknowledgement` instead of a message's weight. c(member) is the member's
PageRank in the reply graph (an edge from each replier to the author replied
to; damping 0.85), scaled so the graph's members average 1: someone whose
messages start conversations ranks above someone who only posts a lot.
With centrality_weight = 0 (the default) the score is the plain weighted count.
"""

import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from qunyun.store.references import find_by_reference
from qunyun.store.tables import activities, identities, members

_REPLIED_KINDS = ("message", "reply")  # what a reply can answer
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "message": 1.0,
    "reply": 2.0,
    "reaction": 0.5,
    "share": 3.0,
    "checkin": 1.0,
    "poll_vote": 1.0,
    "survey_answer": 1.0,
    "event_attend": 5.0,
}
ACK_WORDS = (
    "谢谢大家",
    "收到",
    "谢谢",
    "多谢",
    "感谢",
    "好的",
    "好滴",
    "好哒",
    "嗯嗯",
    "哈哈",
    "thanks",
    "thx",
    "ok",
)
ACK_KEEP = "好嗯哦噢哈1+"


def is_acknowledgement(text: str | None) -> bool:
    """Only thanks/ok/+1 words, emoji, [sticker] codes and punctuation (as analytics counts them)."""
    if not text or not text.strip():
        return False
    rest = text.lower()
    for word in ACK_WORDS:
        rest = rest.replace(word, " ")
    while (
        "[" in rest
        and "]" in rest[rest.index("[") :]
        and rest.index("]", rest.index("[")) - rest.index("[") <= 7
    ):
        start = rest.index("[")
        rest = rest[:start] + " " + rest[rest.index("]", start) + 1 :]
    for ch in rest:
        if ch.isspace() or ch in ACK_KEEP or ch in "!！。.~～,，\ufe0f\u200d":
            continue
        if unicodedata.category(ch) not in ("So", "Sk"):
            return False
    return True


@dataclass(frozen=True)
class ScoreRule:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    acknowledgement: float = 0.0
    centrality_weight: float = 0.0


@dataclass(frozen=True)
class Standing:
    rank: int
    member_id: int
    name: str | None
    score: float
    counts: dict[str, int]
    centrality: float  # scaled PageRank (1 = average in the reply graph), 0 outside it


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """'2026-11' → the month's first and the next month's first local midnight."""
    year, mon = (int(part) for part in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + mon // 12, mon % 12 + 1, 1)
    return datetime.combine(start, time(0), tzinfo=zone), datetime.combine(end, time(0), tzinfo=zone)


def pagerank(
    edges: Mapping[tuple[int, int], int], damping: float = 0.85, rounds: int = 100
) -> dict[int, float]:
    """PageRank over weighted directed edges; dangling nodes spread evenly. Sums to 1."""
    nodes = sorted({n for edge in edges for n in edge})
    if not nodes:
        return {}
    out_weight: dict[int, float] = defaultdict(float)
    for (source, _), weight in edges.items():
        out_weight[source] += weight
    rank = dict.fromkeys(nodes, 1.0 / len(nodes))
    for _ in range(rounds):
        dangling = sum(rank[n] for n in nodes if not out_weight[n])
        base = (1 - damping + damping * dangling) / len(nodes)
        nxt = dict.fromkeys(nodes, base)
        for (source, target), weight in edges.items():
            nxt[target] += damping * rank[source] * weight / out_weight[source]
        if sum(abs(nxt[n] - rank[n]) for n in nodes) < 1e-12:
            return nxt
        rank = nxt
    return rank


def _window(workspace_id: int, start: datetime, end: datetime, community_id: int | None) -> list[object]:
    where: list[object] = [
        identities.c.workspace_id == workspace_id,
        activities.c.occurred_at >= start,
        activities.c.occurred_at < end,
        members.c.is_staff.is_(False),
        members.c.is_bot.is_(False),
    ]
    if community_id is not None:
        where.append(activities.c.community_id == community_id)
    return where


def _counts(
    conn: Connection, where: list[object], rule: ScoreRule
) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[int, str] = {}
    rows = conn.execute(
        select(identities.c.member_id, activities.c.kind, activities.c.text, members.c.display_name)
        .select_from(activities)
        .join(identities, identities.c.id == activities.c.identity_id)
        .join(members, members.c.id == identities.c.member_id)
        .where(*where, activities.c.kind.in_(list(rule.weights)))  # type: ignore[arg-type]
    )
    for member_id, kind, text, name in rows:
        kind_name = "acknowledgement" if kind in ("message", "reply") and is_acknowledgement(text) else kind
        counts[member_id][kind_name] += 1
        names[member_id] = name
    return counts, names


def _reply_edges(conn: Connection, where: list[object]) -> dict[tuple[int, int], int]:
    """replier → member replied to, counted. The replied-to message may be older than the window."""
    replies = conn.execute(
        select(identities.c.member_id, activities.c.community_id, activities.c.reply_to)
        .select_from(activities)
        .join(identities, identities.c.id == activities.c.identity_id)
        .join(members, members.c.id == identities.c.member_id)
        .where(*where, activities.c.kind == "reply", activities.c.reply_to.is_not(None))  # type: ignore[arg-type]
    ).all()
    targets = find_by_reference(conn, ((c, str(r)) for _, c, r in replies), _REPLIED_KINDS)
    edges: dict[tuple[int, int], int] = defaultdict(int)
    for replier, community_id, reply_to in replies:
        target = targets.get((community_id, str(reply_to)))
        if target is not None and replier != target.member_id:
            edges[(int(replier), target.member_id)] += 1
    return edges


def leaderboard(
    engine: Engine,
    workspace_id: int,
    month: str,
    zone: ZoneInfo,
    *,
    community_id: int | None = None,
    rule: ScoreRule | None = None,
    top: int = 10,
) -> list[Standing]:
    rule = rule or ScoreRule()
    start, end = month_bounds(month, zone)
    where = _window(workspace_id, start, end, community_id)
    with engine.connect() as conn:
        counts, names = _counts(conn, where, rule)
        edges = _reply_edges(conn, where) if rule.centrality_weight else {}
    weights = {**rule.weights, "acknowledgement": rule.acknowledgement}
    base = {m: sum(weights.get(k, 0.0) * n for k, n in c.items()) for m, c in counts.items()}
    ranks = pagerank(edges)
    scale = len(ranks)
    mean_base = sum(base.values()) / len(base) if base else 0.0
    scored = []
    for member_id, activity_score in base.items():
        centrality = ranks.get(member_id, 0.0) * scale
        score = activity_score + rule.centrality_weight * mean_base * centrality
        scored.append((round(score, 4), member_id, centrality))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [
        Standing(i + 1, m, names.get(m), s, dict(counts[m]), round(c, 4))
        for i, (s, m, c) in enumerate(scored[:top])
        if s > 0
    ]
