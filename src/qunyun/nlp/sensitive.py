"""Sensitive words: one Aho-Corasick automaton over a lexicon of categorised terms.

Evasions the matcher survives (each has a test): inserted spaces or symbols
("加 微-信", "傻*逼"), full-width letters ("ｓｂ"), traditional characters
("詐騙"-style variants via OpenCC), upper case, and toneless pinyin of
multi-character terms ("jia wei xin"). Matching runs over the *compact* form
of the normalised text: Chinese characters, letters and digits only. Latin
keys (English terms, pinyin) must not be glued to further letters, so "sb"
finds "s b", "S.B." and "SB" but not the middle of "isbest", and "fuck" finds
"fuck this".
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from qunyun.nlp.lexicon_file import packaged_lexicon, parse_lexicon, read_lexicon
from qunyun.nlp.normalize import normalize

_CJK_RANGES = (("\u4e00", "\u9fff"), ("\u3400", "\u4dbf"))


def _is_cjk(ch: str) -> bool:
    return any(low <= ch <= high for low, high in _CJK_RANGES)


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z"


def compact(text: str) -> str:
    """Chinese characters, letters and digits of already-normalised text, nothing else."""
    return "".join(ch for ch in text if ch.isalnum())


@dataclass(frozen=True)
class WordHit:
    category: str
    term: str  # the lexicon's term (not the evasive spelling found)
    found: str  # what matched in the compact text (the term, or its pinyin)


class SensitiveWords:
    """Build once per lexicon (`from_mapping`, `default`, `from_file`); `find` is thread-safe."""

    def __init__(self, lexicon: Mapping[str, Iterable[str]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.categories: dict[str, list[str]] = {}
        for category, terms in lexicon.items():
            for term in terms:
                self._add(category, term)
        if len(self._automaton) == 0:
            self._automaton.add_word("\x00", ("", "", "\x00", True))  # an empty automaton cannot be built
        self._automaton.make_automaton()

    def _add(self, category: str, term: str) -> None:
        key = compact(normalize(term).text)
        if not key:
            return
        self.categories.setdefault(category, []).append(term)
        latin = all(_is_latin(ch) or ch.isdigit() for ch in key)
        self._automaton.add_word(key, (category, term, key, latin))
        hanzi = [ch for ch in key if _is_cjk(ch)]
        if len(hanzi) >= 2 and len(hanzi) == len(key):
            # Imported here: loading its phrase dictionary costs ~0.4 s, which every CLI command
            # (the text pass's module is imported by `refresh`) paid even with text disabled.
            from pypinyin import lazy_pinyin

            spelled = "".join(lazy_pinyin(key))
            self._automaton.add_word(spelled, (category, term, spelled, True))

    @classmethod
    def from_mapping(cls, lexicon: Mapping[str, Iterable[str]]) -> "SensitiveWords":
        return cls(lexicon)

    @classmethod
    def from_toml(cls, text: str, where: str) -> "SensitiveWords":
        return cls(parse_lexicon(text, where, "terms"))

    @classmethod
    def from_file(cls, path: Path) -> "SensitiveWords":
        return cls(read_lexicon(path, "terms"))

    @classmethod
    def default(cls) -> "SensitiveWords":
        return cls(packaged_lexicon("sensitive_words.toml", "terms"))

    def extended(self, other: "SensitiveWords") -> "SensitiveWords":
        """This lexicon with another's categories and terms added (the operator's file on the default)."""
        merged: dict[str, list[str]] = {c: list(t) for c, t in self.categories.items()}
        for category, terms in other.categories.items():
            merged.setdefault(category, []).extend(t for t in terms if t not in merged[category])
        return SensitiveWords(merged)

    def find(self, normalized_text: str) -> list[WordHit]:
        """Hits in text already passed through `normalize` (one per term, first occurrence)."""
        squeezed, gaps = _compact_with_gaps(normalized_text)
        hits: dict[str, WordHit] = {}
        for end, (category, term, key, latin) in self._automaton.iter(squeezed):
            if term in hits or not category:
                continue
            start = end - len(key) + 1
            if latin and not _alone(squeezed, gaps, start, end):
                continue
            hits[term] = WordHit(category, term, key)
        return list(hits.values())


def _compact_with_gaps(text: str) -> tuple[str, list[bool]]:
    """The compact text, and for each of its characters whether a space or symbol preceded it."""
    chars: list[str] = []
    gaps: list[bool] = []
    gap = False
    for ch in text:
        if ch.isalnum():
            chars.append(ch)
            gaps.append(gap)
            gap = False
        else:
            gap = True
    return "".join(chars), gaps


def _alone(text: str, gaps: list[bool], start: int, end: int) -> bool:
    """A Latin key stands alone: no letter joins it on either side without a space or symbol between."""
    joined_before = start > 0 and _is_latin(text[start - 1]) and not gaps[start]
    joined_after = end + 1 < len(text) and _is_latin(text[end + 1]) and not gaps[end + 1]
    return not (joined_before or joined_after)
