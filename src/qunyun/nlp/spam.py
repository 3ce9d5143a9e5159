"""Spam signals in one message: contact details and invitations that pull members elsewhere (引流).

Per message: a mainland mobile number (spaces, dashes and dots between digits
ignored, so "138 1234-5678" counts), a WeChat/QQ id offered ("加我vx: abc_123",
"薇信 abc123", "qq 12345678"), a QR-code invitation ("扫码进群", "扫一扫加我"),
and links. Repetition (the same text many times, or in many groups) needs
history and is counted where messages are stored (`RepeatCounter`).
"""

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass

from qunyun.nlp.normalize import NormalizedText

_DIGIT_GAPS = re.compile(r"(?<=\d)[\s\-_.·]+(?=\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_WECHAT_ID = re.compile(
    r"(?<![a-z])(?:微信|薇信|威信|徽信|wei ?xin|weixin|vx|v信|wx|加v|q ?q|扣扣)\s*(?:号|id)?\s*[:：]?\s*"
    r"([a-z][-_a-z0-9]{5,19}|\d{5,12})"
)
_QR_INVITE = re.compile(r"(?:扫码|扫一扫|二维码|长按识别).{0,8}?(?:进群|加群|入群|加我|领取|关注|好友)")


@dataclass(frozen=True)
class SpamSignal:
    kind: str  # phone | contact_id | qr_invite | link | repeat
    value: str


def spam_signals(text: NormalizedText) -> list[SpamSignal]:
    """Contact details and invitations in one normalised message (values as found)."""
    joined = _DIGIT_GAPS.sub("", text.text)
    found = [SpamSignal("phone", m.group()[-11:]) for m in _PHONE.finditer(joined)]
    found += [SpamSignal("contact_id", m.group(1)) for m in _WECHAT_ID.finditer(text.text)]
    found += [SpamSignal("qr_invite", m.group()) for m in _QR_INVITE.finditer(text.text)]
    found += [SpamSignal("link", url) for url in text.urls]
    return found


class RepeatCounter:
    """Counts near-identical texts (same normalised form) per member and across communities.

    Spam is one account posting the same text again and again, or the same text turning
    up in many groups; different members asking the same ordinary question is not. Memory
    is bounded: the least recently seen texts are forgotten past `capacity`. Short texts
    (acknowledgements such as "收到", "+1") are never counted.
    """

    def __init__(self, min_chars: int = 8, capacity: int = 200_000) -> None:
        self.min_chars = min_chars
        self.capacity = capacity
        self._seen: OrderedDict[str, tuple[dict[str, int], set[str]]] = OrderedDict()

    def add(self, text: NormalizedText, community: str, member: str) -> tuple[int, int]:
        """Record one post; returns (times this member posted it, communities it was seen in)."""
        if len(text.text) < self.min_chars:
            return 0, 0
        key = hashlib.blake2b(text.text.encode(), digest_size=12).hexdigest()
        by_member, places = self._seen.pop(key, ({}, set()))
        by_member[member] = by_member.get(member, 0) + 1
        places.add(community)
        self._seen[key] = (by_member, places)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return by_member[member], len(places)
