"""Matrix, live: a bot account that reads its rooms in near real time and posts to them.

Reading is the client-server `/sync` loop (spec.matrix.org, Client-Server API
v1.x, "Syncing"). Each answer's events become activities and are handed to an
`ActivitySink` together with the answer's `next_batch` token, which the sink
stores in the same transaction. A restart resumes from the stored token, so
nothing is missed; the event id is the activity's reference, so an answer
read twice stores nothing twice. When the server truncates a room's timeline
(`limited`, after a long downtime or a burst), the gap is filled from
`/rooms/{id}/messages` between `prev_batch` and the previous token.

Mapping: `m.room.message` → message (reply when it answers or sits in a
thread; edits are not new activity), `m.sticker` → message, `m.reaction` →
reaction, `m.room.member` join → join (profile changes are not joins), leave or
ban after a join → leave. The bot's own events are skipped.

Sending is `MatrixChannel`: `PUT /rooms/{id}/send/m.room.message/{txnId}` with
a transaction id derived from the idempotency key; the server answers a
repeated transaction id (same access token) with the first event, so a send
whose answer was lost is retried safely. A direct message goes to the room
recorded in the bot's `m.direct` account data, created on first use.
"""

import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from qunyun.connectors.base import Attempt, Channel, OutboundMessage, Outcome, Policy, Recipient, SendLog
from qunyun.connectors.http import generic_status, json_body, request
from qunyun.connectors.pacing import Pacer, Rate
from qunyun.domain import ActivityKind, ActivityRecord, Platform
from qunyun.errors import QunyunError

_log = logging.getLogger(__name__)
CLIENT = "/_matrix/client/v3"
MAX_BACKOFF_SECONDS = 60.0
TIMELINE_LIMIT = 100
# Synapse's default for an ordinary user is 0.2 messages/s with a burst of 10.
DEFAULT_SEND_RATE = Rate(10, 50.0)
_SYNC_FILTER = json.dumps(
    {
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "timeline": {"limit": TIMELINE_LIMIT},
            "state": {"types": ["m.room.member", "m.room.name"], "lazy_load_members": False},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    },
    separators=(",", ":"),
)


class MatrixError(QunyunError):
    """The homeserver refused or could not be reached (codes matrix.*)."""


class ActivitySink(Protocol):
    """Where read activity goes (the store's `ingest.live.LiveSink`)."""

    def cursor(self) -> str | None: ...

    def deliver(self, records: Sequence[ActivityRecord], cursor: str) -> int: ...


class MatrixClient:
    """The few client-server calls we need, as one user (one access token = one device)."""

    def __init__(self, base_url: str, access_token: str, *, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
        self._client.headers["Authorization"] = f"Bearer {access_token}"

    @classmethod
    def login(cls, base_url: str, user: str, password: str, device_id: str = "QUNYUN") -> "MatrixClient":
        """Password login. Keep the device id stable: transaction ids are remembered per device."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "device_id": device_id,
            "initial_device_display_name": "Qunyun",
        }
        with httpx.Client(timeout=30.0) as client:
            response = client.post(f"{base_url.rstrip('/')}{CLIENT}/login", json=body)
        answer = _checked(response, "login")
        return cls(base_url, str(answer["access_token"]))

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, f"{self.base_url}{CLIENT}{path}", **kwargs)
        except httpx.TransportError as exc:
            raise MatrixError(f"{self.base_url} unreachable: {exc}", code="matrix.unreachable") from exc
        return _checked(response, path.split("?")[0])

    def whoami(self) -> str:
        return str(self.call("GET", "/account/whoami")["user_id"])

    def join(self, room: str) -> str:
        return str(self.call("POST", f"/join/{quote(room, safe='')}", json={})["room_id"])

    def sync(self, since: str | None, timeout_ms: int) -> dict[str, Any]:
        params: dict[str, str | int] = {"filter": _SYNC_FILTER, "timeout": timeout_ms}
        if since:
            params["since"] = since
        return self.call("GET", "/sync", params=params, timeout=timeout_ms / 1000 + 30)

    def messages(self, room: str, start: str, stop: str | None, limit: int = 100) -> dict[str, Any]:
        params: dict[str, str | int] = {"dir": "b", "from": start, "limit": limit}
        if stop:
            params["to"] = stop
        return self.call("GET", f"/rooms/{quote(room, safe='')}/messages", params=params)

    @property
    def http(self) -> httpx.Client:
        return self._client


def _checked(response: httpx.Response, what: str) -> dict[str, Any]:
    body = json_body(response) or {}
    if response.is_success:
        return body
    code = body.get("errcode", f"HTTP {response.status_code}")
    passing = response.status_code == 429 or response.status_code >= 500
    raise MatrixError(
        f"{what}: {code}: {body.get('error', response.text[:200])}",
        code="matrix.unavailable" if passing else "matrix.refused",
    )


@dataclass
class _Room:
    name: str | None = None
    nicknames: dict[str, str] = field(default_factory=dict)


def _when(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(event["origin_server_ts"]) / 1000, tz=UTC)


def _relation(content: dict[str, Any]) -> tuple[str | None, str | None]:
    """(rel_type, the event it relates to) of a message's `m.relates_to`."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return None, None
    reply = relates.get("m.in_reply_to")
    if isinstance(reply, dict) and reply.get("event_id"):
        return "reply", str(reply["event_id"])
    return relates.get("rel_type"), relates.get("event_id")


class EventMapper:
    """Turns one room's events into activities, remembering display names and room names."""

    def __init__(self, me: str) -> None:
        self.me = me
        self.rooms: dict[str, _Room] = {}

    def learn_state(self, room_id: str, events: Iterable[dict[str, Any]]) -> None:
        room = self.rooms.setdefault(room_id, _Room())
        for event in events:
            self._learn(room, event)

    def _learn(self, room: _Room, event: dict[str, Any]) -> None:
        content = event.get("content") or {}
        if event.get("type") == "m.room.name" and isinstance(content.get("name"), str):
            room.name = content["name"]
        elif event.get("type") == "m.room.member" and isinstance(content.get("displayname"), str):
            room.nicknames[str(event.get("state_key"))] = content["displayname"]

    def records(self, room_id: str, events: Iterable[dict[str, Any]]) -> Iterator[ActivityRecord]:
        room = self.rooms.setdefault(room_id, _Room())
        for event in events:
            self._learn(room, event)
            if event.get("sender") == self.me or "event_id" not in event or "origin_server_ts" not in event:
                continue
            found = self._record(room_id, room, event)
            if found is not None:
                yield found

    def _record(self, room_id: str, room: _Room, event: dict[str, Any]) -> ActivityRecord | None:
        kind_text_reply = _classify(event)
        if kind_text_reply is None:
            return None
        kind, text, reply_to = kind_text_reply
        member = str(event["state_key"]) if event.get("type") == "m.room.member" else str(event["sender"])
        if member == self.me:
            return None
        return ActivityRecord(
            occurred_at=_when(event),
            platform=Platform.MATRIX,
            community=room_id,
            community_name=room.name,
            member=member,
            nickname=room.nicknames.get(member),
            kind=kind,
            text=text,
            reference_id=str(event["event_id"]),
            reply_to=reply_to,
        )


def _classify(event: dict[str, Any]) -> tuple[ActivityKind, str | None, str | None] | None:
    content = event.get("content") or {}
    kind = event.get("type")
    if kind == "m.room.member":
        return _membership(event, content)
    if kind == "m.reaction":
        _, target = _relation(content)
        key = (content.get("m.relates_to") or {}).get("key")
        return ActivityKind.REACTION, key if isinstance(key, str) else None, target
    if kind == "m.sticker":
        return ActivityKind.MESSAGE, None, None
    if kind != "m.room.message" or not content:  # a redacted message has empty content
        return None
    rel_type, target = _relation(content)
    if rel_type == "m.replace":
        return None  # an edit: the message was already counted
    body = content.get("body") if content.get("msgtype") in ("m.text", "m.notice", "m.emote") else None
    text = body if isinstance(body, str) else None
    if rel_type in ("reply", "m.thread") and target:
        return ActivityKind.REPLY, text, target
    return ActivityKind.MESSAGE, text, None


def _membership(
    event: dict[str, Any], content: dict[str, Any]
) -> tuple[ActivityKind, str | None, str | None] | None:
    now = content.get("membership")
    before = ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership")
    if now == "join" and before != "join":
        return ActivityKind.JOIN, None, None
    if now in ("leave", "ban") and before == "join":
        return ActivityKind.LEAVE, None, None
    return None


class MatrixConnector:
    """The sync loop. `sync_once` reads one answer; `run` loops until `stop` is set."""

    def __init__(
        self,
        client: MatrixClient,
        sink: ActivitySink,
        rooms: Sequence[str] = (),
        *,
        backfill_limit: int = 10_000,
        poll_timeout_ms: int = 30_000,
    ) -> None:
        self.client = client
        self.sink = sink
        self.me = client.whoami()
        self.mapper = EventMapper(self.me)
        self.room_ids = {client.join(room) for room in rooms}
        self.backfill_limit = backfill_limit
        self.poll_timeout_ms = poll_timeout_ms

    def sync_once(self, timeout_ms: int | None = None) -> int:
        """One /sync: store its activities with its token; returns activities newly stored."""
        since = self.sink.cursor()
        answer = self.client.sync(since, self.poll_timeout_ms if timeout_ms is None else timeout_ms)
        records: list[ActivityRecord] = []
        for room_id, room in ((answer.get("rooms") or {}).get("join") or {}).items():
            if self.room_ids and room_id not in self.room_ids:
                continue
            self.mapper.learn_state(room_id, (room.get("state") or {}).get("events") or [])
            timeline = room.get("timeline") or {}
            events = list(timeline.get("events") or [])
            if timeline.get("limited") and timeline.get("prev_batch"):
                events = self._gap(room_id, str(timeline["prev_batch"]), since) + events
            records.extend(self.mapper.records(room_id, events))
        return self.sink.deliver(records, str(answer["next_batch"]))

    def _gap(self, room_id: str, prev_batch: str, since: str | None) -> list[dict[str, Any]]:
        """The events a truncated timeline left out, oldest first (back to `since`, or a limit)."""
        missed: list[dict[str, Any]] = []
        start: str | None = prev_batch
        # Resuming (a `since` token), the whole gap is read: nothing may be lost. Only the first
        # run's look back into history is bounded by `backfill_limit`.
        while start and (since is not None or len(missed) < self.backfill_limit):
            page = self.client.messages(room_id, start, since)
            chunk = page.get("chunk") or []
            if not chunk:
                break
            missed.extend(chunk)
            start = page.get("end")
        missed.reverse()
        return missed[-self.backfill_limit :] if since is None else missed

    def run(self, stop: threading.Event, poll_timeout_ms: int | None = None) -> None:
        """Sync until `stop` is set; an unreachable or overloaded server is waited out, a refusal raised."""
        failures = 0
        while not stop.is_set():
            try:
                self.sync_once(poll_timeout_ms)
                failures = 0
            except MatrixError as exc:
                if exc.code == "matrix.refused":
                    raise
                failures += 1
                wait = min(MAX_BACKOFF_SECONDS, 2.0**failures)
                _log.warning("matrix sync failed (%s); retrying in %.0f s", exc.message, wait)
                stop.wait(wait)


class MatrixChannel(Channel):
    name = "matrix"
    native_idempotency = True

    def __init__(
        self,
        client: MatrixClient,
        send_log: SendLog,
        *,
        rate: Rate = DEFAULT_SEND_RATE,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy)
        self.client = client
        self._rate = rate
        self._me: str | None = None
        self._direct: dict[str, str] = {}

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [("account", self._rate)]

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        try:
            room = self.direct_room(recipient.address) if recipient.direct else recipient.address
        except MatrixError as exc:
            return Attempt(Outcome.FAILED, error=exc.message)
        txn = "qy" + hashlib.sha256(key.encode()).hexdigest()[:40]
        url = f"{self.client.base_url}{CLIENT}/rooms/{quote(room, safe='')}/send/m.room.message/{txn}"
        content = {"msgtype": "m.text", "body": message.text}
        response = request(self.client.http, "PUT", url, json=content)
        if isinstance(response, Attempt):
            return response
        body = json_body(response) or {}
        if response.status_code == 429:
            wait = float(body.get("retry_after_ms", 1000)) / 1000
            return Attempt(
                Outcome.RETRY, retry_after=wait, error=body.get("errcode"), throttled_scope="account"
            )
        generic = generic_status(response, scope="account")
        if generic is not None:
            return generic
        if response.is_success and body.get("event_id"):
            return Attempt(Outcome.SENT, platform_id=str(body["event_id"]))
        return Attempt(
            Outcome.FAILED, error=f"{body.get('errcode')}: {body.get('error', response.text[:200])}"
        )

    def direct_room(self, user_id: str) -> str:
        """The bot's DM room with `user_id`, from `m.direct` account data, created on first use."""
        if user_id in self._direct:
            return self._direct[user_id]
        me = self._me = self._me or self.client.whoami()
        path = f"/user/{quote(me, safe='')}/account_data/m.direct"
        try:
            direct = self.client.call("GET", path)
        except MatrixError:
            direct = {}  # M_NOT_FOUND: no DM yet
        rooms = direct.get(user_id) or []
        if rooms:
            room = str(rooms[0])
        else:
            created = self.client.call(
                "POST",
                "/createRoom",
                json={"is_direct": True, "invite": [user_id], "preset": "trusted_private_chat"},
            )
            room = str(created["room_id"])
            self.client.call("PUT", path, json={**direct, user_id: [room]})
        self._direct[user_id] = room
        return room
