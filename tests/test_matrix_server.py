"""The throwaway Synapse works as the Matrix connector relies on: rooms, invites, messages, txn ids."""

import uuid
from typing import Any
from urllib.parse import quote

import httpx

from matrix_server import Homeserver, client_for, register_user, unique_localpart

BODY = "你好，群运！今晚八点直播，记得来 🎉"


def send_message(client: httpx.Client, room_id: str, txn_id: str, body: str) -> str:
    response = client.put(
        f"/rooms/{quote(room_id, safe='')}/send/m.room.message/{quote(txn_id, safe='')}",
        json={"msgtype": "m.text", "body": body},
    )
    response.raise_for_status()
    return str(response.json()["event_id"])


def messages(client: httpx.Client, room_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/rooms/{quote(room_id, safe='')}/messages", params={"dir": "b", "limit": 50})
    response.raise_for_status()
    chunk: list[dict[str, Any]] = response.json()["chunk"]
    return [event for event in chunk if event["type"] == "m.room.message"]


def test_two_users_exchange_a_chinese_message_once_per_txn_id(homeserver: Homeserver) -> None:
    alice_id, alice_token = register_user(homeserver, unique_localpart("alice"))
    bob_id, bob_token = register_user(homeserver, unique_localpart("bob"))
    assert alice_id.endswith(":localhost")
    assert bob_id.endswith(":localhost")

    with client_for(homeserver, alice_token) as alice, client_for(homeserver, bob_token) as bob:
        created = alice.post("/createRoom", json={"preset": "private_chat", "name": "群运测试"})
        created.raise_for_status()
        room_id = str(created.json()["room_id"])
        alice.post(f"/rooms/{quote(room_id, safe='')}/invite", json={"user_id": bob_id}).raise_for_status()
        bob.post(f"/rooms/{quote(room_id, safe='')}/join", json={}).raise_for_status()

        txn_id = f"qunyun-{uuid.uuid4().hex}"
        first = send_message(alice, room_id, txn_id, BODY)
        again = send_message(alice, room_id, txn_id, BODY)  # a retry after a lost answer
        assert again == first

        seen = messages(bob, room_id)
        assert [(event["event_id"], event["sender"], event["content"]["body"]) for event in seen] == [
            (first, alice_id, BODY)
        ]


def test_registered_user_can_log_in_with_the_password(homeserver: Homeserver) -> None:
    localpart = unique_localpart("carol")
    user_id, _ = register_user(homeserver, localpart, password="密码-secret")
    with httpx.Client(base_url=f"{homeserver.base_url}/_matrix/client/v3", timeout=30) as client:
        response = client.post(
            "/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": "密码-secret",
            },
        )
    response.raise_for_status()
    assert response.json()["user_id"] == user_id
