"""Weekly hot topics: the terms a community uses much more this week than in the weeks before.

Terms are jieba words of two or more characters (or Latin words of three or
more letters), stop words and numbers left out, counted once per message.
A term's lift is (this week's count + 1) / (mean count in the previous weeks + 1),
the +1 keeping a term that is new this week from an infinite lift on one use;
a term must appear in at least `min_count` messages this week to be shown.
"""

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jieba

from qunyun.nlp.normalize import normalize

_LATIN_WORD = re.compile(r"[a-z][a-z0-9'-]{2,}")
# A small stop list of chat filler; split from one string to keep this file short.
_STOP_TEXT = (
    "我们 你们 他们 大家 这个 那个 什么 怎么 就是 还是 可以 没有 一个 一下 现在 今天 明天 昨天 时候 "
    "觉得 知道 真的 已经 因为 所以 但是 而且 如果 这样 那么 然后 感觉 自己 有点 一起 收到 谢谢 好的 "
    "哈哈 哈哈哈 嗯嗯 the and for you that this with have has had are was were been but not all can "
    "just what from they your will would about there their them then than into some more very"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)  # jieba prints its dictionary loading to stderr otherwise
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def terms(text: str) -> set[str]:
    """The countable terms of one message (normalised first)."""
    clean = normalize(text).text
    # Without HMM: jieba's new-word guessing glues particles onto words (和定, 在手) in chat text.
    found = {word for word in _tokenizer().cut(clean, HMM=False) if len(word) >= 2 and _is_term(word)}
    found |= {word for word in _LATIN_WORD.findall(clean) if word not in STOP_WORDS}
    return found


def _is_term(word: str) -> bool:
    if word in STOP_WORDS or len(set(word)) == 1 or not any("\u4e00" <= ch <= "\u9fff" for ch in word):
        return False  # filler, laughter (哈哈哈哈), or no Chinese at all
    return not any(ch.isdigit() for ch in word)


@dataclass(frozen=True)
class HotTerm:
    term: str
    count: int
    baseline: float  # mean messages per previous week
    lift: float


def hot_terms(
    this_week: Iterable[str], previous_weeks: Sequence[Iterable[str]], top: int = 10, min_count: int = 5
) -> list[HotTerm]:
    """Rising terms of this week's messages against the mean of the previous weeks'."""
    now = Counter(term for text in this_week for term in terms(text))
    before: Counter[str] = Counter()
    for week in previous_weeks:
        before.update(term for text in week for term in terms(text))
    weeks = max(1, len(previous_weeks))
    rising = [
        HotTerm(term, count, before[term] / weeks, (count + 1) / (before[term] / weeks + 1))
        for term, count in now.items()
        if count >= min_count
    ]
    rising.sort(key=lambda hot: (-hot.lift, -hot.count, hot.term))
    return rising[:top]
