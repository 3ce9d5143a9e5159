"""Texts and names: composing what members write from `corpus` phrases.

All randomness is drawn with numpy in one call per batch (a matrix of
uniforms); the per-item Python work is list lookups and one `str.format`,
which keeps text generation off the simulator's hot path.
"""

from collections.abc import Sequence
from itertools import product
from string import Formatter

import numpy as np
from numpy.typing import NDArray

from qunyun.sim import corpus
from qunyun.sim.corpus import Phrases

Bools = NDArray[np.bool_]
Ints = NDArray[np.int64]


def _pick(options: Sequence[str], u: float) -> str:
    """The option at uniform position u in [0, 1)."""
    return options[int(u * len(options))]


def _fields(name: str, p: Phrases, resources: Sequence[str]) -> Sequence[str]:
    pools = {
        "act": p.acts,
        "comment": p.comments,
        "question": p.questions,
        "kw": p.keywords,
        "kw2": p.keywords,
        "tip": p.tips,
        "res": resources,
    }
    return pools[name]


def _expand(template: str, p: Phrases, resources: Sequence[str]) -> list[str]:
    """Every sentence a template yields for a topic (A 和 B never compares A with A)."""
    names = [name for _, name, _, _ in Formatter().parse(template) if name]
    sentences = []
    for combo in product(*(_fields(name, p, resources) for name in names)):
        values = dict(zip(names, combo, strict=True))
        if "kw2" not in values or values["kw"] != values["kw2"]:
            sentences.append(template.format(**values))
    return sentences


class _Bodies:
    """All message bodies, enumerated once: a few thousand strings in all.

    Sampling picks a template uniformly, then one of its sentences, so a
    template with many combinations is not over-represented. Drawing an
    index per message with numpy leaves only string concatenation to Python.
    """

    def __init__(self) -> None:
        # Language 0 is Chinese, 1 English (the value of `english`).
        languages = ((corpus.ZH_TEMPLATES, corpus.ZH_RESOURCES), (corpus.EN_TEMPLATES, ("resources",)))
        width = max(len(templates) for templates, _ in languages)
        shape = (len(languages), len(corpus.TOPICS), width)
        self.texts: list[str] = []
        self.first = np.zeros(shape, dtype=np.int64)
        self.count = np.ones(shape, dtype=np.int64)
        self.templates = np.array([len(templates) for templates, _ in languages])
        for lang, (templates, resources) in enumerate(languages):
            for topic, t in enumerate(corpus.TOPICS):
                phrases = t.en if lang else t.zh
                for k, template in enumerate(templates):
                    sentences = _expand(template, phrases, resources)
                    self.first[lang, topic, k] = len(self.texts)
                    self.count[lang, topic, k] = len(sentences)
                    self.texts.extend(sentences)

    def sample(self, u: NDArray[np.float64], lang: Ints, topic: Ints) -> Ints:
        """Body indices from two uniform columns u[:, 0] (template), u[:, 1] (sentence)."""
        template = (u[:, 0] * self.templates[lang]).astype(np.int64)
        count = self.count[lang, topic, template]
        index: Ints = self.first[lang, topic, template] + (u[:, 1] * count).astype(np.int64)
        return index


_BODIES = _Bodies()
# Openers, endings and acknowledgements of both languages in one list each,
# English after Chinese; `_offsets` says where each language starts.
_OPENERS = corpus.ZH_OPENERS + corpus.EN_OPENERS
_ENDINGS = corpus.ZH_ENDINGS + corpus.EN_ENDINGS
_ACKS = corpus.ZH_ACKS + corpus.EN_ACKS


def _offsets(zh: Sequence[str], en: Sequence[str]) -> tuple[Ints, Ints]:
    return np.array([0, len(zh)]), np.array([len(zh), len(en)])


def _choose(u: NDArray[np.float64], lang: Ints, zh: Sequence[str], en: Sequence[str]) -> Ints:
    """Index into zh + en of a uniform choice within each entry's language."""
    first, size = _offsets(zh, en)
    index: Ints = first[lang] + (u * size[lang]).astype(np.int64)
    return index


def messages(rng: np.random.Generator, topic: Ints, english: Bools, ack: Bools) -> list[str]:
    """Message texts: a topical sentence, or a bare acknowledgement where `ack`."""
    u = rng.random((len(topic), 5))
    lang = english.astype(np.int64)
    body = _BODIES.sample(u[:, :2], lang, topic).tolist()
    opener = _choose(u[:, 2], lang, corpus.ZH_OPENERS, corpus.EN_OPENERS).tolist()
    ending = _choose(u[:, 3], lang, corpus.ZH_ENDINGS, corpus.EN_ENDINGS).tolist()
    acks = _choose(u[:, 4], lang, corpus.ZH_ACKS, corpus.EN_ACKS).tolist()
    texts, openers, endings = _BODIES.texts, _OPENERS, _ENDINGS
    return [
        _ACKS[a] if is_ack else openers[o] + texts[b] + endings[e]
        for b, o, e, a, is_ack in zip(body, opener, ending, acks, ack.tolist(), strict=True)
    ]


def _share(topic: int, english: bool, u: Sequence[float]) -> str:
    p = corpus.TOPICS[topic].en if english else corpus.TOPICS[topic].zh
    template = _pick(corpus.EN_SHARES if english else corpus.ZH_SHARES, u[0])
    return template.format(kw=_pick(p.keywords, u[1]), n=3 + int(u[2] * 10), code=int(u[3] * 1e6))


def shares(rng: np.random.Generator, topic: Ints, english: Bools) -> list[str]:
    """Texts of shared links: a title about the topic and a (fake) URL."""
    u = rng.random((len(topic), 4)).tolist()
    return [_share(t, e, row) for t, e, row in zip(topic.tolist(), english.tolist(), u, strict=True)]


def _complaint(english: bool, u: Sequence[float]) -> str:
    if english:
        return _pick(corpus.EN_COMPLAINTS, u[0])
    return _pick(corpus.ZH_COMPLAINT_OPENERS, u[1]) + _pick(corpus.ZH_COMPLAINTS, u[0])


def complaints(rng: np.random.Generator, english: Bools) -> list[str]:
    """Complaint texts (negative on purpose: for sentiment and ticket demos)."""
    u = rng.random((len(english), 2)).tolist()
    return [_complaint(e, row) for e, row in zip(english.tolist(), u, strict=True)]


def reactions(rng: np.random.Generator, n: int) -> list[str]:
    """The emoji of each reaction."""
    return [_pick(corpus.REACTIONS, u) for u in rng.random(n).tolist()]


def products(rng: np.random.Generator, topic: Ints) -> list[str]:
    """What was bought: a product of the buyer's topic."""
    u = rng.random(len(topic)).tolist()
    return [_pick(corpus.TOPICS[t].products, x) for t, x in zip(topic.tolist(), u, strict=True)]


def _nickname(english: bool, u: Sequence[float]) -> str:
    if english:
        return _pick(corpus.EN_FIRST, u[1]) + _pick(corpus.EN_SUFFIX, u[2])
    style = u[0]
    surname, given, given2 = (
        _pick(corpus.SURNAMES, u[1]),
        _pick(corpus.GIVEN, u[2]),
        _pick(corpus.GIVEN, u[3]),
    )
    if style < 0.30:
        return surname + given + given2
    if style < 0.50:
        return surname + given
    if style < 0.62:
        return ("小" if u[4] < 0.6 else "阿") + given
    if style < 0.72:
        return surname + _pick(corpus.HONORIFICS, u[4])
    if style < 0.80:
        return given + given + ("妈妈" if u[4] < 0.7 else "爸爸")
    return _pick(corpus.PHRASE_NICKS, u[4])


def nicknames(rng: np.random.Generator, english: Bools) -> list[str]:
    """Display names: Chinese-looking names and phrases, English handles where `english`."""
    u = rng.random((len(english), 5)).tolist()
    return [_nickname(e, row) for e, row in zip(english.tolist(), u, strict=True)]


def phones(rng: np.random.Generator, n: int) -> list[str]:
    """Fake mainland mobile numbers, "+86 13812345678" style."""
    prefix = rng.integers(0, len(corpus.PHONE_PREFIXES), n).tolist()
    rest = rng.integers(0, 100_000_000, n).tolist()
    return [f"+86 {corpus.PHONE_PREFIXES[p]}{r:08d}" for p, r in zip(prefix, rest, strict=True)]
