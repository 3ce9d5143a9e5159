"""Topics, interest tags with decay, weekly hot terms: hand-made messages, hand-computed scores."""

from datetime import UTC, datetime, timedelta

import pytest

from qunyun.nlp.hot import hot_terms, terms
from qunyun.nlp.interests import TextEvent, decay, interest_tags
from qunyun.nlp.normalize import normalize
from qunyun.nlp.topics import TopicLexicon

LEXICON = TopicLexicon.default()
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "topics"),
    [
        ("周末带娃去露营，顺便拍照", {"育儿", "旅行", "摄影"}),
        ("這個優惠券怎麼領？", {"优惠活动"}),  # traditional characters
        ("My CAT loves this", {"宠物"}),
        ("education matters", set()),  # "cat" inside a word is not a cat
        ("Excel透视表怎么做", {"职场/技能提升"}),
        ("今天天气不错", set()),
        ("", set()),
    ],
)
def test_topics_found(message: str, topics: set[str]) -> None:
    assert {hit.topic for hit in LEXICON.find(normalize(message).text)} == topics


def test_custom_lexicon_and_its_errors() -> None:
    custom = TopicLexicon.from_toml('["咖啡"]\nkeywords = ["手冲", "拿铁", "latte"]\n', "topics.toml")
    assert [h.topic for h in custom.find(normalize("今天的拿鐵不错").text)] == ["咖啡"]
    with pytest.raises(ValueError, match=r"topics\.toml"):
        TopicLexicon.from_toml('["x"]\nkeywords = 3\n', "topics.toml")


def test_interest_scores_decay_and_keep_their_reasons() -> None:
    events = [
        TextEvent("m1", NOW - timedelta(days=30), "这个构图怎么调？"),  # 摄影: 1 x 0.5
        TextEvent("m2", NOW, "新镜头到了"),  # 摄影: 1
        TextEvent("m3", NOW - timedelta(days=60), "分享一张风光照", reacted=True),  # 摄影: 0.5 x 0.25
        TextEvent("m4", NOW - timedelta(days=90), "这本小说真好看"),  # 读书: 0.125, under the cut
        TextEvent("m5", NOW + timedelta(days=1), "明天的相机"),  # after as_of: ignored
    ]
    tags = interest_tags(events, NOW, LEXICON, half_life_days=30)
    assert [(t.topic, round(t.score, 6)) for t in tags] == [("摄影", 1.625)]
    assert [(r.reference, r.keyword, r.reacted) for r in tags[0].reasons] == [
        ("m2", "镜头", False),
        ("m1", "构图", False),
        ("m3", "风光", True),
    ]


def test_weak_topics_are_not_tags() -> None:
    events = [TextEvent(f"p{i}", NOW - timedelta(days=i), "今天的构图练习") for i in range(8)]  # 摄影 ~7
    events.append(TextEvent("q", NOW, "孩子挑食怎么办"))  # 育儿 1: over 0.5, under a quarter of 摄影
    assert [t.topic for t in interest_tags(events, NOW, LEXICON)] == ["摄影"]
    assert [t.topic for t in interest_tags(events, NOW, LEXICON, relative_cut=0)] == ["摄影", "育儿"]


def test_decay_is_incremental() -> None:
    first = [
        TextEvent("a", NOW - timedelta(days=40), "跑步打卡"),
        TextEvent("b", NOW - timedelta(days=20), "健身"),
    ]
    later = [TextEvent("c", NOW - timedelta(days=5), "瑜伽课")]
    middle = NOW - timedelta(days=10)
    stored = interest_tags(first, middle, LEXICON, min_score=0)[0].score
    carried = decay(stored, middle, NOW, 30) + interest_tags(later, NOW, LEXICON, min_score=0)[0].score
    full = interest_tags(first + later, NOW, LEXICON, min_score=0)[0].score
    assert carried == pytest.approx(full)


def test_terms_and_hot_terms() -> None:
    assert {"露营", "相机"} <= terms("周末一起去露营吧，带上相机拍星空")
    assert terms("收到，谢谢 123") == set()
    this_week = ["露营装备推荐一下", "周末露营的营地在哪", "露营好冷", "早餐吃什么"] * 2
    before = [["早餐吃什么", "早餐好吃"], ["早餐", "相机"]]
    hot = hot_terms(this_week, before, min_count=2)
    assert [(h.term, h.count, h.baseline) for h in hot][:1] == [("露营", 6, 0.0)]
    assert hot[0].lift == pytest.approx(7.0)
    assert all(h.term != "早餐" or h.lift < 2 for h in hot)
