"""Email against a real SMTP server on loopback (aiosmtpd); the signed webhook against a receiver
that checks the signature with its own HMAC code (not ours)."""

import email
import email.policy
import hashlib
import hmac
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from platform_fakes import FakePlatform, Reply, Request, serve
from qunyun.connectors.base import DeliveryStatus, MemorySendLog, OutboundMessage, Recipient
from qunyun.connectors.email import EmailChannel, SmtpSettings
from qunyun.connectors.pacing import ManualTime, Pacer
from qunyun.connectors.webhook import WebhookChannel
from qunyun.domain import FixedClock


class Mailbox:
    """aiosmtpd handler: keeps every mail; refuses nobody@…; answers 451 once when told to."""

    def __init__(self) -> None:
        self.mails: list[Message] = []
        self.temporary_failures = 0

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.temporary_failures:
            self.temporary_failures -= 1
            return "451 4.3.0 try again later"
        self.mails.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK queued"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def test_email_is_delivered_once_with_a_stable_message_id(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    time = ManualTime()
    settings = SmtpSettings("127.0.0.1", port, sender="ops@brand.example", starttls=False)
    channel = EmailChannel(settings, MemorySendLog(), pacer=Pacer(time))
    message = OutboundMessage("您关注的「高效沟通技巧」更新啦\n点击查看", subject="社群周报")
    first = channel.send(Recipient("member@example.com", direct=True), message, "weekly:7")
    assert first.status is DeliveryStatus.SENT
    assert channel.send(Recipient("member@example.com", direct=True), message, "weekly:7").status is (
        DeliveryStatus.ALREADY_SENT
    )
    assert len(mailbox.mails) == 1
    mail = mailbox.mails[0]
    assert mail["Subject"] == "社群周报"  # RFC 2047-encoded on the wire, decoded here
    assert mail["Message-ID"] == first.platform_id
    assert mail["Message-ID"] == channel.message_id("weekly:7")
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "高效沟通技巧" in body.decode(mail.get_content_charset() or "utf-8")

    refused = channel.send(Recipient("nobody@example.com", direct=True), message, "x")
    assert refused.status is DeliveryStatus.FAILED
    assert refused.error is not None
    assert "550" in refused.error

    mailbox.temporary_failures = 1
    retried = channel.send(Recipient("b@example.com", direct=True), OutboundMessage("hi"), "y")
    assert (retried.status, retried.attempts) == (DeliveryStatus.SENT, 2)
    assert len(mailbox.mails) == 2


def test_email_requires_starttls_when_configured(smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    channel = EmailChannel(SmtpSettings("127.0.0.1", port, starttls=True), MemorySendLog())
    delivery = channel.send(Recipient("a@example.com", direct=True), OutboundMessage("hi"), "k")
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error is not None
    assert "STARTTLS" in delivery.error


def test_email_server_down_is_deferred_not_lost() -> None:
    channel = EmailChannel(
        SmtpSettings("127.0.0.1", _free_port(), starttls=False), MemorySendLog(), pacer=Pacer(ManualTime())
    )
    delivery = channel.send(Recipient("a@example.com", direct=True), OutboundMessage("hi"), "k")
    assert delivery.status is DeliveryStatus.DEFERRED


class Receiver(FakePlatform):
    """An operator's endpoint: checks the signature with hmac directly, dedupes by id (409)."""

    def __init__(self, secret: bytes) -> None:
        super().__init__()
        self.secret = secret
        self.taken: dict[str, Any] = {}

    def handle(self, request: Request) -> Reply:
        stamp = request.headers["x-qunyun-timestamp"]
        expected = hmac.new(self.secret, stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        if request.headers["x-qunyun-signature"] != f"v1={expected}":
            return Reply(401, {"error": "bad signature"})
        data = request.json()
        if data["id"] != request.headers["idempotency-key"]:
            return Reply(400, {"error": "id and Idempotency-Key differ"})
        if data["id"] in self.taken:
            return Reply(409, {"error": "duplicate"})
        self.taken[data["id"]] = data
        return Reply(200, {"id": f"r{len(self.taken)}"})


def test_webhook_is_signed_and_a_409_counts_as_delivered() -> None:
    receiver = Receiver(b"shh")
    clock = FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    with serve(receiver) as url:
        channel = WebhookChannel(f"{url}/in", "shh", clock, MemorySendLog(), pacer=Pacer(ManualTime()))
        delivery = channel.send(Recipient("member-9", direct=True), OutboundMessage("你好"), "k1")
        assert (delivery.status, delivery.platform_id) == (DeliveryStatus.SENT, "r1")
        # A second Qunyun (a fresh send log) replays the key: the receiver's 409 means it has it.
        other = WebhookChannel(f"{url}/in", "shh", clock, MemorySendLog(), pacer=Pacer(ManualTime()))
        assert other.send(Recipient("member-9", direct=True), OutboundMessage("你好"), "k1").delivered
        forged = WebhookChannel(f"{url}/in", "wrong", clock, MemorySendLog(), pacer=Pacer(ManualTime()))
        refused = forged.send(Recipient("member-9", direct=True), OutboundMessage("你好"), "k2")
    assert refused.status is DeliveryStatus.FAILED
    assert receiver.taken["k1"]["text"] == "你好"
    assert list(receiver.taken) == ["k1"]
