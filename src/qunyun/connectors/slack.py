"""Slack Web API: `chat.postMessage` to a channel, or to a user id (the app's DM with them).

Contract (api.slack.com/methods/chat.postMessage): POST `{base}/chat.postMessage`
with a bearer token and JSON `{channel, text}`; HTTP 200 with `{"ok": true,
"channel", "ts"}` or `{"ok": false, "error": "channel_not_found" | …}`; when
throttled, HTTP 429 with a `Retry-After` header in seconds. The method allows
about one message per second per channel (short bursts tolerated). Slack has
no idempotency for posting, so a send in doubt is not repeated.
"""

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

API = "https://slack.com/api"
PER_CHANNEL = Rate(1, 1.0)
MAX_TEXT = 40_000  # Slack truncates longer text; refuse instead of sending half a message


class SlackChannel(Channel):
    name = "slack"

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
        super().__init__(send_log, pacer, policy)
        self._url = f"{base_url.rstrip('/')}/chat.postMessage"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [(f"channel:{recipient.address}", PER_CHANNEL)]

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        refused = too_long(message.text, MAX_TEXT, "Slack")
        if refused:
            return refused
        response = request(
            self._client,
            "POST",
            self._url,
            headers=self._headers,
            json={"channel": recipient.address, "text": message.text},
        )
        if isinstance(response, Attempt):
            return response
        generic = generic_status(response, scope=f"channel:{recipient.address}")
        if generic is not None:
            return generic
        body = json_body(response) or {}
        if body.get("ok") is True:
            return Attempt(Outcome.SENT, platform_id=f"{body.get('channel')}:{body.get('ts')}")
        error = str(body.get("error") or f"HTTP {response.status_code}")
        if error == "ratelimited":
            scope = f"channel:{recipient.address}"
            return Attempt(Outcome.RETRY, retry_after=1.0, error=error, throttled_scope=scope)
        return Attempt(Outcome.FAILED, error=error)
