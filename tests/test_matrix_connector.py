"""The Matrix connector end to end against a real Synapse on loopback (scripts/synapse-throwaway).

Users post, reply, react, edit and leave; the connector's activities are
checked one by one. Then the connector is stopped and restarted mid-stream,
and stopped long enough for the server to truncate the timeline: every
message arrives exactly once. Sending goes through the channel contract and is
read back by another user.
"""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine

from conftest import T0
from helpers import stored_activities
from matrix_server import Homeserver, client_for, register_user, unique_localpart
from qunyun.connectors.base import DeliveryStatus, MemorySendLog, OutboundMessage, Recipient
from qunyun.connectors.matrix import TIMELINE_LIMIT, MatrixChannel, MatrixClient, MatrixConnector
from qunyun.domain import FixedClock
from qunyun.ingest.live import LiveSink
from qunyun.store.tables import activities, communities, identities


@dataclass
class Room:
    hs: Homeserver
    room_id: str
    bot_token: str
    alice: httpx.Client
    bob: httpx.Client
    alice_id: str
    bob_id: str

    def say(self, who: httpx.Client, body: str, **extra: Any) -> str:
        path = f"/rooms/{quote(self.room_id, safe='')}/send/m.room.message/t{time.monotonic_ns()}"
        response = who.put(path, json={"msgtype": "m.text", "body": body, **extra})
        response.raise_for_status()
        return str(response.json()["event_id"])

    def react(self, who: httpx.Client, event_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        path = f"/rooms/{quote(self.room_id, safe='')}/send/m.reaction/t{time.monotonic_ns()}"
        who.put(path, json=content).raise_for_status()


@pytest.fixture
def room(homeserver: Homeserver) -> Iterator[Room]:
    _, bot_token = register_user(homeserver, unique_localpart("qunyun-bot"))
    alice_id, alice_token = register_user(homeserver, unique_localpart("alice"))
    bob_id, bob_token = register_user(homeserver, unique_localpart("bob"))
    with client_for(homeserver, alice_token) as alice, client_for(homeserver, bob_token) as bob:
        created = alice.post("/createRoom", json={"preset": "public_chat", "name": "读书会 Book club"})
        created.raise_for_status()
        room_id = str(created.json()["room_id"])
        bob.post(f"/join/{quote(room_id, safe='')}", json={}).raise_for_status()
        yield Room(homeserver, room_id, bot_token, alice, bob, alice_id, bob_id)


def _connector(room: Room, engine: Engine, workspace_id: int) -> MatrixConnector:
    sink = LiveSink(engine, FixedClock(T0), workspace_id, "matrix:test")
    return MatrixConnector(MatrixClient(room.hs.base_url, room.bot_token), sink, [room.room_id])


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    columns = [identities.c.external_id, activities.c.kind, activities.c.text, activities.c.reply_to]
    return stored_activities(engine, columns, [activities.c.occurred_at, activities.c.id])


def test_activities_arrive_as_members_act(room: Room, engine: Engine, workspace_id: int) -> None:
    connector = _connector(room, engine, workspace_id)
    connector.sync_once(timeout_ms=0)
    joined = [(member, kind) for member, kind, _, _ in _stored(engine)]
    assert joined == [(room.alice_id, "join"), (room.bob_id, "join")]  # the bot's own join is not a member's

    question = room.say(room.alice, "大家最近在读什么书？")
    room.say(room.bob, "《置身事内》", **{"m.relates_to": {"m.in_reply_to": {"event_id": question}}})
    room.react(room.bob, question, "👍")
    room.say(
        room.alice,
        "* 大家最近在读什么书？📚",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "📚"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": question},
        },
    )
    room.bob.post(f"/rooms/{quote(room.room_id, safe='')}/leave", json={}).raise_for_status()
    connector.sync_once(timeout_ms=0)

    assert _stored(engine)[2:] == [
        (room.alice_id, "message", "大家最近在读什么书？", None),
        (room.bob_id, "reply", "《置身事内》", question),
        (room.bob_id, "reaction", "👍", question),
        (room.bob_id, "leave", None, None),
    ]  # the edit is not a new activity
    with engine.connect() as conn:
        names = conn.execute(communities.select()).all()
    assert [n.name for n in names] == ["读书会 Book club"]
    # A second connector reading from the stored token finds nothing new.
    assert _connector(room, engine, workspace_id).sync_once(timeout_ms=0) == 0


def _texts(engine: Engine) -> Counter[str]:
    return Counter(text for _, kind, text, _ in _stored(engine) if kind == "message")


def test_stop_and_restart_mid_stream_loses_and_repeats_nothing(
    room: Room, engine: Engine, workspace_id: int
) -> None:
    total = 40
    posted: list[str] = []

    def post() -> None:
        for i in range(total):
            posted.append(room.say(room.alice, f"消息 {i}"))
            time.sleep(0.02)

    poster = threading.Thread(target=post)
    poster.start()
    for _ in range(2):  # two runs of the connector, each stopped while messages keep coming
        stop = threading.Event()
        connector = _connector(room, engine, workspace_id)
        runner = threading.Thread(target=connector.run, args=(stop, 200))
        runner.start()
        deadline = time.monotonic() + 30
        target = sum(_texts(engine).values()) + 8
        while sum(_texts(engine).values()) < min(target, total) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        runner.join()
    poster.join()
    _connector(room, engine, workspace_id).sync_once(timeout_ms=0)
    assert _texts(engine) == Counter({f"消息 {i}": 1 for i in range(total)})


def test_a_truncated_timeline_is_filled_from_history(room: Room, engine: Engine, workspace_id: int) -> None:
    _connector(room, engine, workspace_id).sync_once(timeout_ms=0)
    burst = TIMELINE_LIMIT + 30  # more than one /sync answer shows
    for i in range(burst):
        room.say(room.bob, f"离线期间 {i}")
    _connector(room, engine, workspace_id).sync_once(timeout_ms=0)
    assert _texts(engine) == Counter({f"离线期间 {i}": 1 for i in range(burst)})


def test_channel_posts_to_a_room_and_a_dm_and_reads_back(room: Room) -> None:
    bot = MatrixClient(room.hs.base_url, room.bot_token)
    bot.join(room.room_id)
    channel = MatrixChannel(bot, MemorySendLog())
    sent = channel.send(Recipient(room.room_id), OutboundMessage("今晚八点直播，记得来"), "live:1")
    assert sent.status is DeliveryStatus.SENT
    assert channel.send(
        Recipient(room.room_id), OutboundMessage("今晚八点直播，记得来"), "live:1"
    ).status is (DeliveryStatus.ALREADY_SENT)
    dm = channel.send(
        Recipient(room.bob_id, direct=True), OutboundMessage("您关注的「读书」更新啦"), "wake:bob"
    )
    assert dm.status is DeliveryStatus.SENT
    # The DM room is remembered in the bot's m.direct account data: a new channel object reuses it.
    again = MatrixChannel(bot, MemorySendLog()).direct_room(room.bob_id)
    assert again == channel.direct_room(room.bob_id)

    chunk = room.bob.get(f"/rooms/{quote(room.room_id, safe='')}/messages", params={"dir": "b", "limit": 10})
    bodies = [e["content"].get("body") for e in chunk.json()["chunk"] if e["type"] == "m.room.message"]
    assert bodies.count("今晚八点直播，记得来") == 1
    invited = room.bob.get("/sync", params={"timeout": 0}).json()["rooms"]["invite"]
    assert again in invited
    room.bob.post(f"/join/{quote(again, safe='')}", json={}).raise_for_status()
    dm_chunk = room.bob.get(f"/rooms/{quote(again, safe='')}/messages", params={"dir": "b", "limit": 10})
    dm_bodies = [e["content"]["body"] for e in dm_chunk.json()["chunk"] if e["type"] == "m.room.message"]
    assert dm_bodies == ["您关注的「读书」更新啦"]
