"""A generic signed webhook: POST each message as JSON to the operator's own endpoint.

Request: JSON `{id, recipient, direct, text, subject, locale}` with headers
`Idempotency-Key`, `X-Qunyun-Timestamp` and `X-Qunyun-Signature`
(`signing.py`). The receiver answers 2xx when it took the message (optionally
`{"id": …}`), 409 when it already had this id (counted as delivered; the
receiver keeps ids for good, so a send left in doubt by a crash is resent), 429 or
5xx to be retried; any other 4xx is a refusal.
"""

import json

import httpx

from qunyun.connectors.base import Attempt, Channel, OutboundMessage, Outcome, Policy, Recipient, SendLog
from qunyun.connectors.http import DEFAULT_TIMEOUT, generic_status, json_body, request
from qunyun.connectors.pacing import Pacer, Rate
from qunyun.connectors.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from qunyun.domain import Clock

DEFAULT_RATE = Rate(20, 1.0)


class WebhookChannel(Channel):
    name = "webhook"
    native_idempotency = True  # the receiver is told the key and asked to honour it
    durable_idempotency = True  # … for good (the contract above): an in-doubt key is safe to resend

    def __init__(
        self,
        url: str,
        secret: str,
        clock: Clock,
        send_log: SendLog,
        *,
        rate: Rate = DEFAULT_RATE,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy)
        self._url = url
        self._secret = secret
        self._clock = clock
        self._rate = rate
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [("endpoint", self._rate)]

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        body = json.dumps(
            {
                "id": key,
                "recipient": recipient.address,
                "direct": recipient.direct,
                "text": message.text,
                "subject": message.subject,
                "locale": message.locale,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        response = request(self._client, "POST", self._url, content=body, headers=headers)
        if isinstance(response, Attempt):
            return response
        generic = generic_status(response, scope="endpoint")
        if generic is not None:
            return generic
        if response.is_success or response.status_code == 409:
            answer = json_body(response) or {}
            return Attempt(Outcome.SENT, platform_id=str(answer["id"]) if "id" in answer else None)
        return Attempt(Outcome.FAILED, error=f"HTTP {response.status_code}: {response.text[:200]}")
