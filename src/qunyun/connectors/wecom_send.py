"""WeCom (企业微信) outbound: application messages and group-robot webhooks.

Contracts (developer.work.weixin.qq.com, 发送应用消息 / 群机器人配置说明):
- `GET {base}/gettoken?corpid&corpsecret` → `{errcode: 0, access_token, expires_in}`;
  a token lasts 7200 s and is refreshed on errcode 40014 / 42001.
- To a member: `POST {base}/message/send?access_token=…` with `{touser, msgtype:
  "text", agentid, text: {content}, enable_duplicate_check: 1,
  duplicate_check_interval}` → `{errcode: 0, msgid, invaliduser}`. WeCom drops
  a repeat of the same content to the same member inside the interval (our
  resend-in-doubt guard). One app may send a member at most 30 messages a minute.
- To an app group chat: `POST {base}/appchat/send` with `{chatid, msgtype, text}`.
  Customer groups (客户群) cannot be posted to by an app: WeCom only lets an
  employee confirm a mass-send task (`externalcontact/add_msg_template`), which
  is outside this channel; use the group robot or the employee's own client.
- Group robot: `POST {webhook url}` with `{msgtype: "text", text: {content}}` →
  `{errcode: 0}`; 20 messages a minute per robot; errcode 45009 when exceeded.
Text content is at most 2048 bytes of UTF-8.
"""

from typing import Any

import httpx

from qunyun.connectors.base import Attempt, Channel, OutboundMessage, Outcome, Policy, Recipient, SendLog
from qunyun.connectors.http import DEFAULT_TIMEOUT, generic_status, json_body, request
from qunyun.connectors.pacing import Pacer, Rate

API = "https://qyapi.weixin.qq.com/cgi-bin"
MAX_BYTES = 2048
PER_MEMBER = Rate(30, 60.0)
PER_APP = Rate(10_000, 60.0)
PER_ROBOT = Rate(20, 60.0)
TOKEN_INVALID = frozenset({40014, 42001, 41001})
# 45009: API call frequency over the limit; 45033: too many concurrent calls.
THROTTLED = frozenset({45009, 45033, -1})  # -1: 系统繁忙, try again


def _too_long(message: OutboundMessage) -> Attempt | None:
    size = len(message.text.encode("utf-8"))
    if size > MAX_BYTES:
        return Attempt(Outcome.FAILED, error=f"text is {size} bytes of UTF-8; WeCom takes {MAX_BYTES}")
    return None


def _classify(response: httpx.Response, scope: str) -> Attempt:
    generic = generic_status(response, scope=scope)
    if generic is not None:
        return generic
    body = json_body(response) or {}
    code = body.get("errcode")
    if code == 0:
        return Attempt(Outcome.SENT, platform_id=str(body.get("msgid") or "") or None)
    error = f"errcode {code}: {body.get('errmsg', response.text[:200])}"
    if code in THROTTLED:
        wait = 60.0 if code == 45009 else 2.0
        return Attempt(Outcome.RETRY, retry_after=wait, error=error, throttled_scope=scope)
    return Attempt(Outcome.FAILED, error=error)


class WeComAppChannel(Channel):
    name = "wecom"
    native_idempotency = True

    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        send_log: SendLog,
        *,
        base_url: str = API,
        duplicate_check_seconds: int = 4 * 3600,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy)
        self._base = base_url.rstrip("/")
        self._credentials = {"corpid": corp_id, "corpsecret": secret}
        self._agent_id = agent_id
        self._dedupe_window = min(duplicate_check_seconds, 4 * 3600)  # WeCom's maximum
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)
        self._token: str | None = None

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [("app", PER_APP), (f"member:{recipient.address}", PER_MEMBER)]

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        refused = _too_long(message)
        if refused:
            return refused
        for _ in range(2):  # one refresh of an expired token
            token = self._access_token()
            if isinstance(token, Attempt):
                return token
            response = self._post(recipient, message, token)
            if isinstance(response, Attempt):
                return response
            body = json_body(response) or {}
            if body.get("errcode") in TOKEN_INVALID:
                self._token = None
                continue
            attempt = _classify(response, f"member:{recipient.address}")
            invalid = str(body.get("invaliduser") or "")
            if attempt.outcome is Outcome.SENT and invalid:
                return Attempt(Outcome.FAILED, error=f"WeCom refused recipient(s): {invalid}")
            return attempt
        return Attempt(Outcome.FAILED, error="WeCom rejected a freshly issued access token")

    def _post(self, recipient: Recipient, message: OutboundMessage, token: str) -> httpx.Response | Attempt:
        payload: dict[str, Any] = {"msgtype": "text", "text": {"content": message.text}}
        if recipient.direct:
            path = "message/send"
            payload |= {
                "touser": recipient.address,
                "agentid": self._agent_id,
                "enable_duplicate_check": 1,
                "duplicate_check_interval": self._dedupe_window,
            }
        else:
            path = "appchat/send"
            payload["chatid"] = recipient.address
        url = f"{self._base}/{path}"
        return request(self._client, "POST", url, params={"access_token": token}, json=payload)

    def _access_token(self) -> str | Attempt:
        if self._token:
            return self._token
        response = request(self._client, "GET", f"{self._base}/gettoken", params=self._credentials)
        if isinstance(response, Attempt):
            # Asking for a token sends nothing; a lost answer is safe to retry.
            return Attempt(Outcome.RETRY, error=response.error)
        body = json_body(response) or {}
        if body.get("errcode") == 0 and body.get("access_token"):
            self._token = str(body["access_token"])
            return self._token
        return Attempt(Outcome.FAILED, error=f"gettoken: errcode {body.get('errcode')}: {body.get('errmsg')}")


class WeComRobotChannel(Channel):
    """A group robot (群机器人) posting into the one group it belongs to."""

    name = "wecom-robot"

    def __init__(
        self,
        webhook_url: str,
        send_log: SendLog,
        *,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy)
        self._url = webhook_url
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [("robot", PER_ROBOT)]

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        refused = _too_long(message)
        if refused:
            return refused
        payload = {"msgtype": "text", "text": {"content": message.text}}
        response = request(self._client, "POST", self._url, json=payload)
        if isinstance(response, Attempt):
            return response
        return _classify(response, "robot")
