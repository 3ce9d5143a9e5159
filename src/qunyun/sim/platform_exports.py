"""Simulated activity written as a platform's own export, for the demo and benchmarks.

`write_memotrace_csv` writes a WeChat group chat the way WeChatMsg / MemoTrace
(留痕) exports it (12-column layout, docs/import-format.md "WeChat"): text
messages with the sender's wxid and nickname, joins and leaves as the group's
system notices (Type 10000). What a WeChat export cannot hold (reactions,
views, purchases) is left out, as it would be in a real one.
"""

import csv
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from qunyun.domain import MESSAGE_KINDS, ActivityKind, ActivityRecord
from qunyun.domain.export_formats import MEMOTRACE_COLUMNS

MEMOTRACE_HEADER = list(MEMOTRACE_COLUMNS)
_TEXT, _SYSTEM = "1", "10000"


def write_memotrace_csv(records: Iterable[ActivityRecord], path: Path, chatroom: str, zone: ZoneInfo) -> int:
    """Write the records (any order) as one group's export, oldest first; returns rows written."""
    rows = sorted(
        (r for r in records if r.kind in MESSAGE_KINDS or r.kind in (ActivityKind.JOIN, ActivityKind.LEAVE)),
        key=lambda r: (r.occurred_at, r.member),
    )
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(MEMOTRACE_HEADER)
        for local_id, record in enumerate(rows, start=1):
            name = (record.nickname or record.member).replace('"', "'")
            if record.kind in MESSAGE_KINDS:
                kind, content, sender = _TEXT, record.text or "", record.member
            else:
                verb = "加入了群聊" if record.kind is ActivityKind.JOIN else "退出了群聊"
                kind, content, sender = _SYSTEM, f'"{name}"{verb}', ""
            stamp = int(record.occurred_at.timestamp())
            local = record.occurred_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            nickname = name if sender else ""
            row = [local_id, chatroom, kind, "0", "0", stamp, "2", content, local, "", nickname, sender]
            writer.writerow(row)
    return len(rows)
