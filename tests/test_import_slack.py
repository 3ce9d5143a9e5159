"""Slack workspace exports, as the zip and as its folder; every case by hand (fixtures in
tests/data/slack, written by us from Slack's documented export layout)."""

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from helpers import read_with_peak, run_import, stored_activities
from qunyun.errors import IngestError
from qunyun.store.tables import activities, communities, identities

DATA = Path(__file__).parent / "data" / "slack" / "export"


def _activities(engine: Engine) -> list[tuple[object, ...]]:
    columns = [communities.c.external_id, identities.c.external_id, identities.c.nickname]
    columns += [activities.c.kind, activities.c.text, activities.c.reply_to, activities.c.occurred_at]
    return stored_activities(engine, columns, [activities.c.occurred_at, activities.c.kind])


def _at(day: int, hour: int, minute: int, second: int = 0, micro: int = 0) -> datetime:
    """Slack's `ts` is seconds with a six-digit fraction; the fraction is kept."""
    return datetime(2026, 5, day, hour, minute, second, micro, tzinfo=UTC)


EXPECTED = [
    ("T0QUNYUN", "U02", "Bob Li", "join", None, None, _at(1, 1, 0, micro=100)),  # channel_join
    (
        "T0QUNYUN",
        "U01",
        "Alice 王",
        "message",
        "大家好 welcome",
        None,
        _at(1, 1, 5, micro=200),
    ),  # thread parent
    ("T0QUNYUN", "U02", "Bob Li", "reaction", ":thumbsup:", "C01:1777597500.000200", _at(1, 1, 5, micro=200)),
    (
        "T0QUNYUN",
        "U02",
        "Bob Li",
        "reply",
        "thanks!",
        "C01:1777597500.000200",
        _at(1, 1, 6, micro=300),
    ),  # in the thread
    # the bot's message, the bot's reaction and the topic change: nothing
    ("T0QUNYUN", "U03", "carol", "message", None, None, _at(1, 1, 46, 40, 100)),  # a file, no text
    ("T0QUNYUN", "U02", "Bob Li", "leave", None, None, _at(2, 1, 0, micro=100)),  # channel_leave
]


@pytest.mark.parametrize("packed", [False, True])
def test_workspace_export_maps_every_case(
    engine: Engine, workspace_id: int, tmp_path: Path, packed: bool
) -> None:
    folder = tmp_path / "Qunyun Slack export"
    shutil.copytree(DATA, folder)
    source = folder
    if packed:
        source = tmp_path / "export.zip"
        with zipfile.ZipFile(source, "w") as archive:
            for file in sorted(folder.rglob("*.json")):
                archive.write(file, file.relative_to(folder).as_posix())
    report = run_import(engine, workspace_id, source, fmt="slack")
    assert _activities(engine) == EXPECTED
    assert (report.inserted, report.rejected) == (6, 1)
    assert report.problems == ["general/2026-05-01.json message 6, field occurred_at: missing"]
    assert run_import(engine, workspace_id, source, fmt="slack").inserted == 0


def test_a_folder_without_users_or_channels_is_refused(
    tmp_path: Path, engine: Engine, workspace_id: int
) -> None:
    (tmp_path / "general").mkdir()
    (tmp_path / "general" / "2026-05-01.json").write_text("[]", encoding="utf-8")
    with pytest.raises(IngestError, match=r"users.json or channels.json missing"):
        run_import(engine, workspace_id, tmp_path, fmt="slack")


def _generated_export(folder: Path, days: int) -> None:
    folder.mkdir()
    (folder / "users.json").write_text('[{"id": "U1", "team_id": "T1", "name": "u"}]', encoding="utf-8")
    (folder / "channels.json").write_text('[{"id": "C1", "name": "general"}]', encoding="utf-8")
    (folder / "general").mkdir()
    for day in range(days):
        messages = [
            {
                "type": "message",
                "user": f"U{i % 3000}",
                "text": "消息 " + "x" * 200,
                "ts": f"{1_777_597_200 + day * 86_400 + i}.000100",
            }
            for i in range(500)
        ]
        (folder / "general" / f"day-{day:04d}.json").write_text(
            json.dumps(messages, ensure_ascii=False), encoding="utf-8"
        )


def test_reading_a_long_history_takes_constant_memory(tmp_path: Path) -> None:
    def peak(days: int) -> tuple[int, int]:
        folder = tmp_path / f"export-{days}"
        _generated_export(folder, days)
        return read_with_peak("slack", folder)

    (short_rows, short_peak), (long_rows, long_peak) = peak(10), peak(200)
    assert (short_rows, long_rows) == (5_000, 100_000)
    assert long_peak < short_peak + 2**20, (short_peak, long_peak)  # one day file at a time
