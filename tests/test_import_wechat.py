"""WeChatMsg / MemoTrace CSV exports in their three layouts, by hand (fixtures in
tests/data/wechat, written by us from the exporter's documented columns)."""

import csv
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from helpers import read_with_peak, run_import, stored_activities
from qunyun.errors import IngestError
from qunyun.ingest import RowDefaults
from qunyun.ingest.wechat import ENGLISH_NEW, system_event
from qunyun.store.tables import activities, communities, identities

DATA = Path(__file__).parent / "data" / "wechat"
ROOM = "12345678@chatroom"


def _activities(engine: Engine) -> list[tuple[object, ...]]:
    columns = [communities.c.external_id, identities.c.external_id, activities.c.kind]
    columns += [activities.c.text, activities.c.occurred_at]
    return stored_activities(engine, columns, [activities.c.occurred_at, identities.c.external_id])


def _at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """Shanghai wall time of May 2026 as aware UTC."""
    return datetime(2026, 5, day, hour - 8, minute, second, tzinfo=UTC)


def test_twelve_column_export_with_bom_maps_every_case(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "群聊.csv"
    source.write_bytes((DATA / "memotrace_new.csv").read_bytes())
    report = run_import(engine, workspace_id, source, fmt="wechat")
    assert _activities(engine) == [
        (ROOM, "name:Carol", "join", None, _at(1, 9, 0)),  # "Alice"邀请"Bob、Carol"加入了群聊 …
        (ROOM, "wxid_bob", "join", None, _at(1, 9, 0)),  # … Bob resolved by the name he sends under
        (ROOM, "wxid_alice", "message", "大家好", _at(1, 9, 5)),
        (ROOM, "wxid_bob", "message", "你好呀，\n第二行", _at(1, 9, 6)),  # a quoted newline
        (ROOM, "wxid_bob", "message", "[表情]", _at(1, 9, 7)),  # sticker: a bare acknowledgement
        (ROOM, "wxid_alice", "message", None, _at(1, 9, 8)),  # image: no text
        (ROOM, "wxid_alice", "share", "好文分享", _at(1, 9, 9)),  # link card: its title
        (ROOM, "self", "message", "我是群主", _at(1, 9, 10)),  # the exporting account
        (ROOM, "name:Dave", "join", None, _at(1, 9, 11)),  # joined by QR code; recall: nothing
        ("wxid_frank", "wxid_frank", "message", "私聊消息", _at(1, 9, 46, 40)),  # 9 fields: private chat
        (ROOM, "name:Carol", "leave", None, _at(2, 9, 0)),
    ]
    assert (report.inserted, report.rejected) == (11, 1)
    assert report.problems == ["line 13, field occurred_at: not an ISO 8601 timestamp: 'soon'"]
    assert run_import(engine, workspace_id, source, fmt="wechat").inserted == 0


def test_nine_column_gbk_export_reads_the_sender_from_the_content(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "old.csv"
    source.write_bytes((DATA / "wechatmsg_old_gbk.csv").read_bytes())
    run_import(engine, workspace_id, source, fmt="wechat")
    assert _activities(engine) == [
        ("87654321@chatroom", "wxid_gina", "message", "早上好", _at(1, 9, 5)),
        ("87654321@chatroom", "self", "message", "收到", _at(1, 9, 6)),
    ]


def test_chinese_header_export_needs_a_community_and_a_zone(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "zh.csv"
    source.write_bytes((DATA / "memotrace_chinese.csv").read_bytes())
    defaults = RowDefaults(community="book-club", assume_tz=ZoneInfo("Asia/Shanghai"))
    report = run_import(engine, workspace_id, source, fmt="wechat", defaults=defaults)
    assert report.rejected == 0
    assert _activities(engine) == [
        ("book-club", "wxid_alice", "message", "大家好", _at(1, 9, 5)),
        ("book-club", "name:Erin", "join", None, _at(1, 9, 6)),
        ("book-club", "wxid_alice", "message", "[表情]", _at(1, 9, 7)),
    ]


def test_an_unknown_header_is_refused_naming_the_expected_ones(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "other.csv"
    source.write_text("time,who,what\n", encoding="utf-8")
    with pytest.raises(IngestError, match="not a WeChatMsg/MemoTrace header"):
        run_import(engine, workspace_id, source, fmt="wechat")


@pytest.mark.parametrize(
    ("content", "event"),
    [
        ('"Alice"邀请"Bob、Carol"加入了群聊', ("join", ["Bob", "Carol"])),
        ('你邀请"Bob"加入了群聊', ("join", ["Bob"])),
        ('"Dave"通过扫描"Alice"分享的二维码加入群聊', ("join", ["Dave"])),
        ('"Eve"加入了群聊', ("join", ["Eve"])),
        ('"Carol"退出了群聊', ("leave", ["Carol"])),
        ('你将"Bob"移出了群聊', ("leave", ["Bob"])),
        ('"Alice" 撤回了一条消息', None),
        ("群主已启用“群聊邀请确认”", None),
    ],
)
def test_system_notices(content: str, event: tuple[str, list[str]] | None) -> None:
    assert system_event(content) == event


def _generated(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(ENGLISH_NEW)
        for i in range(rows):
            writer.writerow(
                [
                    i,
                    ROOM,
                    "1",
                    "0",
                    "0",
                    1_777_597_200 + i,
                    "0",
                    "消息 " + "x" * 200,
                    "",
                    "",
                    f"n{i % 3000}",
                    f"wxid_{i % 3000}",
                ]
            )


def test_reading_a_large_export_takes_constant_memory(tmp_path: Path) -> None:
    def peak(rows: int) -> tuple[int, int]:
        path = tmp_path / f"{rows}.csv"
        _generated(path, rows)
        return read_with_peak("wechat", path)

    (small_rows, small_peak), (large_rows, large_peak) = peak(5_000), peak(100_000)
    assert (small_rows, large_rows) == (5_000, 100_000)
    assert large_peak < small_peak + 2**20, (small_peak, large_peak)
