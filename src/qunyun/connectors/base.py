"""The outbound contract: `Channel.send(recipient, message, idempotency_key)`.

Every adapter (Matrix, Telegram, Discord, Slack, WeCom, email, webhook) is a
`Channel`. The contract, whatever the platform:

- One idempotency key is sent at most once, ever. The key is claimed in a
  `SendLog` before the request leaves; a replay of a sent key returns the
  first delivery (`already_sent`) without touching the platform. The same key
  with a different message is an error (`IdempotencyConflictError`).
- If a request may have reached the platform but no answer came back (a read
  timeout, a dropped connection), the key is `in_doubt` and is not resent:
  a duplicate message to a member is worse than a missing one. Platforms with
  their own idempotency (Matrix transaction ids, Discord nonces, WeCom's
  duplicate check) are the exception within one `send`: a resend seconds later
  is dropped by the platform, so it is made. Their windows are finite (Synapse
  keeps transaction ids for about 30 minutes, Discord nonces for minutes,
  WeCom at most 4 hours), so a key left in doubt by a crash is never resent
  later, on any platform, except where the receiver promises to keep keys for
  good (`durable_idempotency`, the webhook contract): there it is resent.
- Published rate limits are kept before sending (`pacing.Pacer`); a 429 or
  the platform's own "slow down" answer is honoured by waiting its
  retry-after, up to `max_wait` seconds; longer waits return `deferred`
  with `retry_after`, nothing sent, the key released for the caller's retry.
- A refusal (unknown chat, bot blocked, bad token) returns `failed` with the
  platform's own error text; the key is released, since nothing was sent.

Example:

    channel = TelegramChannel(token, send_log=MemorySendLog())
    delivery = channel.send(Recipient("-100123"), OutboundMessage("早上好"), "wake-up:42:2026-11-24")
    delivery.status  # DeliveryStatus.SENT, delivery.platform_id == "5071"
"""

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from qunyun.connectors.pacing import Pacer, Rate
from qunyun.domain import Claimed, IdempotencyConflictError
from qunyun.errors import QunyunError


class ChannelError(QunyunError):
    """A channel cannot be used as configured (codes channel.*)."""


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: a group/channel/room id, a person's id, an address or a URL's target.

    `direct` says the address is a person (a DM) rather than a group; adapters
    that need a conversation first (Discord, Matrix) open one.
    """

    address: str
    direct: bool = False
    name: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    text: str
    subject: str | None = None  # email and webhook only; chat platforms have none
    locale: str = "zh-CN"

    def fingerprint(self, recipient: Recipient) -> str:
        payload = [recipient.address, recipient.direct, self.text, self.subject]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


class DeliveryStatus(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    IN_DOUBT = "in_doubt"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    idempotency_key: str
    channel: str
    status: DeliveryStatus
    platform_id: str | None = None  # the platform's message id, where it gives one
    attempts: int = 0
    error: str | None = None
    retry_after: float | None = None  # with DEFERRED: seconds until the platform accepts again

    @property
    def delivered(self) -> bool:
        return self.status in (DeliveryStatus.SENT, DeliveryStatus.ALREADY_SENT)


class SendLog(Protocol):
    """Durable record of idempotency keys (the store's `SqlSendLog`, or `MemorySendLog`).

    `claim` atomically records the key as "sending" and returns None, or
    returns what an earlier claim left; it raises IdempotencyConflictError when the
    fingerprint differs. `finish` records the outcome, `release` forgets a key
    whose send certainly did not happen.
    """

    def claim(self, key: str, channel: str, fingerprint: str) -> Claimed | None: ...

    def finish(self, key: str, status: str, platform_id: str | None, attempts: int) -> None: ...

    def release(self, key: str) -> None: ...


class MemorySendLog:
    """A SendLog in memory: for tests and one-off scripts (forgets on exit)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, str, Claimed]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, channel: str, fingerprint: str) -> Claimed | None:
        with self._lock:
            found = self._rows.get(key)
            if found is None:
                self._rows[key] = (channel, fingerprint, Claimed("sending", None, 0))
                return None
            if found[1] != fingerprint:
                raise IdempotencyConflictError(key)
            return found[2]

    def finish(self, key: str, status: str, platform_id: str | None, attempts: int) -> None:
        with self._lock:
            channel, fingerprint, _ = self._rows[key]
            self._rows[key] = (channel, fingerprint, Claimed(status, platform_id, attempts))

    def release(self, key: str) -> None:
        with self._lock:
            self._rows.pop(key, None)


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # certainly not delivered; try again after `retry_after`
    IN_DOUBT = "in_doubt"  # may have been delivered
    FAILED = "failed"  # certainly not delivered; retrying will not help


@dataclass(frozen=True)
class Attempt:
    """One request's result, as an adapter reads the platform's answer."""

    outcome: Outcome
    platform_id: str | None = None
    retry_after: float | None = None
    error: str | None = None
    # The pacing scope the platform throttled (a chat, the whole bot); held for retry_after.
    throttled_scope: str | None = None


def too_long(text: str, limit: int, platform: str) -> Attempt | None:
    """A refusal for text over a platform's length limit (characters), before any request."""
    if len(text) > limit:
        return Attempt(
            Outcome.FAILED, error=f"text is {len(text)} characters; {platform} takes at most {limit}"
        )
    return None


@dataclass
class Policy:
    """How hard one send tries: attempts, the longest wait taken in-line, backoff for 5xx."""

    max_attempts: int = 5
    max_wait: float = 30.0
    backoff: float = 1.0
    backoff_cap: float = 30.0


@dataclass
class _Tries:
    count: int = 0
    last: Attempt | None = field(default=None)
    doubtful: bool = False  # an attempt may have reached the platform


class Channel(ABC):
    """Base of every adapter: claims, pacing, retries. Subclasses implement `_attempt`."""

    name: str = "channel"
    # True where the platform drops a repeated request for a while (a resend within one send is safe).
    native_idempotency: bool = False
    # True where the receiver keeps every idempotency key for good (our webhook contract): a key
    # left in doubt by a crash may then be resent later, and the receiver drops the duplicate.
    durable_idempotency: bool = False

    def __init__(self, send_log: SendLog, pacer: Pacer | None = None, policy: Policy | None = None) -> None:
        self.send_log = send_log
        self.pacer = pacer or Pacer()
        self.policy = policy or Policy()

    @abstractmethod
    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        """Make one request to the platform and classify its answer."""

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        """The published limits this send counts against, as (scope, rate)."""
        return []

    def send(self, recipient: Recipient, message: OutboundMessage, idempotency_key: str) -> Delivery:
        if not idempotency_key:
            raise ChannelError("an idempotency key is required", code="channel.no_key")
        earlier = self.send_log.claim(idempotency_key, self.name, message.fingerprint(recipient))
        if earlier is not None:
            if earlier.status == "sending" and self.durable_idempotency:
                return self._send_claimed(recipient, message, idempotency_key)
            if earlier.status == "sent":
                return Delivery(
                    idempotency_key,
                    self.name,
                    DeliveryStatus.ALREADY_SENT,
                    earlier.platform_id,
                    earlier.attempts,
                )
            return Delivery(
                idempotency_key,
                self.name,
                DeliveryStatus.IN_DOUBT,
                attempts=earlier.attempts,
                error="an earlier send of this key may have reached the platform; not resent",
            )
        return self._send_claimed(recipient, message, idempotency_key)

    def _send_claimed(self, recipient: Recipient, message: OutboundMessage, key: str) -> Delivery:
        tries = _Tries()
        policy = self.policy
        while tries.count < policy.max_attempts:
            self.pacer.acquire(self.rates(recipient))
            tries.count += 1
            attempt = tries.last = self._attempt(recipient, message, key)
            if attempt.outcome is Outcome.SENT:
                self.send_log.finish(key, "sent", attempt.platform_id, tries.count)
                return Delivery(key, self.name, DeliveryStatus.SENT, attempt.platform_id, tries.count)
            if attempt.outcome is Outcome.IN_DOUBT:
                tries.doubtful = True
                if self.native_idempotency:
                    continue
                self.send_log.finish(key, "sending", None, tries.count)
                return Delivery(key, self.name, DeliveryStatus.IN_DOUBT, None, tries.count, attempt.error)
            if attempt.outcome is Outcome.FAILED:
                self.send_log.release(key)
                return Delivery(key, self.name, DeliveryStatus.FAILED, None, tries.count, attempt.error)
            wait = self._retry_wait(attempt, tries.count)
            if wait > policy.max_wait:
                break
            if attempt.throttled_scope:
                self.pacer.hold(attempt.throttled_scope, wait)
            else:
                self.pacer.time.sleep(wait)
        last = tries.last
        if tries.doubtful:
            # Gave up after an attempt that may have landed: keep the claim, never resend later.
            self.send_log.finish(key, "sending", None, tries.count)
            error = last.error if last else None
            return Delivery(key, self.name, DeliveryStatus.IN_DOUBT, None, tries.count, error)
        self.send_log.release(key)
        return Delivery(
            key,
            self.name,
            DeliveryStatus.DEFERRED,
            None,
            tries.count,
            last.error if last else None,
            retry_after=self._retry_wait(last, tries.count) if last else None,
        )

    def _retry_wait(self, attempt: Attempt, count: int) -> float:
        if attempt.retry_after is not None:
            return attempt.retry_after
        return float(min(self.policy.backoff_cap, self.policy.backoff * 2 ** (count - 1)))
