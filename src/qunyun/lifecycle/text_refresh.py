"""The text pass of `qunyun refresh`: every new message read once, incrementally.

Per message (in activity-id order, from where the last run stopped): sentiment
(when a model is available), topics, sensitive words and spam signals go to
`message_text`; each sensitive word or spam signal becomes a `text_flag`
activity of the same member at the same time (so playbooks can react to it);
members' topic scores in `member_topics` are carried forward with their decay
and added to; alerts are raised for negative messages, complaints, sensitive
words and spam, and for a community whose share of negative messages in the
last hours rises well above its own baseline. Each batch commits in one
transaction with the position reached, so a crash redoes at most one batch and
replays change nothing (alerts and flags have deterministic keys).

Rows committed out of id order on PostgreSQL are handled as the analytics
mirror does: only activities ingested at least `settle` ago are read.
"""

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, func, insert, select

from qunyun.domain import MESSAGE_KINDS, ActivityKind, Clock
from qunyun.nlp.interests import MAX_REASONS, REACTION_WEIGHT, decay
from qunyun.nlp.normalize import normalize
from qunyun.nlp.sensitive import SensitiveWords
from qunyun.nlp.sentiment import is_english, prepare
from qunyun.nlp.spam import RepeatCounter, spam_signals
from qunyun.nlp.topics import TopicLexicon
from qunyun.store.bulk import insert_ignoring_conflicts, upsert_rows
from qunyun.store.references import find_by_reference
from qunyun.store.tables import (
    ACTIVITY_INSERT_COLUMNS,
    activities,
    alerts,
    identities,
    member_topics,
    members,
    message_text,
    text_state,
)
from qunyun.store.types import encode_utc

BATCH = 5_000
# Messages are read for everything; reactions for the interests of who reacted (docs/text.md).
_MESSAGE_KINDS = frozenset(k.value for k in MESSAGE_KINDS)
_READ_KINDS = sorted(_MESSAGE_KINDS | {ActivityKind.REACTION.value})
# One message raises an alert only when strongly negative and not a question: on the simulated
# community a -0.6 cut alerted on 9% of messages, mostly questions ("孩子挑食有什么办法吗？").
NEGATIVE_ALERT_SCORE = -0.9
# English scores are VADER's compound (nlp/sentiment.py), on another scale: real complaints sit at
# -0.36 to -0.70 there. 4 of 12 hand-labelled English complaints reach -0.5 (one a question, which
# never alerts alone), none of 24 other messages (tests/data/english_chat_sentiment.tsv); the rest
# count in the negative share.
ENGLISH_ALERT_SCORE = -0.5
_QUESTION = re.compile(r"[？?]|吗|呢")
RISE_WINDOW = timedelta(hours=6)
RISE_BASELINE = timedelta(days=7)
RISE_MIN_NEGATIVE = 5
RISE_FACTOR = 2.0
_SEVERITY = {"fraud": "critical", "politics": "critical", "complaint": "warning", "abuse": "warning"}
REPEAT_ALERT = 3  # one member posting the same text this many times in one run: spam
REPEAT_GROUPS = 3  # the same text turning up in this many communities: spam


class Sentiment(Protocol):
    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score in [-1, 1]) per text: positive / neutral / negative."""
        ...


@dataclass
class TextModels:
    lexicon: TopicLexicon
    words: SensitiveWords
    sentiment: Sentiment | None = None
    half_life_days: float = 30.0
    settle: timedelta = timedelta(minutes=10)


@dataclass
class TextReport:
    messages: int = 0
    flags: int = 0
    alerts: int = 0
    tagged_members: int = 0
    reactions: int = 0
    last_activity_id: int = 0


@dataclass
class _Message:
    activity_id: int
    community_id: int
    identity_id: int
    member_id: int
    occurred_at: datetime
    text: str
    is_staff: bool
    kind: str = ActivityKind.MESSAGE.value
    reply_to: str | None = None


@dataclass
class _Batch:
    text_rows: list[tuple[Any, ...]] = field(default_factory=list)
    flag_rows: list[tuple[Any, ...]] = field(default_factory=list)
    alert_rows: list[dict[str, Any]] = field(default_factory=list)
    # (topic, keyword, the message (for a reaction: the message reacted to, at the reaction's time), weight)
    topic_hits: dict[tuple[int, int], list[tuple[str, str, _Message, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def _position(conn: Connection, workspace_id: int) -> int:
    found = conn.execute(
        select(text_state.c.last_activity_id).where(text_state.c.workspace_id == workspace_id)
    ).scalar()
    return int(found or 0)


def _next_messages(conn: Connection, workspace_id: int, after: int, cutoff: datetime) -> list[_Message]:
    rows = conn.execute(
        select(
            activities.c.id,
            activities.c.community_id,
            activities.c.identity_id,
            identities.c.member_id,
            activities.c.occurred_at,
            func.coalesce(activities.c.text, "").label("text"),
            (members.c.is_staff | members.c.is_bot).label("is_staff"),
            activities.c.kind,
            activities.c.reply_to,
        )
        .join(identities, identities.c.id == activities.c.identity_id)
        .join(members, members.c.id == identities.c.member_id)
        .where(
            identities.c.workspace_id == workspace_id,
            activities.c.id > after,
            activities.c.kind.in_(_READ_KINDS),
            activities.c.ingested_at <= cutoff,
        )
        .order_by(activities.c.id)
        .limit(BATCH)
    )
    return [_Message(*row) for row in rows]


def refresh_text(engine: Engine, workspace_id: int, clock: Clock, models: TextModels) -> TextReport:
    """Read every message not read before; returns what was found."""
    report = TextReport()
    settle = timedelta(0) if engine.dialect.name == "sqlite" else models.settle
    cutoff = clock.now() - settle
    repeats = RepeatCounter()
    while True:
        with engine.begin() as conn:
            after = _position(conn, workspace_id)
            batch = _next_messages(conn, workspace_id, after, cutoff)
            if not batch:
                report.last_activity_id = after
                break
            _process(conn, workspace_id, clock, models, batch, repeats, report)
            last = batch[-1].activity_id
            stamp = encode_utc(clock.now(), conn.dialect.name)
            upsert_rows(
                conn,
                text_state,
                ("workspace_id", "last_activity_id", "updated_at"),
                ("workspace_id",),
                [(workspace_id, last, stamp)],
            )
    return report


def _process(
    conn: Connection,
    workspace_id: int,
    clock: Clock,
    models: TextModels,
    batch: list[_Message],
    repeats: RepeatCounter,
    report: TextReport,
) -> None:
    dialect = conn.dialect.name
    now = encode_utc(clock.now(), dialect)
    reactions = [m for m in batch if m.kind not in _MESSAGE_KINDS]
    batch = [m for m in batch if m.kind in _MESSAGE_KINDS]
    normalized = [normalize(m.text) for m in batch]
    moods = (
        models.sentiment.predict([n.text for n in normalized]) if models.sentiment else [None] * len(batch)
    )
    out = _Batch()
    for message, text, mood in zip(batch, normalized, moods, strict=True):
        topics = [(hit.topic, hit.keyword) for hit in models.lexicon.find(text.text)]
        flags = [
            {"kind": "sensitive", "category": h.category, "term": h.term}
            for h in models.words.find(text.text)
        ]
        flags += [{"kind": "spam", "category": s.kind, "term": ""} for s in spam_signals(text)]
        times, places = repeats.add(text, str(message.community_id), str(message.member_id))
        if times == REPEAT_ALERT or (places == REPEAT_GROUPS and times == 1):
            flags.append({"kind": "spam", "category": "repeat", "term": f"{times}x, {places} group(s)"})
        label, score = mood if mood else (None, None)
        out.text_rows.append(
            (
                message.activity_id,
                workspace_id,
                message.community_id,
                label,
                score,
                topics,
                flags,
                clock.now(),
            )
        )
        for topic, keyword in topics:
            out.topic_hits[(message.community_id, message.member_id)].append((topic, keyword, message, 1.0))
        _flag_activities(out, message, flags, dialect, now)
        if not message.is_staff:
            _alerts(out, workspace_id, message, flags, score)
    _reacted_topics(conn, out, reactions, models.lexicon)
    _write(conn, out)
    report.messages += len(batch)
    report.reactions += len(reactions)
    report.flags += len(out.flag_rows)
    report.alerts += _insert_alerts(conn, out.alert_rows, clock)
    report.tagged_members += _update_topics(conn, out.topic_hits, models.half_life_days)
    if models.sentiment and batch:
        report.alerts += _negative_rise(conn, workspace_id, {m.community_id for m in batch}, batch[-1], clock)


def _reacted_topics(conn: Connection, out: _Batch, reactions: list[_Message], lexicon: TopicLexicon) -> None:
    """What a member reacted to counts for their interests at REACTION_WEIGHT, dated at the reaction."""
    targets = find_by_reference(
        conn, ((r.community_id, r.reply_to) for r in reactions if r.reply_to), _MESSAGE_KINDS
    )
    for reaction in reactions:
        target = targets.get((reaction.community_id, reaction.reply_to or ""))
        text = target.text if target else None
        if not text:
            continue
        reacted = _Message(
            reaction.activity_id,
            reaction.community_id,
            reaction.identity_id,
            reaction.member_id,
            reaction.occurred_at,
            text,
            reaction.is_staff,
            reaction.kind,
            reaction.reply_to,
        )
        for hit in lexicon.find(normalize(text).text):
            out.topic_hits[(reaction.community_id, reaction.member_id)].append(
                (hit.topic, hit.keyword, reacted, REACTION_WEIGHT)
            )


def _flag_activities(
    out: _Batch, message: _Message, flags: list[dict[str, str]], dialect: str, now: Any
) -> None:
    for flag in flags:
        text = f"{flag['kind']}:{flag['category']}" + (f":{flag['term']}" if flag["term"] else "")
        key = hashlib.blake2b(f"{message.activity_id}\x1f{text}".encode(), digest_size=16).hexdigest()
        out.flag_rows.append(
            (
                message.community_id,
                message.identity_id,
                ActivityKind.TEXT_FLAG.value,
                encode_utc(message.occurred_at, dialect),
                text,
                None,
                None,
                None,
                str(message.activity_id),
                "nlp",
                key,
                now,
            )
        )


def _negative_enough(text: str, score: float) -> bool:
    """Strongly negative on its language's scale and not a question: an alert on its own."""
    if score > ENGLISH_ALERT_SCORE or _QUESTION.search(text):
        return False
    # English's cut is the looser one, so only these few messages pay for the language check.
    return score <= (ENGLISH_ALERT_SCORE if is_english(prepare(text)) else NEGATIVE_ALERT_SCORE)


def _alerts(
    out: _Batch, workspace_id: int, message: _Message, flags: list[dict[str, str]], score: float | None
) -> None:
    def add(kind: str, severity: str, detail: dict[str, Any]) -> None:
        out.alert_rows.append(
            {
                "workspace_id": workspace_id,
                "community_id": message.community_id,
                "kind": kind,
                "severity": severity,
                "member_id": message.member_id,
                "activity_id": message.activity_id,
                "detail": detail | {"text": message.text[:200]},
                "occurred_at": message.occurred_at,
                "dedupe_key": f"{kind}:{message.activity_id}",
            }
        )

    if score is not None and _negative_enough(message.text, score):
        add("negative_message", "warning", {"score": round(score, 3)})
    sensitive = [f for f in flags if f["kind"] == "sensitive"]
    complaints = [f["term"] for f in sensitive if f["category"] == "complaint"]
    if complaints:
        add("complaint", "warning", {"terms": complaints})
    others = [f for f in sensitive if f["category"] != "complaint"]
    if others:
        worst = max((_SEVERITY.get(f["category"], "info") for f in others), key=_rank)
        add("sensitive_word", worst, {"hits": [[f["category"], f["term"]] for f in others]})
    spam = [f["category"] for f in flags if f["kind"] == "spam"]
    if spam:
        add("spam", "warning" if len(spam) > 1 or "repeat" in spam else "info", {"signals": spam})


def _rank(severity: str) -> int:
    return ["info", "warning", "critical"].index(severity)


def _write(conn: Connection, out: _Batch) -> None:
    if out.text_rows:
        conn.execute(
            insert(message_text),
            [
                dict(
                    zip(
                        (
                            "activity_id",
                            "workspace_id",
                            "community_id",
                            "sentiment",
                            "sentiment_score",
                            "topics",
                            "flags",
                            "processed_at",
                        ),
                        row,
                        strict=True,
                    )
                )
                for row in out.text_rows
            ],
        )
    insert_ignoring_conflicts(conn, activities, ACTIVITY_INSERT_COLUMNS, out.flag_rows)


def _insert_alerts(conn: Connection, rows: list[dict[str, Any]], clock: Clock) -> int:
    if not rows:
        return 0
    keys = [r["dedupe_key"] for r in rows]
    workspace = rows[0]["workspace_id"]
    known = set(
        conn.execute(
            select(alerts.c.dedupe_key).where(
                alerts.c.workspace_id == workspace, alerts.c.dedupe_key.in_(keys)
            )
        ).scalars()
    )
    fresh = [r | {"created_at": clock.now(), "status": "open"} for r in rows if r["dedupe_key"] not in known]
    if fresh:
        conn.execute(insert(alerts), fresh)
    return len(fresh)


def _update_topics(
    conn: Connection, hits: dict[tuple[int, int], list[tuple[str, str, _Message, float]]], half_life: float
) -> int:
    """Carry each member's stored topic scores forward to their newest message and add the new ones."""
    stored = _stored_topics(conn, hits)
    fresh: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for (community_id, member_id), found in hits.items():
        by_topic: dict[str, list[tuple[str, _Message, float]]] = defaultdict(list)
        for topic, keyword, message, weight in found:
            by_topic[topic].append((keyword, message, weight))
        for topic, entries in by_topic.items():
            old = stored.get((community_id, member_id, topic))
            newest = max(m.occurred_at for _, m, _ in entries)
            as_of = max(newest, old.as_of) if old else newest
            score = decay(old.score, old.as_of, as_of, half_life) if old else 0.0
            score += sum(decay(weight, m.occurred_at, as_of, half_life) for _, m, weight in entries)
            reasons = [
                {
                    "activity_id": m.activity_id,
                    "at": m.occurred_at.isoformat(),
                    "text": m.text[:120],
                    "keyword": k,
                    "reacted": weight < 1.0,
                }
                for k, m, weight in entries
            ] + (list(old.reasons) if old else [])
            # Written before reacted, then newest first (as nlp.interests orders them).
            reasons.sort(key=lambda r: r["at"], reverse=True)
            reasons.sort(key=lambda r: bool(r.get("reacted")))
            row = {"c": community_id, "m": member_id, "t": topic, "score": score, "as_of": as_of}
            (changed if old else fresh).append(row | {"reasons": reasons[:MAX_REASONS]})
    if fresh:
        conn.execute(
            insert(member_topics),
            [
                {"community_id": r["c"], "member_id": r["m"], "topic": r["t"]}
                | {k: r[k] for k in ("score", "as_of", "reasons")}
                for r in fresh
            ],
        )
    if changed:
        conn.execute(
            member_topics.update()
            .where(
                member_topics.c.community_id == bindparam("c"),
                member_topics.c.member_id == bindparam("m"),
                member_topics.c.topic == bindparam("t"),
            )
            .values(score=bindparam("score"), as_of=bindparam("as_of"), reasons=bindparam("reasons")),
            changed,
        )
    return len(hits)


def _stored_topics(
    conn: Connection, hits: dict[tuple[int, int], list[tuple[str, str, _Message, float]]]
) -> dict[tuple[int, int, str], Any]:
    """The stored topic rows of the batch's members, in a few queries (not one per member)."""
    wanted = set(hits)
    member_ids = sorted({member for _, member in wanted})
    found: dict[tuple[int, int, str], Any] = {}
    for start in range(0, len(member_ids), 500):
        rows = conn.execute(
            select(member_topics).where(member_topics.c.member_id.in_(member_ids[start : start + 500]))
        )
        for row in rows:
            if (row.community_id, row.member_id) in wanted:
                found[(row.community_id, row.member_id, row.topic)] = row
    return found


def _negative_rise(
    conn: Connection, workspace_id: int, communities: set[int], latest: _Message, clock: Clock
) -> int:
    """An alert per community whose negative share in the last hours is far above its baseline week."""
    end = latest.occurred_at
    raised = []
    for community_id in sorted(communities):
        recent = _sentiment_counts(conn, community_id, end - RISE_WINDOW, end)
        base = _sentiment_counts(conn, community_id, end - RISE_WINDOW - RISE_BASELINE, end - RISE_WINDOW)
        negative, total = recent
        base_negative, base_total = base
        if negative < RISE_MIN_NEGATIVE or not total:
            continue
        share = negative / total
        base_share = (base_negative + 1) / (base_total + 2)  # smoothed: a quiet baseline is not zero
        if share >= RISE_FACTOR * base_share:
            bucket = int(end.timestamp() // RISE_WINDOW.total_seconds())
            raised.append(
                {
                    "workspace_id": workspace_id,
                    "community_id": community_id,
                    "kind": "negative_rise",
                    "severity": "critical" if share >= 0.5 else "warning",
                    "member_id": None,
                    "activity_id": None,
                    "detail": {
                        "negative": negative,
                        "messages": total,
                        "share": round(share, 3),
                        "baseline_share": round(base_share, 3),
                        "window_hours": RISE_WINDOW.total_seconds() / 3600,
                    },
                    "occurred_at": end,
                    "dedupe_key": f"negative_rise:{community_id}:{bucket}",
                }
            )
    return _insert_alerts(conn, raised, clock)


def _sentiment_counts(conn: Connection, community_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    row = conn.execute(
        select(
            func.count().filter(message_text.c.sentiment == "negative"),
            func.count(),
        )
        .select_from(message_text)
        .join(activities, activities.c.id == message_text.c.activity_id)
        .where(
            message_text.c.community_id == community_id,
            activities.c.occurred_at > start,
            activities.c.occurred_at <= end,
            message_text.c.sentiment.is_not(None),
        )
    ).one()
    return int(row[0]), int(row[1])
