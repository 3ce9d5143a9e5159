"""WeChat group chat history as exported by WeChatMsg / MemoTrace (留痕), as import rows.

Three CSV layouts, detected from the header (docs/import-format.md, "WeChat"):
- since 0.2.7: `localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,
  Remark,NickName,Sender` (private chats write only the first 9 fields under this header);
- before 0.2.7: the first 9 of those columns;
- newer versions: the Chinese header `消息ID,类型,发送人,时间,内容,备注,昵称,更多信息`.
CreateTime is unix seconds; StrTime and 时间 are local time without an offset (the Chinese
layout needs `--assume-timezone`). `Type`: 1 text, 3 image, 34 voice, 43 video, 47 sticker,
49 app/link, 10000 system. Encodings: UTF-8 with or without BOM, GBK/GB18030.

Mapping onto activities:
- text, image, voice, video → message (media without text: empty text); sticker →
  message "[表情]" (a bare acknowledgement); app/link → share with the card's title;
- system messages: "…邀请…加入了群聊", "…通过扫描…分享的二维码加入群聊", "…加入了群聊" → join
  of each member named; "…退出了群聊", "…将…移出了群聊" → leave; recalls and other notices →
  nothing. Names are resolved to wxids through a first pass over the file (the NickName and
  Sender of messages); a name never seen sending becomes the member `name:<nickname>`.
- member: `Sender` (the wxid in a group); without it (the 9-column layout), a group message's
  raw `wxid:` first line; the exporting account's own messages (IsSender 1) → the member
  `self`; in a private chat, the other party is `TalkerId`.
- community: `TalkerId` (`…@chatroom`); the Chinese layout has no chat id: pass
  `--community`. No reference id: the activity's identity is its content (member, time, kind, text),
  which survives re-exporting the same chat from another machine (local ids do not).
"""

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qunyun.domain.export_formats import MEMOTRACE_COLUMNS, MEMOTRACE_OLD_COLUMNS
from qunyun.errors import IngestError
from qunyun.ingest.rows import RowProblem
from qunyun.ingest.sources import _FileSource

RawRow = tuple[int, dict[str, Any]]

ENGLISH = list(MEMOTRACE_OLD_COLUMNS)
ENGLISH_NEW = list(MEMOTRACE_COLUMNS)
CHINESE = ["消息ID", "类型", "发送人", "时间", "内容", "备注", "昵称", "更多信息"]
# The Chinese layout writes type names; both spellings map to the numeric codes.
_TYPE_NAMES = {
    "文本": "1",
    "图片": "3",
    "语音": "34",
    "视频": "43",
    "表情包": "47",
    "表情": "47",
    "链接": "49",
    "分享卡片": "49",
    "文件": "49",
    "系统消息": "10000",
    "系统通知": "10000",
}
_QUOTED = r'"?([^"]+?)"?'
_JOINS = [
    re.compile(rf"^{_QUOTED}邀请{_QUOTED}加入了群聊"),
    re.compile(rf"^{_QUOTED}通过扫描{_QUOTED}分享的二维码加入群聊"),
]
_JOINED = re.compile(rf"^{_QUOTED}加入了群聊")
_LEFT = re.compile(rf"^{_QUOTED}退出了群聊")
_REMOVED = re.compile(rf"将{_QUOTED}移出了群聊")
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_SENDER_PREFIX = re.compile(r"^([A-Za-z][\w-]{4,}):\n")


def system_event(content: str) -> tuple[str, list[str]] | None:
    """('join'|'leave', names) for a membership notice, else None."""
    text = content.strip()
    for pattern in _JOINS:
        found = pattern.match(text)
        if found:
            invited = found.group(2) if pattern is _JOINS[0] else found.group(1)
            return "join", [n.strip('" ') for n in re.split(r"[、，,]", invited) if n.strip('" ')]
    for pattern, kind in ((_LEFT, "leave"), (_REMOVED, "leave"), (_JOINED, "join")):
        found = pattern.search(text) if pattern is _REMOVED else pattern.match(text)
        if found:
            return kind, [n.strip('" ') for n in re.split(r"[、，,]", found.group(1)) if n.strip('" ')]
    return None


class WechatSource(_FileSource):
    """`qunyun import wechat messages.csv` (WeChatMsg / MemoTrace export)."""

    def __init__(self, path: Path, encoding: str = "auto") -> None:
        super().__init__(path, encoding)
        self._names: dict[str, str] = {}

    def __iter__(self) -> Iterator[RawRow | RowProblem]:
        self._names = dict(self._learn_names())
        for line, row in self._records():
            if isinstance(row, RowProblem):
                yield row
            else:
                yield from self._rows(line, row)

    def _records(self) -> Iterator[tuple[int, dict[str, str] | RowProblem]]:
        """(line, record by English column name) for every data row."""
        with self._open_text() as text:
            reader = csv.reader(text)
            try:
                header = [h.strip().lstrip("\ufeff") for h in next(reader)]
            except StopIteration as exc:
                raise IngestError(f"{self.path}: empty file", code="import.format") from exc
            columns = _layout(header, self.path)
            start = reader.line_num + 1
            for values in reader:
                line, start = start, reader.line_num + 1
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) == len(columns):
                    yield line, dict(zip(columns, values, strict=True))
                elif columns == ENGLISH_NEW and len(values) == len(ENGLISH):  # a private chat's row
                    yield line, dict(zip(ENGLISH, values, strict=True))
                else:
                    yield line, RowProblem(line, "*", f"expected {len(columns)} columns, found {len(values)}")

    def _learn_names(self) -> Iterator[tuple[str, str]]:
        for _line, row in self._records():
            if isinstance(row, dict) and row.get("NickName") and row.get("Sender"):
                yield row["NickName"], row["Sender"]

    def _rows(self, line: int, row: dict[str, str]) -> Iterator[RawRow]:
        talker = row.get("TalkerId") or ""
        base = {
            "platform": "wechat",
            "community": talker or None,
            "occurred_at": row.get("CreateTime") or row.get("StrTime"),
        }
        code = row.get("Type", "").strip()
        code = _TYPE_NAMES.get(code, code)
        content = row.get("StrContent", "")
        if code == "10000":
            event = system_event(content)
            if event is not None:
                kind, names = event
                for name in names:
                    member = self._names.get(name) or f"name:{name}"
                    yield line, {**base, "member": member, "nickname": name, "kind": kind}
            return
        member = row.get("Sender") or ("self" if row.get("IsSender") == "1" else talker)
        if not row.get("Sender") and talker.endswith("@chatroom") and row.get("IsSender") != "1":
            # Layouts without a Sender column keep WeChat's raw group form "wxid:\ncontent".
            prefixed = _SENDER_PREFIX.match(content)
            if prefixed:
                member, content = prefixed.group(1), content[prefixed.end() :]
        kind, text = "message", content
        if code in ("3", "34", "43"):
            text = ""
        elif code == "47":
            text = "[表情]"
        elif code == "49":
            found = _TITLE.search(content)
            kind, text = "share", (found.group(1).strip() if found else "")
        nickname = row.get("NickName") or None
        yield line, {**base, "member": member, "nickname": nickname, "kind": kind, "text": text}


def _layout(header: list[str], path: Path) -> list[str]:
    if header[: len(ENGLISH_NEW)] == ENGLISH_NEW:
        return ENGLISH_NEW
    if header[: len(ENGLISH)] == ENGLISH:
        return ENGLISH
    if header[: len(CHINESE)] == CHINESE:
        return ["localId", "Type", "Sender", "StrTime", "StrContent", "Remark", "NickName", "More"]
    raise IngestError(
        f"{path}: line 1: not a WeChatMsg/MemoTrace header (expected {','.join(ENGLISH_NEW)}, "
        f"its first 9 columns, or {','.join(CHINESE)})",
        code="import.format",
    )
