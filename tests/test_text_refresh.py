"""The text pass of refresh on a hand-made community: flags, alerts, topic scores, incrementality."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from conftest import T0
from helpers import row, run_import, write_csv
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.lifecycle.text_models import text_models
from qunyun.lifecycle.text_refresh import Sentiment, TextModels, refresh_text
from qunyun.nlp.interests import TextEvent, interest_tags
from qunyun.nlp.sensitive import SensitiveWords
from qunyun.nlp.sentiment import default_model
from qunyun.nlp.topics import TopicLexicon
from qunyun.store.tables import activities, alerts, identities, member_topics, members, message_text

DAY = timedelta(days=1)


class KeywordMood:
    """A stand-in sentiment model: negative when the text says 失望 or 差, else positive."""

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        return [("negative", -0.9) if ("失望" in t or "差" in t) else ("positive", 0.8) for t in texts]


def _models(sentiment: Sentiment | None = None) -> TextModels:
    return TextModels(TopicLexicon.default(), SensitiveWords.default(), sentiment, half_life_days=30)


def _import(engine: Engine, workspace_id: int, tmp_path: Path, name: str, rows: list[dict[str, str]]) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / name, rows))


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_flags_alerts_and_topics(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    rows = [
        row("2026-06-01T10:00:00+00:00", "u1", "message", "有需要的加我vx: abc_123 私聊领取"),
        row("2026-06-01T11:00:00+00:00", "u2", "message", "客服一直不回复，我要投诉"),
        row("2026-06-01T12:00:00+00:00", "u3", "message", "新镜头到了"),
        row("2026-06-11T12:00:00+00:00", "u3", "message", "这个构图怎么样"),
        row("2026-06-11T13:00:00+00:00", "staff", "message", "投诉请找客服小王"),
        row("2026-06-11T14:00:00+00:00", "u4", "join"),
    ]
    _import(engine, workspace_id, tmp_path, "a.csv", rows)
    with engine.begin() as conn:
        staff = conn.execute(
            select(identities.c.member_id).where(identities.c.external_id == "staff")
        ).scalar()
        conn.execute(update(members).where(members.c.id == staff).values(is_staff=True))
    report = refresh_text(engine, workspace_id, FixedClock(T0 + 30 * DAY), _models())
    assert (report.messages, report.tagged_members) == (5, 1)
    assert _count(engine, message_text) == 5
    with engine.connect() as conn:
        flags = sorted(
            conn.execute(select(activities.c.text).where(activities.c.kind == "text_flag")).scalars()
        )
        raised = sorted(tuple(r) for r in conn.execute(select(alerts.c.kind, alerts.c.severity)))
        tags = conn.execute(select(member_topics)).all()
    assert flags == [
        "sensitive:advertising:私聊领取",
        "sensitive:complaint:不回复",
        "sensitive:complaint:投诉",
        "sensitive:complaint:投诉",  # staff messages are flagged too ...
        "spam:contact_id",
    ]
    assert raised == [
        ("complaint", "warning"),
        ("sensitive_word", "info"),
        ("spam", "info"),
    ]  # ... but raise nothing
    assert len(tags) == 1
    assert tags[0].topic == "摄影"
    assert tags[0].score == pytest.approx(1 + 0.5 ** (10 / 30))  # the older message decayed to the newer
    assert [r["keyword"] for r in tags[0].reasons] == ["构图", "镜头"]

    # Nothing new: nothing read, nothing doubled.
    again = refresh_text(engine, workspace_id, FixedClock(T0 + 31 * DAY), _models())
    assert again.messages == 0
    assert _count(engine, activities, activities.c.kind == "text_flag") == 5

    # One more message, read incrementally: the stored score is carried forward, not recomputed.
    _import(
        engine,
        workspace_id,
        tmp_path,
        "b.csv",
        [row("2026-06-21T12:00:00+00:00", "u3", "message", "拍照好难")],
    )
    assert refresh_text(engine, workspace_id, FixedClock(T0 + 32 * DAY), _models()).messages == 1
    with engine.connect() as conn:
        score = conn.execute(select(member_topics.c.score)).scalar_one()
    assert score == pytest.approx(1 + 0.5 ** (10 / 30) + 0.5 ** (20 / 30))


def test_what_a_member_reacts_to_counts_half(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    rows = [
        row("2026-06-01T10:00:00+00:00", "u1", "message", "新镜头到了", reference_id="m1"),
        row("2026-06-01T12:00:00+00:00", "u2", "reaction", "👍", reply_to="m1"),
        row(
            "2026-06-01T13:00:00+00:00", "u3", "reaction", "👍", reply_to="unknown"
        ),  # a message we never saw
    ]
    _import(engine, workspace_id, tmp_path, "r.csv", rows)
    report = refresh_text(engine, workspace_id, FixedClock(T0 + 30 * DAY), _models())
    assert (report.messages, report.reactions) == (1, 2)
    with engine.connect() as conn:
        tags = {
            (r.external_id, r.topic): (r.score, r.reasons)
            for r in conn.execute(
                select(
                    identities.c.external_id,
                    member_topics.c.topic,
                    member_topics.c.score,
                    member_topics.c.reasons,
                ).join(identities, identities.c.member_id == member_topics.c.member_id)
            )
        }
    assert set(tags) == {("u1", "摄影"), ("u2", "摄影")}
    score, reasons = tags[("u2", "摄影")]
    assert score == pytest.approx(0.5)
    assert reasons[0]["reacted"] is True
    assert reasons[0]["text"] == "新镜头到了"


def test_negative_messages_and_a_negative_rise(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    calm = [
        row((start + i * timedelta(hours=6)).isoformat(), f"u{i % 7}", "message", f"今天很好 {i}")
        for i in range(28)
    ]
    storm = [
        row((start + 7 * DAY + i * timedelta(minutes=30)).isoformat(), f"u{i}", "message", f"服务太差了 {i}")
        for i in range(6)
    ]
    _import(engine, workspace_id, tmp_path, "c.csv", calm + storm)
    report = refresh_text(engine, workspace_id, FixedClock(T0 + 30 * DAY), _models(KeywordMood()))
    with engine.connect() as conn:
        kinds = sorted(conn.execute(select(alerts.c.kind)).scalars())
        sentiments = sorted(conn.execute(select(message_text.c.sentiment)).scalars())
    assert kinds.count("negative_message") == 6
    assert kinds.count("negative_rise") == 1
    assert sentiments.count("negative") == 6
    assert report.alerts == 7


def test_english_messages_alert_on_their_own_scale(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    """The shipped model: English goes to VADER, whose complaints sit well above -0.9."""
    texts = {
        "The quality is awful, it broke after one use.": True,  # compound -0.70
        "This update is terrible, the app keeps crashing.": False,  # -0.48: negative, no alert alone
        "Tip: write the conclusion on the first slide.": False,
        "Talking of presentations: learned a lot. 🙏": False,
        "质量太差了，再也不买了": True,  # the n-gram model: -0.95
    }
    at = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [
        row((at + i * timedelta(hours=1)).isoformat(), f"u{i}", "message", t) for i, t in enumerate(texts)
    ]
    _import(engine, workspace_id, tmp_path, "e.csv", rows)
    refresh_text(engine, workspace_id, FixedClock(T0 + 30 * DAY), _models(default_model()))
    with engine.connect() as conn:
        alerted = set(
            conn.execute(
                select(activities.c.text)
                .join(alerts, alerts.c.activity_id == activities.c.id)
                .where(alerts.c.kind == "negative_message")
            ).scalars()
        )
        moods = dict(
            conn.execute(
                select(activities.c.text, message_text.c.sentiment).join(
                    message_text, message_text.c.activity_id == activities.c.id
                )
            ).all()
        )
    assert alerted == {t for t, alert in texts.items() if alert}
    assert moods["This update is terrible, the app keeps crashing."] == "negative"
    assert moods["Tip: write the conclusion on the first slide."] == "neutral"


def test_incremental_passes_equal_one_recompute(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qunyun.lifecycle.text_refresh.BATCH", 3)  # many small batches
    texts = ["新镜头到了", "周末去跑步", "这本小说好看", "构图怎么调", "健身打卡", "拍照技巧", "读书会见"]
    rows = [
        row(f"2026-06-{1 + i:02d}T0{i % 10}:00:00+00:00", f"u{i % 3}", "message", texts[i % len(texts)])
        for i in range(21)
    ]
    for part in range(3):
        _import(engine, workspace_id, tmp_path, f"p{part}.csv", rows[part * 7 : (part + 1) * 7])
        refresh_text(engine, workspace_id, FixedClock(T0 + 40 * DAY), _models())
    lexicon = TopicLexicon.default()
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                identities.c.external_id, member_topics.c.topic, member_topics.c.score, member_topics.c.as_of
            ).join(identities, identities.c.member_id == member_topics.c.member_id)
        ).all()
    assert stored
    for member, topic, score, as_of in stored:
        events = [
            TextEvent(str(i), datetime.fromisoformat(r["occurred_at"]), r["text"])
            for i, r in enumerate(rows)
            if r["member"] == member
        ]
        expected = {
            t.topic: t.score for t in interest_tags(events, as_of, lexicon, min_score=0, relative_cut=0)
        }
        assert score == pytest.approx(expected[topic]), (member, topic)


def test_an_edited_lexicon_applies_from_the_next_pass(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    lexicon_file = tmp_path / "topics.toml"
    lexicon_file.write_text('["咖啡"]\nkeywords = ["拿铁"]\n', encoding="utf-8")
    settings = load_settings(None, environ={"QUNYUN_TEXT__TOPICS_FILE": str(lexicon_file)})
    _import(
        engine,
        workspace_id,
        tmp_path,
        "a.csv",
        [row("2026-06-01T10:00:00+00:00", "u1", "message", "手冲真香")],
    )
    refresh_text(engine, workspace_id, FixedClock(T0 + 30 * DAY), text_models(settings))
    lexicon_file.write_text('["咖啡"]\nkeywords = ["拿铁", "手冲"]\n', encoding="utf-8")
    _import(
        engine,
        workspace_id,
        tmp_path,
        "b.csv",
        [row("2026-06-02T10:00:00+00:00", "u1", "message", "手冲第二杯")],
    )
    refresh_text(engine, workspace_id, FixedClock(T0 + 31 * DAY), text_models(settings))
    with engine.connect() as conn:
        [(topic, score)] = conn.execute(select(member_topics.c.topic, member_topics.c.score)).all()
    assert topic == "咖啡"
    assert score == pytest.approx(1.0)  # only the message read after the edit; past messages are not re-read
