"""Telegram Desktop JSON exports: every case of the format, by hand (fixtures in tests/data/telegram,
written by us from the export's public description), re-import, bad input, constant memory."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from helpers import read_with_peak, run_import, stored_activities
from qunyun.store.tables import activities, communities, identities

DATA = Path(__file__).parent / "data" / "telegram"


def _activities(engine: Engine) -> list[tuple[object, ...]]:
    c = (communities.c.external_id, identities.c.external_id, activities.c.kind)
    return stored_activities(
        engine,
        [*c, activities.c.text, activities.c.occurred_at],
        [activities.c.occurred_at, identities.c.external_id, activities.c.kind],
    )


def _at(hour: int, minute: int, day: int = 1) -> datetime:
    """A time of May 2026 in Shanghai (the fixture's `date` column), as aware UTC."""
    return datetime(2026, 5, day, hour - 8, minute, tzinfo=UTC)


def test_single_chat_export_maps_every_case(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    source = tmp_path / "result.json"
    source.write_bytes((DATA / "single_chat.json").read_bytes())
    report = run_import(engine, workspace_id, source, fmt="telegram")
    chat = "1700000001"
    assert _activities(engine) == [
        (chat, "user101", "join", None, _at(9, 0)),  # create_group: the creator …
        (chat, "user102", "join", None, _at(9, 0)),  # … and Bob, named, resolved by his posts
        (chat, "user101", "message", "大家好，欢迎！", _at(9, 5)),
        (chat, "user102", "reply", "谢谢 Alice!", _at(9, 6)),  # text entities joined; edited once
        (chat, "user101", "reaction", "👍", _at(9, 7)),  # reactions with their senders
        (chat, "user103", "reaction", "👍", _at(9, 8)),  # (the ❤ counted without senders: skipped)
        (chat, "user103", "join", None, _at(10, 0)),  # joined by link
        (chat, "user103", "share", "Look at this", _at(10, 1)),  # forwarded
        (chat, "user102", "message", "😂", _at(10, 2)),  # sticker → its emoji
        (chat, "user101", "message", None, _at(10, 3)),  # photo without a caption
        (chat, "name:Dave", "join", None, _at(11, 0)),  # invited, never posted: known by name
        (chat, "user103", "join", None, _at(11, 0)),  # invited again, by name → her id
        (chat, "channel555", "message", "频道公告", _at(12, 0)),  # pin_message: nothing
        (chat, "user102", "leave", None, _at(8, 0, day=2)),  # removed himself
    ]
    assert (report.inserted, report.rejected) == (14, 1)
    assert report.problems == ["message 12, field member: missing"]  # a sender without an id
    with engine.connect() as conn:
        name = conn.execute(select(communities.c.name)).scalar_one()
        nick = conn.execute(
            select(identities.c.nickname).where(identities.c.external_id == "user101")
        ).scalar_one()
    assert (name, nick) == ("群运测试群 Qunyun test", "Alice 王")
    again = run_import(engine, workspace_id, source, fmt="telegram")
    assert (again.inserted, again.duplicates) == (0, 14)  # re-import adds nothing


def test_account_export_takes_groups_and_left_groups_not_private_chats(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "result.json"
    source.write_bytes((DATA / "account_export.json").read_bytes())
    report = run_import(engine, workspace_id, source, fmt="telegram")
    assert report.inserted == 3
    assert [(c, m, k) for c, m, k, _t, _at in _activities(engine)] == [
        ("1700000003", "user201", "message"),
        ("1700000002", "user201", "message"),
        ("1700000002", "user102", "reply"),
    ]


def test_broken_json_is_reported_and_nothing_half_written(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    good = (DATA / "single_chat.json").read_text(encoding="utf-8")
    source = tmp_path / "result.json"
    source.write_text(good[: len(good) // 2], encoding="utf-8")  # cut mid-message
    with pytest.raises(Exception, match="not valid JSON"):
        run_import(engine, workspace_id, source, fmt="telegram")
    assert _activities(engine) == []


def _generated_export(path: Path, messages: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"name": "big", "type": "public_supergroup", "id": 42, "messages": [\n')
        for i in range(1, messages + 1):
            record = {
                "id": i,
                "type": "message",
                "date_unixtime": str(1_777_597_200 + i),
                "from": f"member {i % 5000}",
                "from_id": f"user{i % 5000}",
                "text": ["消息 ", {"type": "bold", "text": f"#{i}"}, " " + "x" * 200],
            }
            out.write(("," if i > 1 else "") + json.dumps(record, ensure_ascii=False) + "\n")
        out.write("]}\n")


def test_reading_a_large_export_takes_constant_memory(tmp_path: Path) -> None:
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    _generated_export(small, 5_000)
    _generated_export(large, 100_000)  # ~30 MB

    small_rows, small_peak = read_with_peak("telegram", small)
    large_rows, large_peak = read_with_peak("telegram", large)
    assert (small_rows, large_rows) == (5_000, 100_000)
    assert large.stat().st_size > 25 * 2**20
    # 20x the messages, about the same memory: what grows is the name table (5,000 senders)
    assert large_peak < 2 * small_peak + 2**20, (small_peak, large_peak)
