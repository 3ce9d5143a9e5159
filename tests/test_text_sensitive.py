"""Normalisation, sensitive words and spam signals on hand-labelled messages, evasions included."""

import pytest

from qunyun.nlp.normalize import normalize
from qunyun.nlp.sensitive import SensitiveWords
from qunyun.nlp.spam import RepeatCounter, spam_signals

WORDS = SensitiveWords.default()


@pytest.mark.parametrize(
    ("raw", "text", "urls", "mentions", "emoji"),
    [
        ("Ｈｅｌｌｏ，ＷＯＲＬＤ１２３！", "hello,world123!", (), (), ()),
        ("這個課程對職場新人很有幫助", "这个课程对职场新人很有帮助", (), (), ()),
        ("@小林\u2005明天见👍", "明天见👍", (), ("小林",), ("👍",)),
        (
            "看这里 https://example.com/a?b=1，很有用",
            "看这里 ,很有用",
            ("https://example.com/a?b=1",),
            (),
            (),
        ),
        ("[微笑][微笑]", "[微笑][微笑]", (), (), ("[微笑]", "[微笑]")),
        ("", "", (), (), ()),
    ],
)
def test_normalize(
    raw: str, text: str, urls: tuple[str, ...], mentions: tuple[str, ...], emoji: tuple[str, ...]
) -> None:
    found = normalize(raw)
    assert (found.text, found.urls, found.mentions, found.emoji) == (text, urls, mentions, emoji)


def test_normalize_survives_bad_text() -> None:
    assert normalize("坏\udcff字节\x00控制").text == "坏字节控制"
    assert normalize("👍🎉👏").only_emoji
    assert normalize("[表情]").only_emoji
    assert not normalize("好👍").only_emoji
    long = normalize("长" * 100_000)  # a 100 KB message: cut, not choked on
    assert len(long.text) == 20_000


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("想要资料的加微信", {("advertising", "加微信")}),
        ("加 微-信 领资料", {("advertising", "加微信")}),  # inserted space and symbol
        ("加＊微＊信", {("advertising", "加微信")}),  # full-width symbols
        ("jia wei xin 领资料", {("advertising", "加微信")}),  # pinyin
        ("这是刷單返利的好機會", {("advertising", "刷单"), ("fraud", "刷单返利")}),  # traditional
        ("你个傻*逼", {("abuse", "傻逼")}),
        ("ＳＢ一个", {("abuse", "sb")}),  # full-width latin
        ("S.B.", {("abuse", "sb")}),
        ("This is the best", set()),  # "sb" inside words is not a hit
        ("Fuck this", {("abuse", "fuck")}),
        ("稳赚不赔，快进投资群", {("fraud", "稳赚不赔"), ("fraud", "投资群")}),
        ("今天的直播干货满满，谢谢老师", set()),
        ("垃圾分类讲座下周开始", set()),  # 垃圾 alone is not the insult 垃圾人
        ("", set()),
    ],
)
def test_sensitive_words(message: str, expected: set[tuple[str, str]]) -> None:
    assert {(hit.category, hit.term) for hit in WORDS.find(normalize(message).text)} == expected


def test_operators_extend_the_lexicon(tmp_path: object) -> None:
    custom = SensitiveWords.from_toml('[competitor]\nterms = ["某某商城", "mou"]\n', "qunyun.toml")
    assert [(h.category, h.term) for h in custom.find(normalize("去某某商城买更便宜").text)] == [
        ("competitor", "某某商城")
    ]
    assert custom.find(normalize("moumoushangcheng").text)[0].term == "某某商城"  # pinyin of the new term
    with pytest.raises(ValueError, match=r"qunyun.toml: \[\"bad\"\] needs terms"):
        SensitiveWords.from_toml('[bad]\nterms = "x"\n', "qunyun.toml")
    assert SensitiveWords.from_mapping({}).find("anything") == []


@pytest.mark.parametrize(
    ("message", "signals"),
    [
        ("有需要的加我vx: abc_123", [("contact_id", "abc_123")]),
        ("薇信 hello99 私聊", [("contact_id", "hello99")]),
        ("QQ 12345678", [("contact_id", "12345678")]),
        ("电话 138 1234-5678 随时联系", [("phone", "13812345678")]),
        ("+86 13912345678", [("phone", "13912345678")]),
        ("扫码进群领福利 https://x.cn/q", [("qr_invite", "扫码进群"), ("link", "https://x.cn/q")]),
        ("订单号 20261124123456 已发货", []),  # a long number is not a phone
        ("twxyz123 is my handle", []),
        ("今天天气不错", []),
    ],
)
def test_spam_signals(message: str, signals: list[tuple[str, str]]) -> None:
    assert [(s.kind, s.value) for s in spam_signals(normalize(message))] == signals


def test_repeat_counter_counts_per_member_and_places_not_acknowledgements() -> None:
    counter = RepeatCounter(capacity=3)
    ad = normalize("限时特价，私信我领取优惠券！！")
    assert counter.add(ad, "g1", "bot") == (1, 1)
    assert counter.add(normalize("限時特價，私信我領取優惠券！！"), "g2", "bot") == (
        2,
        2,
    )  # same once normalised
    assert counter.add(ad, "g2", "alice") == (1, 2)  # another member: counted apart
    assert counter.add(normalize("收到"), "g1", "bot") == (0, 0)
    for i in range(3):
        counter.add(normalize(f"另外一条足够长的消息 {i}"), "g1", "bot")
    assert counter.add(ad, "g1", "bot") == (1, 1)  # forgotten past capacity
