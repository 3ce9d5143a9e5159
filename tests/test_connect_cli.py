"""`qunyun connect matrix` and `qunyun send` through the installed console script."""

import json
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine

from matrix_server import Homeserver, client_for, register_user, unique_localpart
from platform_fakes import FakeTelegram, serve
from qunyun.store.tables import activities
from test_cli import qy


def test_connect_matrix_once_stores_the_room_and_resumes(
    homeserver: Homeserver, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    _, bot_token = register_user(homeserver, unique_localpart("bot"))
    _, alice_token = register_user(homeserver, unique_localpart("alice"))
    with client_for(homeserver, alice_token) as alice:
        room = alice.post("/createRoom", json={"preset": "public_chat", "name": "摄影群"}).json()["room_id"]
        path = f"/rooms/{quote(room, safe='')}/send/m.room.message/"
        alice.put(path + "t1", json={"msgtype": "m.text", "body": "第一张作品"}).raise_for_status()
        env = {
            "QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "k.key"),
            "QUNYUN_MATRIX__ACCESS_TOKEN": bot_token,
        }
        args = (
            "connect",
            "matrix",
            "--homeserver",
            homeserver.base_url,
            "--room",
            room,
            "--once",
            "--db",
            db_url,
        )
        first = qy(*args, cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        assert "stored 2 new activities" in first.stderr  # alice's join and her message
        alice.put(path + "t2", json={"msgtype": "m.text", "body": "第二张"}).raise_for_status()
        second = qy(*args, cwd=tmp_path, env=env)
        assert "stored 1 new activities" in second.stderr, second.stderr
    with engine.connect() as conn:
        texts = [r.text for r in conn.execute(activities.select().order_by(activities.c.occurred_at))]
    assert texts == [None, "第一张作品", "第二张"]


def test_send_through_a_configured_channel_once(db_url: str, tmp_path: Path) -> None:
    fake = FakeTelegram("42:xyz", {"-1001"})
    with serve(fake) as url:
        env = {"QUNYUN_TELEGRAM__BOT_TOKEN": "42:xyz", "QUNYUN_TELEGRAM__API_URL": url}
        # Telegram group ids are negative: `--` ends the options, as for any command line.
        args = ("send", "--key", "morning:1", "--db", db_url, "--json", "--", "telegram", "-1001", "早上好")
        first = qy(*args, cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["status"] == "sent"
        again = json.loads(qy(*args, cwd=tmp_path, env=env).stdout)
        assert again["status"] == "already_sent"
        refused = qy(
            "send", "--key", "k2", "--db", db_url, "--", "telegram", "-999", "x", cwd=tmp_path, env=env
        )
        assert refused.returncode == 1
        assert "chat not found" in refused.stdout
    assert fake.sent == [("-1001", "早上好")]
    unknown = qy("send", "pigeon", "x", "y", "--key", "k", "--db", db_url, cwd=tmp_path)
    assert "channel.unknown" in unknown.stderr
    unset = qy("send", "slack", "C1", "y", "--key", "k", "--db", db_url, cwd=tmp_path)
    assert "channel.not_configured" in unset.stderr
    assert "slack.bot_token" in unset.stderr
