"""One normalisation for all text work: what tags, sentiment and sensitive words see.

    >>> n = normalize("這個活動真的很讚！！詳情見 https://t.cn/abc @小林\u2005 👍")
    >>> n.text, n.urls, n.mentions, n.emoji
    ('这个活动真的很赞!!详情见 👍', ('https://t.cn/abc',), ('小林',), ('👍',))

Steps, in order: lone surrogates and control characters dropped (broken exports);
URLs and @mentions taken out (kept apart: links are a spam signal, mentions are
not what the member says); NFKC, so full-width letters, digits and punctuation
become half-width (Ａｂｃ１２３！ → Abc123!); traditional → simplified Chinese
(OpenCC's t2s tables); Latin letters lower-cased; runs of whitespace collapsed.
Emoji stay in the text (they carry sentiment) and are also listed; WeChat's
sticker codes (`[微笑]`, `[表情]`) count as emoji.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

MAX_CHARS = 20_000  # longer text is cut: a pasted novel says nothing a 20,000-character prefix does not

_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000，。！？、；：“”‘’（）【】<>\"']+", re.IGNORECASE)
# WeChat ends a mention with U+2005 (four-per-em space); other platforms with a space.
_MENTION = re.compile(r"@([^\s@\u2005\u3000,，:：]{1,32})[\u2005\s]?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]\ufe0f?"
    "|\\[[\u4e00-\u9fff]{1,4}\\]"  # WeChat sticker codes: [微笑] [表情] [强]
)


@dataclass(frozen=True)
class NormalizedText:
    text: str
    urls: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()

    @property
    def only_emoji(self) -> bool:
        """Nothing but emoji, stickers and punctuation: a reaction in words' clothing."""
        if not self.emoji:
            return False
        rest = _EMOJI.sub("", self.text)
        return not any(ch.isalnum() for ch in rest)


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_converter().convert(text))


def normalize(text: str | None) -> NormalizedText:
    if not text:
        return NormalizedText("")
    text = _CONTROL.sub("", text[:MAX_CHARS])
    urls = tuple(_URL.findall(text))
    if urls:
        text = _URL.sub(" ", text)
    mentions = tuple(_MENTION.findall(text)) if "@" in text else ()
    if mentions:
        text = _MENTION.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    text = _SPACES.sub(" ", text).strip()
    emoji = tuple(match.group() for match in _EMOJI.finditer(text))
    return NormalizedText(text, urls, mentions, emoji)
