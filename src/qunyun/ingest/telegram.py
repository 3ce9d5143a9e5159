"""Telegram Desktop "Export chat history" JSON (`result.json`) as import rows.

Two shapes: a single chat (`{"name", "type", "id", "messages": [...]}`) or a full account
export (`{"chats": {"list": [chat, ...]}, "left_chats": {"list": [...]}}`). The file is read
as a stream of JSON events (ijson), one message object built at a time, so memory does not
grow with the export. It is read twice: the first pass only learns which display name
belongs to which user id, because service messages name the members they invite or remove
by display name alone.

Mapping onto activities (docs/import-format.md, "Telegram"):
- `message` from `from_id` → message, or reply (`reply_to_message_id`), or share
  (`forwarded_from`); text from a string or a list of text entities; a sticker without text
  becomes its emoji (a bare acknowledgement), other media without text stay empty; an edited
  message is still one activity (`edited` is ignored).
- reactions with their `recent` senders → one reaction activity per sender and emoji
  (reactions exported as counts only cannot be attributed and are skipped);
- service `join_group_by_link` / `join_group_by_request` → join of the actor;
  `invite_members` / `create_group` → join of each member named; `remove_members` → leave
  of each member named. Names are resolved to user ids through the first pass; a name never
  seen posting becomes the member `name:<display name>`.
- other service actions (pins, title changes, calls…) → nothing; one-to-one chats of a full
  account export (personal, bot, saved messages) → nothing.
Every activity carries a reference id (message id, plus sender and emoji for reactions), so
a re-import adds nothing.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from qunyun.errors import IngestError
from qunyun.ingest.rows import RowProblem

RawRow = tuple[int, dict[str, Any]]

_JOIN_ACTIONS = {"join_group_by_link", "join_group_by_request"}
# One-to-one chats in a full account export are not communities.
_NOT_COMMUNITIES = {"personal_chat", "bot_chat", "saved_messages"}
_NAMED_JOINS = {"invite_members", "create_group"}
_NAMED_LEAVES = {"remove_members"}


def message_text(value: Any) -> str:
    """A message's `text`: a plain string, or a list of strings and entity objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in value)
    return ""


class _Chats:
    """Walks the export's events, yielding (chat, message) with the chat's name and id."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def __iter__(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        chat: dict[str, Any] = {}
        builder: ijson.ObjectBuilder | None = None
        message_prefix = ""
        for prefix, event, value in ijson.parse(self.handle, use_float=True):
            if builder is not None:
                if prefix == message_prefix and event in ("end_map",):
                    builder.event(event, value)
                    yield chat, builder.value
                    builder = None
                    continue
                builder.event(event, value)
                continue
            if prefix.endswith("messages.item") and event == "start_map":
                message_prefix = prefix
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                continue
            chat = self._chat_field(chat, prefix, event, value)

    @staticmethod
    def _chat_field(chat: dict[str, Any], prefix: str, event: str, value: Any) -> dict[str, Any]:
        """Keep the current chat's name and id (they precede its messages in every export)."""
        if event == "start_map" and prefix in ("", "chats.list.item", "left_chats.list.item"):
            return {}
        for field in ("name", "id", "type"):
            if prefix in (field, f"chats.list.item.{field}", f"left_chats.list.item.{field}"):
                return {**chat, field: value}
        return chat


class TelegramSource:
    """`qunyun import telegram result.json`."""

    unit = "message"

    def __init__(self, path: Path, encoding: str = "auto") -> None:
        if not path.is_file():
            raise IngestError(f"{path}: no such file", code="import.unreadable")
        self.path = path
        self.encoding = "utf-8"  # JSON exports are UTF-8 by definition (RFC 8259)
        self._handle: IO[bytes] | None = None
        self._names: dict[str, str] = {}

    def bytes_read(self) -> int:
        handle = self._handle
        if handle is None or handle.closed:
            return self.path.stat().st_size
        return handle.tell()

    def __iter__(self) -> Iterator[RawRow | RowProblem]:
        self._names = self._learn_names()
        with self.path.open("rb") as handle:
            self._handle = handle
            try:
                for chat, message in _Chats(handle):
                    yield from self._rows(chat, message)
            except ijson.JSONError as exc:
                yield RowProblem(0, "*", f"the export is not valid JSON: {exc}", self.unit)

    def _learn_names(self) -> dict[str, str]:
        """Display name → user id, from every message's `from`/`from_id` (first pass)."""
        names: dict[str, str] = {}
        with self.path.open("rb") as handle:
            try:
                for _chat, message in _Chats(handle):
                    sender, sender_id = message.get("from"), message.get("from_id")
                    if isinstance(sender, str) and isinstance(sender_id, str):
                        names.setdefault(sender, sender_id)
            except ijson.JSONError as exc:
                raise IngestError(f"{self.path}: not valid JSON ({exc})", code="import.format") from exc
        return names

    def _rows(self, chat: dict[str, Any], message: dict[str, Any]) -> Iterator[RawRow | RowProblem]:
        number = int(message["id"]) if isinstance(message.get("id"), int | float) else 0
        if "id" not in chat:
            yield RowProblem(number, "*", "message outside a chat (no chat id before it)", self.unit)
            return
        if chat.get("type") in _NOT_COMMUNITIES:
            return
        base = {
            "platform": "telegram",
            "community": str(chat["id"]).removeprefix("-"),
            "community_name": chat.get("name"),
            "occurred_at": _when(message),
        }
        kind = message.get("type")
        if kind == "message":
            yield from self._message(number, base, message)
        elif kind == "service":
            yield from self._service(number, base, message)

    def _message(self, number: int, base: dict[str, Any], message: dict[str, Any]) -> Iterator[RawRow]:
        text = message_text(message.get("text"))
        if not text and message.get("media_type") == "sticker":
            text = str(message.get("sticker_emoji") or "")
        reply = message.get("reply_to_message_id")
        kind = "reply" if reply is not None else ("share" if message.get("forwarded_from") else "message")
        yield (
            number,
            {
                **base,
                "member": message.get("from_id"),
                "nickname": message.get("from"),
                "kind": kind,
                "text": text,
                "reference_id": str(number),
                "reply_to": None if reply is None else str(reply),
            },
        )
        for reaction in message.get("reactions") or []:
            emoji = reaction.get("emoji") or reaction.get("document_id") or reaction.get("type") or "?"
            for sender in reaction.get("recent") or []:
                yield (
                    number,
                    {
                        **base,
                        "occurred_at": _when(sender) or base["occurred_at"],
                        "member": sender.get("from_id"),
                        "nickname": sender.get("from"),
                        "kind": "reaction",
                        "text": str(emoji),
                        "reference_id": f"{number}:reaction:{sender.get('from_id')}:{emoji}",
                        "reply_to": str(number),
                    },
                )

    def _service(self, number: int, base: dict[str, Any], message: dict[str, Any]) -> Iterator[RawRow]:
        action = message.get("action")
        if action in _JOIN_ACTIONS:
            people = [(message.get("actor"), message.get("actor_id"))]
            kind = "join"
        elif action in _NAMED_JOINS | _NAMED_LEAVES:
            people = [
                (name, self._names.get(name) or f"name:{name}") for name in message.get("members") or []
            ]
            if action == "create_group":
                people.append((message.get("actor"), message.get("actor_id")))
            kind = "leave" if action in _NAMED_LEAVES else "join"
        else:
            return
        for name, member in people:
            if not member:
                continue
            yield (
                number,
                {
                    **base,
                    "member": member,
                    "nickname": name,
                    "kind": kind,
                    "reference_id": f"{number}:{kind}:{member}",
                },
            )


def _when(record: dict[str, Any]) -> str | None:
    """`date_unixtime` (exports since 2021) else `date` (local time without an offset)."""
    unix = record.get("date_unixtime")
    if unix:
        return str(unix)
    date = record.get("date")
    return None if date is None else str(date)
