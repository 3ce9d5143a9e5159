"""DiscordChatExporter JSON (one channel per file) as import rows; a folder of channel files
of one server is one community.

Each file: `{"guild": {...}, "channel": {...}, "dateRange": ..., "exportedAt": ...,
"messages": [...], "messageCount": n}`. Messages are streamed one object at a time
(ijson), so memory does not grow with the export.

Mapping onto activities (docs/import-format.md, "Discord"):
- `Default` → message; `Reply` (or any message with a `reference`) → reply, `reply_to` the
  referenced message id; `GuildMemberJoin` → join of the author; `ThreadCreated` → message;
  pins, calls, channel changes and other system types → nothing;
- `reactions[].users[]` → one reaction per user and emoji, at the message's time (exports
  carry no reaction time); reactions with a count and no users cannot be attributed and are
  skipped;
- messages whose author `isBot` are left out (bots are not members: honest metrics);
- an edited message (`timestampEdited`) is still one activity;
- community: the guild id (name: the guild's name); member: the author id, nickname the
  server nickname or the user name. The channel becomes part of the reference id, so one
  message id never collides across channels.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from qunyun.errors import IngestError
from qunyun.ingest.rows import RowProblem

RawRow = tuple[int, dict[str, Any]]

_MESSAGES = {"Default", "ThreadCreated", "ChatInputCommand", "ContextMenuCommand"}


def _header(handle: IO[bytes], path: Path) -> dict[str, Any]:
    """Guild and channel, which precede the messages in every export."""
    header: dict[str, Any] = {}
    for prefix, event, value in ijson.parse(handle):
        if prefix in ("guild.id", "guild.name", "channel.id", "channel.name") and event == "string":
            header[prefix] = value
        if prefix == "messages" and event == "start_array":
            break
    if "guild.id" not in header or "channel.id" not in header:
        raise IngestError(
            f"{path}: not a DiscordChatExporter JSON file (no guild/channel)", code="import.format"
        )
    return header


class DiscordSource:
    """`qunyun import discord PATH`: one exported channel file, or a folder of them."""

    unit = "message"

    def __init__(self, path: Path, encoding: str = "auto") -> None:
        if path.is_dir():
            self.files = sorted(p for p in path.glob("*.json") if p.is_file())
        elif path.is_file():
            self.files = [path]
        else:
            raise IngestError(f"{path}: no such file or folder", code="import.unreadable")
        if not self.files:
            raise IngestError(f"{path}: no .json files in the folder", code="import.unreadable")
        self.path = path
        self.encoding = "utf-8"  # JSON is UTF-8 (RFC 8259)
        self._done = 0
        self._handle: IO[bytes] | None = None

    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    def bytes_read(self) -> int:
        current = 0 if self._handle is None or self._handle.closed else self._handle.tell()
        return self._done + current

    def __iter__(self) -> Iterator[RawRow | RowProblem]:
        self._done = 0
        for file in self.files:
            with file.open("rb") as handle:
                self._handle = handle
                try:
                    header = _header(handle, file)
                    handle.seek(0)
                    for ordinal, message in enumerate(ijson.items(handle, "messages.item"), start=1):
                        # Problems name the message id (a snowflake) where it is a number.
                        raw_id = str(message.get("id") or "")
                        number = int(raw_id) if raw_id.isdigit() else ordinal
                        yield from self._rows(header, number, message)
                except ijson.JSONError as exc:
                    raise IngestError(f"{file}: not valid JSON ({exc})", code="import.format") from exc
            self._done += file.stat().st_size

    def _rows(
        self, header: dict[str, Any], number: int, message: dict[str, Any]
    ) -> Iterator[RawRow | RowProblem]:
        author = message.get("author") or {}
        if author.get("isBot"):
            return
        kind = message.get("type")
        reference = (message.get("reference") or {}).get("messageId")
        if kind == "GuildMemberJoin":
            activity = "join"
        elif kind == "Reply" or (kind in _MESSAGES and reference):
            activity = "reply"
        elif kind in _MESSAGES:
            activity = "message"
        else:
            return
        channel = header["channel.id"]
        base = {
            "platform": "discord",
            "community": header["guild.id"],
            "community_name": header.get("guild.name"),
            "occurred_at": message.get("timestamp"),
        }
        message_id = str(message.get("id") or number)
        yield (
            number,
            {
                **base,
                "member": author.get("id"),
                "nickname": author.get("nickname") or author.get("name"),
                "kind": activity,
                "text": message.get("content") or "",
                "reference_id": f"{channel}:{message_id}",
                "reply_to": None if activity != "reply" else f"{channel}:{reference}",
            },
        )
        for reaction in message.get("reactions") or []:
            emoji = (reaction.get("emoji") or {}).get("name") or "?"
            for user in reaction.get("users") or []:
                if user.get("isBot"):
                    continue
                yield (
                    number,
                    {
                        **base,
                        "member": user.get("id"),
                        "nickname": user.get("nickname") or user.get("name"),
                        "kind": "reaction",
                        "text": emoji,
                        "reference_id": f"{channel}:{message_id}:reaction:{user.get('id')}:{emoji}",
                        "reply_to": f"{channel}:{message_id}",
                    },
                )
