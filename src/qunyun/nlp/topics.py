"""Topics: a lexicon of topic → keywords, matched in normalised text with one automaton.

Chinese keywords match anywhere (Chinese has no spaces to stand between
words); Latin keywords must stand as words, so "cat" does not tag "education".
A single-character Chinese keyword (猫, 狗, 娃) is kept short on purpose: the
lexicon is the operator's to tune, and the reason shown with each tag says
which word led to it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from qunyun.nlp.lexicon_file import packaged_lexicon, parse_lexicon, read_lexicon
from qunyun.nlp.normalize import normalize


@dataclass(frozen=True)
class TopicHit:
    topic: str
    keyword: str


def _word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class TopicLexicon:
    def __init__(self, lexicon: Mapping[str, Iterable[str]]) -> None:
        self.topics: dict[str, list[str]] = {}
        self._automaton = ahocorasick.Automaton()
        for topic, keywords in lexicon.items():
            for keyword in keywords:
                key = normalize(keyword).text
                if key:
                    self.topics.setdefault(topic, []).append(key)
                    latin = all(ch.isascii() for ch in key)
                    existing = self._automaton.get(key, ())
                    self._automaton.add_word(key, (*existing, (topic, key, latin)))
        if len(self._automaton) == 0:
            self._automaton.add_word("\x00", ())
        self._automaton.make_automaton()

    @classmethod
    def from_toml(cls, text: str, where: str) -> "TopicLexicon":
        return cls(parse_lexicon(text, where, "keywords"))

    @classmethod
    def from_file(cls, path: Path) -> "TopicLexicon":
        return cls(read_lexicon(path, "keywords"))

    @classmethod
    def default(cls) -> "TopicLexicon":
        return cls(packaged_lexicon("topics.toml", "keywords"))

    def find(self, normalized_text: str) -> list[TopicHit]:
        """One hit per topic (its first keyword found) in text already passed through `normalize`."""
        found: dict[str, TopicHit] = {}
        for end, entries in self._automaton.iter(normalized_text):
            for topic, key, latin in entries:
                if topic in found:
                    continue
                start = end - len(key) + 1
                if latin and not _stands_alone(normalized_text, start, end):
                    continue
                found[topic] = TopicHit(topic, key)
        return list(found.values())


def _stands_alone(text: str, start: int, end: int) -> bool:
    before = start > 0 and _word_char(text[start - 1])
    after = end + 1 < len(text) and _word_char(text[end + 1])
    return not (before or after)
