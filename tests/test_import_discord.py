"""DiscordChatExporter JSON: a folder of channel files is one community; every case by hand
(fixtures in tests/data/discord, written by us from the exporter's documented output)."""

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from helpers import read_with_peak, run_import, stored_activities
from qunyun.store.tables import activities, communities, identities

DATA = Path(__file__).parent / "data" / "discord" / "server"
GUILD = "900000000000000001"


def _activities(engine: Engine) -> list[tuple[object, ...]]:
    columns = [communities.c.external_id, identities.c.external_id, activities.c.kind]
    columns += [activities.c.text, activities.c.reply_to, activities.c.occurred_at]
    return stored_activities(engine, columns, [activities.c.occurred_at, activities.c.kind])


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


def test_a_folder_of_channels_is_one_community(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for file in DATA.glob("*.json"):
        (folder / file.name).write_bytes(file.read_bytes())
    report = run_import(engine, workspace_id, folder, fmt="discord")
    general = "910000000000000001"
    assert _activities(engine) == [
        (GUILD, "301", "join", None, None, _at(1, 1, 0)),  # GuildMemberJoin
        (GUILD, "301", "message", "大家好 hello", None, _at(1, 1, 5)),  # edited: still one
        (GUILD, "302", "reaction", "👍", f"{general}:1002", _at(1, 1, 5)),  # the bot's 👍 and 🎉 count: no
        (GUILD, "302", "reply", "Hi Alice!", f"{general}:1002", _at(1, 1, 10)),
        # the bot's message and the pin notice: nothing
        (GUILD, "303", "message", None, None, _at(2, 12, 0)),  # same id 1002, other channel: kept
    ]
    assert (report.inserted, report.rejected) == (5, 1)
    assert report.problems == ["message 1006, field occurred_at: not an ISO 8601 timestamp: 'not a time'"]
    with engine.connect() as conn:
        assert conn.execute(select(communities.c.name)).scalars().all() == ["群运 Discord"]
        nick = conn.execute(select(identities.c.nickname).where(identities.c.external_id == "301")).scalar()
    assert nick == "Alice 王"  # the server nickname over the user name
    assert run_import(engine, workspace_id, folder, fmt="discord").inserted == 0


def test_one_channel_file_imports_alone(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    single = tmp_path / "random.json"
    single.write_bytes((DATA / "random.json").read_bytes())
    assert run_import(engine, workspace_id, single, fmt="discord").inserted == 1


def _generated_channel(path: Path, messages: int) -> None:
    head = (
        '{"guild": {"id": "1", "name": "big"}, "channel": {"id": "2", "type": "GuildTextChat", '
        '"name": "c"}, "messages": [\n'
    )
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for i in range(1, messages + 1):
            record = {
                "id": str(10_000 + i),
                "type": "Default",
                "timestamp": "2026-05-01T01:00:00+00:00",
                "content": "消息 " + "x" * 200,
                "author": {"id": str(i % 5000), "name": f"u{i % 5000}", "isBot": False},
                "reactions": [],
            }
            out.write(("," if i > 1 else "") + json.dumps(record, ensure_ascii=False) + "\n")
        out.write(f'], "messageCount": {messages}}}\n')


def test_reading_a_large_channel_takes_constant_memory(tmp_path: Path) -> None:
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    _generated_channel(small, 5_000)
    _generated_channel(large, 100_000)

    (small_rows, small_peak), (large_rows, large_peak) = (
        read_with_peak("discord", small),
        read_with_peak("discord", large),
    )
    assert (small_rows, large_rows) == (5_000, 100_000)
    assert large.stat().st_size > 25 * 2**20
    assert large_peak < small_peak + 2**20, (small_peak, large_peak)
