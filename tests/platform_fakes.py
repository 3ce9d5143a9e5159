"""Loopback fakes of the platforms no real peer can run here: Telegram, Slack, Discord, WeCom.

Each fake is an HTTP server on 127.0.0.1 that answers as the platform's
published API reference says (request shape, success body, error bodies,
rate-limit answers), keeps what it was sent, and can be told to misbehave
next: answer 429, or take a message and then drop the connection without an
answer (so the client cannot know it was delivered). They follow the
documented contracts, not the live services; docs/channels.md says so.
"""

import json
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection instead of answering


Handler = Callable[[Request], Reply]


class FakePlatform(ABC):
    """Base: records requests; `next_replies` overrides the next answers (then normal handling)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.next_replies: deque[Reply] = deque()
        # Take the message, then drop the connection: the request's effect happened, the answer is lost.
        self.drop_after_handling = 0
        self.lock = threading.Lock()

    @abstractmethod
    def handle(self, request: Request) -> Reply:
        """The platform's answer to one request, as its documentation describes it."""

    def __call__(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            if self.next_replies:
                return self.next_replies.popleft()
            reply = self.handle(request)
            if self.drop_after_handling:
                self.drop_after_handling -= 1
                return Reply(drop=True)
            return reply


def _make_handler(app: Handler) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else delayed ACKs add 40 ms to every answer

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = app(Request(self.command, parts.path, query, headers, body))
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # http.server calls do_<METHOD>
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
            return

    return _Handler


@contextmanager
def serve(app: Handler) -> Iterator[str]:
    """Run `app` on a loopback port for the block; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(app))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class FakeTelegram(FakePlatform):
    """Bot API sendMessage (core.telegram.org/bots/api#sendmessage, #making-requests)."""

    def __init__(self, token: str, chats: set[str]) -> None:
        super().__init__()
        self.token = token
        self.chats = chats
        self.sent: list[tuple[str, str]] = []

    @staticmethod
    def too_many(retry_after: int) -> Reply:
        body = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        }
        return Reply(429, body)

    def handle(self, request: Request) -> Reply:
        if request.path != f"/bot{self.token}/sendMessage":
            return Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        data = request.json()
        chat = str(data.get("chat_id"))
        if chat not in self.chats:
            return Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        if not data.get("text"):
            return Reply(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            )
        self.sent.append((chat, data["text"]))
        message = {"message_id": len(self.sent), "chat": {"id": int(chat)}, "text": data["text"]}
        return Reply(200, {"ok": True, "result": message})


class FakeSlack(FakePlatform):
    """chat.postMessage (api.slack.com/methods/chat.postMessage, /docs/rate-limits)."""

    def __init__(self, token: str, channels: set[str]) -> None:
        super().__init__()
        self.token = token
        self.channels = channels
        self.sent: list[tuple[str, str]] = []

    def handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        data = request.json()
        channel = data.get("channel")
        if channel not in self.channels:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        self.sent.append((channel, data["text"]))
        ts = f"1764000000.{len(self.sent):06d}"
        return Reply(
            200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": data["text"], "ts": ts}}
        )


class FakeDiscord(FakePlatform):
    """Create Message with nonce enforcement, DM channels, webhooks, rate-limit headers."""

    def __init__(self, token: str, channels: set[str], users: set[str]) -> None:
        super().__init__()
        self.token = token
        self.channels = channels
        self.users = users
        self.messages: list[dict[str, Any]] = []
        self.remaining = 5  # the bucket the headers report

    def _limit_headers(self) -> dict[str, str]:
        self.remaining = max(0, self.remaining - 1)
        return {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset-After": "2.5",
            "X-RateLimit-Bucket": "abcd1234",
        }

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/webhooks/"):
            return self._webhook(request)
        if request.headers.get("authorization") != f"Bot {self.token}":
            return Reply(401, {"message": "401: Unauthorized", "code": 0})
        if request.path == "/users/@me/channels":
            user = request.json()["recipient_id"]
            if user not in self.users:
                return Reply(400, {"message": "Invalid Recipient(s)", "code": 50033})
            dm = f"dm-{user}"
            self.channels.add(dm)
            return Reply(200, {"id": dm, "type": 1})
        channel = request.path.split("/")[2]
        if channel not in self.channels:
            return Reply(404, {"message": "Unknown Channel", "code": 10003})
        data = request.json()
        nonce = data.get("nonce")
        if data.get("enforce_nonce") and nonce:
            for earlier in self.messages:
                if earlier["channel_id"] == channel and earlier["nonce"] == nonce:
                    return Reply(200, earlier, self._limit_headers())
        return Reply(200, self._post(channel, data["content"], nonce), self._limit_headers())

    def _post(self, channel: str, content: str, nonce: str | None) -> dict[str, Any]:
        message = {
            "id": str(1000 + len(self.messages)),
            "channel_id": channel,
            "content": content,
            "nonce": nonce,
        }
        self.messages.append(message)
        return message

    def _webhook(self, request: Request) -> Reply:
        content = request.json()["content"]
        message = self._post("webhook", content, None)
        if request.query.get("wait") == "true":
            return Reply(200, message, self._limit_headers())
        return Reply(204, b"")

    @staticmethod
    def too_many(retry_after: float, is_global: bool = False) -> Reply:
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return Reply(429, body, {"Retry-After": str(int(retry_after) + 1)})


class FakeWeCom(FakePlatform):
    """gettoken, message/send (with duplicate check), appchat/send, group robot webhook/send."""

    def __init__(self, corp_id: str, secret: str, users: set[str], chats: set[str]) -> None:
        super().__init__()
        self.corp_id = corp_id
        self.secret = secret
        self.users = users
        self.chats = chats
        self.tokens: set[str] = set()
        self.sent: list[tuple[str, str]] = []
        self.robot_sent: list[str] = []

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def handle(self, request: Request) -> Reply:
        path = request.path.removeprefix("/cgi-bin/")
        if path == "gettoken":
            if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
                return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
            token = f"tok{len(self.tokens) + 1}"
            self.tokens.add(token)
            return Reply(200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})
        if path == "webhook/send":
            self.robot_sent.append(request.json()["text"]["content"])
            return Reply(200, {"errcode": 0, "errmsg": "ok"})
        if request.query.get("access_token") not in self.tokens:
            return Reply(200, {"errcode": 42001, "errmsg": "access_token expired"})
        data = request.json()
        if path == "appchat/send":
            if data["chatid"] not in self.chats:
                return Reply(200, {"errcode": 86003, "errmsg": "chat not exist"})
            self.sent.append((data["chatid"], data["text"]["content"]))
            return Reply(200, {"errcode": 0, "errmsg": "ok"})
        return self._message_send(data)

    def _message_send(self, data: dict[str, Any]) -> Reply:
        user, content = data["touser"], data["text"]["content"]
        if user not in self.users:
            return Reply(200, {"errcode": 0, "errmsg": "ok", "invaliduser": user, "msgid": ""})
        if data.get("enable_duplicate_check") and (user, content) in self.sent:
            # WeCom drops the repeat inside duplicate_check_interval and still answers ok.
            return Reply(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "dup"})
        self.sent.append((user, content))
        return Reply(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"msg{len(self.sent)}"})
