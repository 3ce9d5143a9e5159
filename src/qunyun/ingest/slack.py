"""A Slack workspace export (the zip, or the folder it unpacks to) as import rows.

Layout: `users.json` and `channels.json` at the top, then one folder per channel holding one
JSON file per day (`2026-05-01.json`, an array of messages). Day files are small and read
one at a time, so memory stays flat however long the history; the zip is read in place.

Mapping onto activities (docs/import-format.md, "Slack"):
- the workspace is the community (its `team_id` from users.json, else the export's name);
- `subtype` `channel_join` → join, `channel_leave` → leave; `bot_message` (or any message
  with a `bot_id`, or from a user flagged `is_bot`) → left out; other system subtypes
  (topic, purpose, pins, …) → nothing;
- a message in a thread (`thread_ts` different from its own `ts`) → reply to the thread's
  first message; otherwise → message (edited messages are still one);
- `reactions[].users[]` → one reaction per user and emoji name, at the message's time;
- member: the user id; nickname the profile's display name, else real name, else name.
Reference ids are `channel:ts`, unique in a workspace, so a re-import inserts nothing.
"""

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from qunyun.errors import IngestError
from qunyun.ingest.rows import RowProblem

RawRow = tuple[int, dict[str, Any]]

_MEMBERSHIP = {"channel_join": "join", "channel_leave": "leave"}
# Subtypes that are people writing; everything else with a subtype is a system notice.
_WRITTEN = {None, "thread_broadcast", "file_share", "me_message", "file_comment"}


class _Tree:
    """The export's files, from a zip or a folder, as (relative path, bytes) on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> list[str]:
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if not n.endswith("/"))
        return sorted(str(p.relative_to(self.path).as_posix()) for p in self.path.rglob("*") if p.is_file())

    def size(self, name: str) -> int:
        if self.zip is not None:
            return self.zip.getinfo(name).file_size
        return (self.path / name).stat().st_size

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(name)
        return (self.path / name).read_bytes()


class SlackSource:
    """`qunyun import slack EXPORT.zip` (or the unpacked folder)."""

    unit = "message"

    def __init__(self, path: Path, encoding: str = "auto") -> None:
        if not (path.is_dir() or zipfile.is_zipfile(path)):
            raise IngestError(f"{path}: not a Slack export (a .zip or its folder)", code="import.unreadable")
        self.path = path
        self.encoding = "utf-8"
        self._tree = _Tree(path)
        self._done = 0

    def total_bytes(self) -> int:
        """What the progress bar counts to: the uncompressed JSON files."""
        return sum(self._tree.size(n) for n in self._tree.names() if n.endswith(".json"))

    def bytes_read(self) -> int:
        return self._done

    def __iter__(self) -> Iterator[RawRow | RowProblem]:
        names = self._tree.names()
        top = {PurePosixPath(n).name: n for n in names if "/" not in n.strip("/")}
        if "users.json" not in top or "channels.json" not in top:
            raise IngestError(f"{self.path}: users.json or channels.json missing", code="import.format")
        users = {u["id"]: u for u in self._json(top["users.json"]) if isinstance(u, dict) and "id" in u}
        channels = [c for c in self._json(top["channels.json"]) if isinstance(c, dict)]
        community = next((str(u["team_id"]) for u in users.values() if u.get("team_id")), self.path.stem)
        for channel in channels:
            folder = str(channel.get("name", ""))
            for name in (n for n in names if PurePosixPath(n).parent.name == folder and n.endswith(".json")):
                day = self._json(name)
                if not isinstance(day, list):
                    yield RowProblem(0, "*", "a day file must hold a JSON array", f"{name} message")
                    continue
                self.unit = f"{name} message"  # problems name the day file and the message's place
                for index, message in enumerate(day, start=1):
                    if isinstance(message, dict):
                        yield from self._rows(community, channel, users, index, message)

    def _json(self, name: str) -> Any:
        data = self._tree.read(name)
        self._done += len(data)
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IngestError(f"{self.path}: {name}: not valid JSON ({exc})", code="import.format") from exc

    def _rows(
        self,
        community: str,
        channel: dict[str, Any],
        users: dict[str, dict[str, Any]],
        index: int,
        message: dict[str, Any],
    ) -> Iterator[RawRow | RowProblem]:
        subtype = message.get("subtype")
        user = message.get("user")
        if message.get("bot_id") or subtype == "bot_message" or users.get(user or "", {}).get("is_bot"):
            return
        ts, thread = message.get("ts"), message.get("thread_ts")
        channel_id = str(channel.get("id", channel.get("name")))
        if subtype in _MEMBERSHIP:
            kind = _MEMBERSHIP[subtype]
        elif subtype in _WRITTEN:
            kind = "reply" if thread and thread != ts else "message"
        else:
            return
        base = {"platform": "slack", "community": community, "occurred_at": ts}
        yield (
            index,
            {
                **base,
                "member": user,
                "nickname": _nickname(users.get(user or "")),
                "kind": kind,
                "text": message.get("text") if kind in ("message", "reply") else None,
                "reference_id": f"{channel_id}:{ts}",
                "reply_to": f"{channel_id}:{thread}" if kind == "reply" else None,
            },
        )
        for reaction in message.get("reactions") or []:
            emoji = str(reaction.get("name") or "?")
            for reactor in reaction.get("users") or []:
                if users.get(reactor, {}).get("is_bot"):
                    continue
                yield (
                    index,
                    {
                        **base,
                        "member": reactor,
                        "nickname": _nickname(users.get(reactor)),
                        "kind": "reaction",
                        "text": f":{emoji}:",
                        "reference_id": f"{channel_id}:{ts}:reaction:{reactor}:{emoji}",
                        "reply_to": f"{channel_id}:{ts}",
                    },
                )


def _nickname(user: dict[str, Any] | None) -> str | None:
    if not user:
        return None
    profile = user.get("profile") or {}
    return (
        str(
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or ""
        )
        or None
    )
