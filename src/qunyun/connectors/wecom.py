"""WeCom (企业微信) inbound callbacks for 客户联系: customers added or removed, customer-group changes.

This module is pure: bytes and query parameters in, events and activity records out. The
HTTP route (GET for URL verification, POST for events, at `/hooks/wecom`) and the store are
wired in by the caller. The contracts it follows:

- Crypto, 加解密方案说明 (developer.work.weixin.qq.com/document/path/91144): `msg_signature`
  is SHA-1 over the sorted strings (Token, timestamp, nonce, ciphertext); the ciphertext is
  AES-256-CBC with key = base64(EncodingAESKey + "="), IV = the key's first 16 bytes, and the
  plaintext is 16 random bytes, a 4-byte length, the message and the receiving CorpID. The
  AES part is wechatpy's (`wechatpy.enterprise.crypto.WeChatCrypto`, the 1.8 name of what
  later releases call `wechatpy.work.crypto`); we add a constant-time signature comparison in
  front of it and XML that cannot expand entities.
- Events, 客户联系 › 变更回调 › 事件格式 (document/path/92130 for self-built apps, 96361 for
  代开发 apps; same fields): `change_external_contact` with ChangeType
  `add_external_contact`, `add_half_external_contact`, `del_external_contact`,
  `del_follow_user`, …; `change_external_chat` with ChangeType `create` / `update` /
  `dismiss`, and for `update` an UpdateDetail (`add_member`, `del_member`, `change_owner`,
  `change_name`, `change_notice`), JoinScene, QuitScene, MemChangeCnt, and in newer payloads
  MemChangeList (`<Item>userid</Item>…`) with LastMemVer / CurMemVer.
- Delivery: WeCom waits 5 seconds for an answer, then drops the connection and retries, three
  tries in all; an HTTP 200 with an empty body is an answer ("直接返回200（即以空串为返回包）").
  So the route verifies, parses and records (or queues) at once, answers `ACK`, and leaves any
  API call (the reconcile in `wecom_api`) to a job.

Example (inside the POST route):

    fields = decrypt_callback(settings, await request.body(), sig, timestamp, nonce)
    event = parse_event(fields)
    records = event_records(event, corp_community=f"contacts:{event.corp}")
    if event.needs_reconcile: queue_reconcile(event.chat_id)
    return Response(ACK.body, status_code=ACK.status, media_type=ACK.media_type)
"""

import base64
import binascii
import hashlib
import hmac
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from qunyun.domain import ActivityKind, ActivityRecord, Platform
from qunyun.errors import ConfigError, QunyunError

# A 客户联系 event is a few hundred bytes; the cap keeps a hostile body from costing anything.
MAX_BODY_BYTES = 64 * 1024
# WeCom's deadline for an answer before it retries (three tries in all).
DEADLINE_SECONDS = 5.0

Fields = dict[str, str | list[str]]

CONTACT_EVENT = "change_external_contact"
CHAT_EVENT = "change_external_chat"
_CONTACT_JOINS = frozenset({"add_external_contact", "add_half_external_contact"})
_CONTACT_LEAVES = frozenset({"del_external_contact", "del_follow_user"})
_MEMBER_DETAILS = {"add_member": ActivityKind.JOIN, "del_member": ActivityKind.LEAVE}

# Entities can only be declared in a DOCTYPE, and WeCom's XML has neither. The search is on the
# whole text, CDATA included: telling CDATA from comments and processing instructions would
# take a parser, and an event that merely mentions "<!DOCTYPE" is not worth that risk.
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

_HTTP_STATUS = {"wecom.bad_signature": 403, "wecom.too_large": 413}


class CallbackError(QunyunError):
    """A callback we refuse (codes wecom.*); `http_status` is what the route should answer.

    Codes: wecom.bad_signature (not signed with our Token: not from WeCom, or a Token
    mismatch), wecom.wrong_corp (encrypted for another CorpID, or with another
    EncodingAESKey), wecom.too_large, wecom.unsafe_xml (DOCTYPE / ENTITY declarations),
    wecom.bad_payload (anything else malformed). All are 4xx: a 5xx would only make WeCom retry
    something that will fail the same way.
    """

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 400)


@dataclass(frozen=True)
class CallbackSettings:
    """The three values of the app's 接收消息 settings in the admin console.

    `corp_id` is the ReceiveId WeCom puts inside every ciphertext: the CorpID for a
    self-built app's callbacks (a third-party suite's own callbacks use the SuiteID instead).
    """

    token: str
    encoding_aes_key: str
    corp_id: str

    def __post_init__(self) -> None:
        # Checked here, once: wechatpy would fail on a bad key with a bare assert per request.
        try:
            key = base64.b64decode(self.encoding_aes_key + "=", validate=True)
        except binascii.Error:
            key = b""
        if len(self.encoding_aes_key) != 43 or len(key) != 32:
            raise ConfigError(
                "WeCom EncodingAESKey must be the 43 characters shown in the admin console",
                code="config.invalid",
            )
        if not self.token or not self.corp_id:
            raise ConfigError("WeCom callback Token and CorpID are required", code="config.invalid")

    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.encoding_aes_key, self.corp_id)


@dataclass(frozen=True)
class Ack:
    """What the route answers once a callback is verified and handed on."""

    status: int = 200
    body: bytes = b""
    media_type: str = "text/plain"


# An empty 200: WeCom takes it as "received, no passive reply" and does not retry.
ACK = Ack()


def verify_url(
    settings: CallbackSettings, msg_signature: str, timestamp: str, nonce: str, echostr: str
) -> str:
    """The plaintext echostr to answer WeCom's GET when the callback URL is saved.

    `echostr` is the URL-decoded query value (frameworks decode it; a "+" must not have
    become a space). The answer must be the plaintext exactly, without quotes or newline.
    """
    if len(echostr) > MAX_BODY_BYTES:
        raise CallbackError("echostr is longer than any WeCom sends", code="wecom.too_large")
    _check_signature(settings, msg_signature, timestamp, nonce, echostr)
    return _decrypt(settings, lambda crypto: crypto.check_signature(msg_signature, timestamp, nonce, echostr))


def decrypt_callback(
    settings: CallbackSettings, body: bytes, msg_signature: str, timestamp: str, nonce: str
) -> Fields:
    """The decrypted event of a POST as {element: text}; a list where an element has children.

    The body is `<xml><ToUserName/><Encrypt/><AgentID/></xml>`; only Encrypt is used, since
    only it is signed. Both the envelope and the plaintext are parsed without DTDs.
    """
    if len(body) > MAX_BODY_BYTES:
        raise CallbackError(
            f"callback body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted",
            code="wecom.too_large",
        )
    envelope = _parse_xml(body, "callback body")
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise CallbackError("callback body has no <Encrypt> element", code="wecom.bad_payload")
    _check_signature(settings, msg_signature, timestamp, nonce, encrypt)
    plaintext = _decrypt(
        settings,
        lambda crypto: crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce),
    )
    return _parse_xml(plaintext.encode("utf-8"), "decrypted event")


def _check_signature(
    settings: CallbackSettings, signature: str, timestamp: str, nonce: str, data: str
) -> None:
    """Compare in constant time before wechatpy compares again with `!=`.

    A comparison that stops at the first differing character would let a patient sender
    learn a valid signature for a forged body one character at a time.
    """
    parts = sorted(part.encode("utf-8") for part in (settings.token, timestamp, nonce, data))
    expected = hashlib.sha1(b"".join(parts)).hexdigest().encode()  # WeCom's scheme, not our choice
    if not signature or not hmac.compare_digest(expected, signature.encode("utf-8")):
        raise CallbackError("msg_signature does not match the Token", code="wecom.bad_signature")


def _decrypt(settings: CallbackSettings, call: Callable[[WeChatCrypto], object]) -> str:
    try:
        return str(call(settings.crypto()))
    except InvalidSignatureException as exc:
        raise CallbackError("msg_signature does not match the Token", code="wecom.bad_signature") from exc
    except InvalidCorpIdException as exc:
        raise CallbackError(
            f"message is not for CorpID {settings.corp_id} (or the EncodingAESKey differs)",
            code="wecom.wrong_corp",
        ) from exc
    except (ValueError, TypeError, IndexError, struct.error) as exc:
        # Bad base64, a length that is not whole AES blocks, bad padding, non-UTF-8 plaintext.
        raise CallbackError(f"ciphertext cannot be decrypted: {exc}", code="wecom.bad_payload") from exc


def _parse_xml(data: bytes, what: str) -> Fields:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CallbackError(f"{what} is not UTF-8", code="wecom.bad_payload") from exc
    if _DECLARATION.search(text):
        raise CallbackError(f"{what} declares a DOCTYPE or ENTITY; refused", code="wecom.unsafe_xml")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CallbackError(f"{what} is not well-formed XML: {exc}", code="wecom.bad_payload") from exc
    return {child.tag: _value(child) for child in root}


def _value(element: ET.Element) -> str | list[str]:
    children = list(element)
    if children:
        return [(child.text or "").strip() for child in children]
    return (element.text or "").strip()


@dataclass(frozen=True)
class WeComEvent:
    """One callback event, the fields Qunyun uses (names follow WeCom's, in snake case).

    `user_id` is the employee (成员) of a contact event; `external_user_id` the customer.
    `mem_change_list` holds the userids that joined or left in a chat update; WeCom added it
    later, older payloads carry only the count (`mem_change_cnt`).
    """

    event: str
    change_type: str
    create_time: datetime
    corp: str
    msg_type: str = "event"
    chat_id: str | None = None
    external_user_id: str | None = None
    user_id: str | None = None
    update_detail: str | None = None
    join_scene: int | None = None
    quit_scene: int | None = None
    mem_change_cnt: int | None = None
    mem_change_list: tuple[str, ...] = ()
    last_mem_ver: str | None = None
    cur_mem_ver: str | None = None
    msg_id: str | None = None

    @property
    def event_id(self) -> str:
        """The key that makes WeCom's retries (the same plaintext, up to 3 times) one event.

        MsgId when the payload has one (messages do; 客户联系 events usually do not);
        otherwise a BLAKE2b digest of every identifying field: corp, event, change type,
        detail, time, chat, customer, employee, member list and member versions. Two
        different events share it only if WeCom sends them with all of those equal.
        """
        if self.msg_id:
            return self.msg_id
        parts = [
            self.corp,
            self.event,
            self.change_type,
            self.update_detail or "",
            str(int(self.create_time.timestamp())),
            self.chat_id or "",
            self.external_user_id or "",
            self.user_id or "",
            ",".join(self.mem_change_list),
            self.last_mem_ver or "",
            self.cur_mem_ver or "",
        ]
        return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()

    @property
    def member_change(self) -> ActivityKind | None:
        """JOIN or LEAVE for a customer-group member change, else None."""
        if self.event != CHAT_EVENT or self.change_type != "update" or self.update_detail is None:
            return None
        return _MEMBER_DETAILS.get(self.update_detail)

    @property
    def needs_reconcile(self) -> bool:
        """A member change whose members the payload does not name (all or some of them).

        The caller then pulls the chat through the API (`wecom_api.reconcile`), outside the
        5-second answer.
        """
        if self.member_change is None:
            return False
        named = len(self.mem_change_list)
        return named == 0 or (self.mem_change_cnt is not None and self.mem_change_cnt > named)


def parse_event(fields: Fields) -> WeComEvent:
    """The event in `decrypt_callback`'s fields; wecom.bad_payload if CreateTime or ToUserName is missing."""
    corp = _text(fields, "ToUserName")
    if corp is None:
        raise CallbackError("event has no ToUserName", code="wecom.bad_payload")
    return WeComEvent(
        event=_text(fields, "Event") or "",
        change_type=_text(fields, "ChangeType") or "",
        create_time=_timestamp(fields),
        corp=corp,
        msg_type=_text(fields, "MsgType") or "",
        chat_id=_text(fields, "ChatId"),
        external_user_id=_text(fields, "ExternalUserID"),
        user_id=_text(fields, "UserID"),
        update_detail=_text(fields, "UpdateDetail"),
        join_scene=_integer(fields, "JoinScene"),
        quit_scene=_integer(fields, "QuitScene"),
        mem_change_cnt=_integer(fields, "MemChangeCnt"),
        mem_change_list=_member_list(fields.get("MemChangeList")),
        last_mem_ver=_text(fields, "LastMemVer"),
        cur_mem_ver=_text(fields, "CurMemVer"),
        msg_id=_text(fields, "MsgId"),
    )


def _text(fields: Fields, name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value else None


def _integer(fields: Fields, name: str) -> int | None:
    value = _text(fields, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise CallbackError(f"{name} is not a number: {value!r}", code="wecom.bad_payload") from exc


def _timestamp(fields: Fields) -> datetime:
    seconds = _integer(fields, "CreateTime")
    if seconds is None:
        raise CallbackError("event has no CreateTime", code="wecom.bad_payload")
    return datetime.fromtimestamp(seconds, UTC)


def _member_list(value: str | list[str] | None) -> tuple[str, ...]:
    """`<Item>` children; a bare comma-separated text is accepted too.

    Some SDKs (WxJava's converter) read both shapes, so we do as well.
    """
    if value is None:
        return ()
    items = value if isinstance(value, list) else value.split(",")
    return tuple(item.strip() for item in items if item.strip())


def event_records(event: WeComEvent, corp_community: str) -> list[ActivityRecord]:
    """The activities an event amounts to; [] for events that change no membership.

    - customer group update add_member / del_member → JOIN / LEAVE of each userid in
      MemChangeList, community = the chat id (an add/del without the list gives nothing
      here; see `needs_reconcile`);
    - add_external_contact / add_half_external_contact → JOIN of the customer in
      `corp_community` (the caller's corp-level "contacts" community, e.g. "contacts:<corp>");
      del_external_contact (the employee deleted the customer) / del_follow_user (the customer
      deleted the employee) → LEAVE there. These are per employee: a customer who keeps
      another employee still shows a LEAVE.
    - chat create / dismiss, owner / name / notice changes, other events → [].

    Reference ids are `{event_id}:{userid}`, so a replayed callback yields the same
    idempotency keys and the store keeps one activity.
    """
    if event.event == CHAT_EVENT:
        kind = event.member_change
        if kind is None or event.chat_id is None:
            return []
        return [_record(event, event.chat_id, member, kind) for member in event.mem_change_list]
    if event.event == CONTACT_EVENT and event.external_user_id:
        if event.change_type in _CONTACT_JOINS:
            return [_record(event, corp_community, event.external_user_id, ActivityKind.JOIN)]
        if event.change_type in _CONTACT_LEAVES:
            return [_record(event, corp_community, event.external_user_id, ActivityKind.LEAVE)]
    return []


def _record(event: WeComEvent, community: str, member: str, kind: ActivityKind) -> ActivityRecord:
    return ActivityRecord(
        occurred_at=event.create_time,
        platform=Platform.WECOM,
        community=community,
        member=member,
        kind=kind,
        reference_id=f"{event.event_id}:{member}",
    )
