"""Discord: a bot posting to channels (and DMs), or a channel webhook.

Contract (discord.com/developers/docs, "Create Message", "Execute Webhook",
"Rate Limits"): a bot POSTs `{base}/channels/{id}/messages` with
`Authorization: Bot TOKEN` and JSON `{content, nonce, enforce_nonce}`; with
`enforce_nonce` Discord returns the earlier message instead of posting twice
when the same nonce comes back within a few minutes (our resend-in-doubt
guard). A DM first opens a channel with `POST /users/@me/channels
{recipient_id}`. Limits are per route and read from the answer's headers
(`X-RateLimit-Remaining`, `X-RateLimit-Reset-After`); a 429 carries
`retry_after` (seconds) and `global`; all requests share 50/s. Content is at
most 2000 characters. A webhook POSTs `{url}?wait=true` with `{content}`.
"""

import hashlib

import httpx

from qunyun.connectors.base import (
    Attempt,
    Channel,
    OutboundMessage,
    Outcome,
    Policy,
    Recipient,
    SendLog,
    too_long,
)
from qunyun.connectors.http import DEFAULT_TIMEOUT, generic_status, json_body, request
from qunyun.connectors.pacing import Pacer, Rate

API = "https://discord.com/api/v10"
GLOBAL = Rate(50, 1.0)
# The per-channel bucket as observed (5 per 5 s); the headers correct it as answers come in.
PER_ROUTE = Rate(5, 5.0)
MAX_TEXT = 2000


def nonce_for(key: str) -> str:
    """Discord nonces are at most 25 characters; our keys can be longer."""
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()[:25]


def _nothing_posted(attempt: Attempt) -> Attempt:
    """Opening a DM channel posts nothing, so an answer lost on the way is safe to retry."""
    return Attempt(Outcome.RETRY, error=attempt.error) if attempt.outcome is Outcome.IN_DOUBT else attempt


class _DiscordBase(Channel):
    def __init__(
        self,
        send_log: SendLog,
        pacer: Pacer | None,
        policy: Policy | None,
        client: httpx.Client | None,
    ) -> None:
        super().__init__(send_log, pacer, policy)
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def _route(self, recipient: Recipient) -> str:
        return f"route:{recipient.address}"

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [("global", GLOBAL), (self._route(recipient), PER_ROUTE)]

    def _read(self, response: httpx.Response, route: str) -> Attempt:
        """Classify a Create Message / Execute Webhook answer and learn the route's bucket."""
        if response.headers.get("x-ratelimit-remaining") == "0":
            self.pacer.hold(route, float(response.headers.get("x-ratelimit-reset-after", "1")))
        body = json_body(response) or {}
        if response.status_code == 429:
            scope = "global" if body.get("global") else route
            wait = float(body.get("retry_after") or response.headers.get("retry-after") or 1)
            error = str(body.get("message"))
            return Attempt(Outcome.RETRY, retry_after=wait, error=error, throttled_scope=scope)
        generic = generic_status(response, scope=route)
        if generic is not None:
            return generic
        if response.is_success and "id" in body:
            return Attempt(Outcome.SENT, platform_id=str(body["id"]))
        detail = body.get("message", response.text[:200])
        return Attempt(Outcome.FAILED, error=f"{response.status_code} {body.get('code', '')}: {detail}")


class DiscordBotChannel(_DiscordBase):
    name = "discord"
    native_idempotency = True

    def __init__(
        self,
        token: str,
        send_log: SendLog,
        *,
        base_url: str = API,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy, client)
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bot {token}"}
        self._dm_channels: dict[str, str] = {}

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        refused = too_long(message.text, MAX_TEXT, "Discord")
        if refused:
            return refused
        channel = self._dm_channel(recipient.address) if recipient.direct else recipient.address
        if isinstance(channel, Attempt):
            return channel
        payload = {"content": message.text, "nonce": nonce_for(key), "enforce_nonce": True}
        url = f"{self._base}/channels/{channel}/messages"
        response = request(self._client, "POST", url, headers=self._headers, json=payload)
        if isinstance(response, Attempt):
            return response
        return self._read(response, self._route(recipient))

    def _dm_channel(self, user_id: str) -> str | Attempt:
        known = self._dm_channels.get(user_id)
        if known:
            return known
        url = f"{self._base}/users/@me/channels"
        response = request(self._client, "POST", url, headers=self._headers, json={"recipient_id": user_id})
        if isinstance(response, Attempt):
            # Opening a DM posts nothing, so a lost answer is safe to retry.
            return _nothing_posted(response)
        attempt = self._read(response, "route:dm-open")
        if attempt.outcome is Outcome.SENT and attempt.platform_id:
            self._dm_channels[user_id] = attempt.platform_id
            return attempt.platform_id
        return _nothing_posted(attempt)


class DiscordWebhookChannel(_DiscordBase):
    """Posts through one channel webhook; the recipient address is only a label for pacing."""

    name = "discord-webhook"

    def __init__(
        self,
        webhook_url: str,
        send_log: SendLog,
        *,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy, client)
        self._url = webhook_url

    def _route(self, recipient: Recipient) -> str:
        return "route:webhook"

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        refused = too_long(message.text, MAX_TEXT, "Discord")
        if refused:
            return refused
        payload = {"content": message.text}
        response = request(self._client, "POST", self._url, params={"wait": "true"}, json=payload)
        if isinstance(response, Attempt):
            return response
        return self._read(response, "route:webhook")
