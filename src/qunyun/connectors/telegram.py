"""Telegram Bot API: `sendMessage` to a group (negative chat id) or a person.

Contract (core.telegram.org/bots/api, /bots/faq): POST
`{base}/bot{token}/sendMessage` with JSON `{chat_id, text}`; the answer is
`{"ok": true, "result": {"message_id": …}}` or `{"ok": false, "error_code",
"description", "parameters": {"retry_after" | "migrate_to_chat_id"}}`.
Limits from the FAQ: about 30 messages per second overall, 20 per minute in
one group, about one per second in one private chat. Text is at most 4096
characters. Telegram has no idempotency of its own, so a send in doubt is not
repeated.
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

API = "https://api.telegram.org"
MAX_TEXT = 4096
OVERALL = Rate(30, 1.0)
PER_GROUP = Rate(20, 60.0)
PER_PRIVATE_CHAT = Rate(1, 1.0)


class TelegramChannel(Channel):
    name = "telegram"

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
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        is_group = recipient.address.startswith("-")
        chat = (f"chat:{recipient.address}", PER_GROUP if is_group else PER_PRIVATE_CHAT)
        return [("bot", OVERALL), chat]

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        refused = too_long(message.text, MAX_TEXT, "Telegram")
        if refused:
            return refused
        response = request(
            self._client, "POST", self._url, json={"chat_id": recipient.address, "text": message.text}
        )
        if isinstance(response, Attempt):
            return response
        body = json_body(response) or {}
        if body.get("ok") is True:
            return Attempt(Outcome.SENT, platform_id=str(body.get("result", {}).get("message_id")))
        parameters = body.get("parameters") or {}
        description = str(body.get("description") or response.text[:200])
        if response.status_code == 429 or "retry_after" in parameters:
            wait = float(parameters.get("retry_after", 1))
            return Attempt(Outcome.RETRY, retry_after=wait, error=description, throttled_scope="bot")
        if "migrate_to_chat_id" in parameters:
            description += f" (the group is now chat {parameters['migrate_to_chat_id']})"
        generic = generic_status(response)
        if generic is not None:
            return generic
        return Attempt(Outcome.FAILED, error=f"{body.get('error_code', response.status_code)}: {description}")
