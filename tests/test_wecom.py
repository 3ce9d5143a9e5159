"""WeCom 客户联系 callbacks and customer-group reconciliation.

Three kinds of evidence, none of them a live WeCom:
- the official sample vectors (Token QDG6eK / EncodingAESKey jWmYm7…): our wiring of wechatpy
  must verify Tencent's published signatures and decrypt to the published plaintext;
- round trips with our own key: event XML written from the docs (tests/data/wecom),
  encrypted by wechatpy's encrypt side the way WeCom posts it, read back as events and records;
- the API client against a loopback fake that answers with the documented bodies
  (recorded contracts), including an expired token and a rate-limit answer.
"""

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from platform_fakes import FakePlatform, Reply, Request, serve
from qunyun.connectors.wecom import (
    ACK,
    CallbackError,
    CallbackSettings,
    WeComEvent,
    decrypt_callback,
    event_records,
    parse_event,
    verify_url,
)
from qunyun.connectors.wecom_api import GroupChat, WeComApiError, WeComContactsClient, reconcile
from qunyun.domain import ActivityKind, Platform
from qunyun.errors import ConfigError

DATA = Path(__file__).parent / "data" / "wecom"

# --- Official vectors -------------------------------------------------------------------------
# Tencent's WeCom callback sample, sbzhu/weworkapi_php callback/Sample.php (commit 0855251597a9),
# the same values as 加解密方案说明 (developer.work.weixin.qq.com/document/path/91144, 举例说明).
OFFICIAL = CallbackSettings("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
# 使用示例一 (URL verification). The sample prints no plaintext; the signature must verify and the
# ReceiveId inside must be the CorpID. The value is the one independent implementations' tests
# assert for this vector (found by code search), not a figure from Tencent's sample.
OFFICIAL_GET = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
OFFICIAL_ECHO = "1616140317555161061"
# 使用示例二 (a POST): $sReqMsgSig, $sReqTimeStamp, $sReqNonce, $sReqData ...
OFFICIAL_POST = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813"}
OFFICIAL_POST_NONCE = "1372623149"
OFFICIAL_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA["
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911"
    "L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLx"
    "AUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9"
    "nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/u"
    "h9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]>"
    "</Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)
# ... and the plaintext the sample says DecryptMsg returns (its comment, newlines included).
OFFICIAL_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)

# A second official set: sbzhu/weworkapi_python callback/Sample.py (commit 27220fbe9d52). Its
# POST decrypts to exactly the XML the sample then encrypts as its reply (sRespData), CJK included.
OFFICIAL2 = CallbackSettings(
    "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee"
)
OFFICIAL2_GET = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
OFFICIAL2_ECHO = "1288432023552776189"  # as above: what independent implementations' tests assert
OFFICIAL2_POST = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
OFFICIAL2_BODY = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzT"
    "tRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5j"
    "aU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX"
    "3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
    "]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
OFFICIAL2_PLAINTEXT = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)


def test_official_url_verification() -> None:
    assert verify_url(OFFICIAL, **OFFICIAL_GET) == OFFICIAL_ECHO
    assert verify_url(OFFICIAL2, **OFFICIAL2_GET) == OFFICIAL2_ECHO


def test_official_post_decrypts_to_the_published_plaintext() -> None:
    # The library's own answer, character for character, for the published request ...
    raw = OFFICIAL.crypto().decrypt_message(
        {"Encrypt": ET.fromstring(OFFICIAL_BODY).findtext("Encrypt")},
        OFFICIAL_POST["msg_signature"],
        OFFICIAL_POST["timestamp"],
        OFFICIAL_POST_NONCE,
    )
    assert raw == OFFICIAL_PLAINTEXT
    # ... and ours, through the envelope parsing and the constant-time signature check.
    fields = decrypt_callback(OFFICIAL, OFFICIAL_BODY.encode(), nonce=OFFICIAL_POST_NONCE, **OFFICIAL_POST)
    assert fields == {
        "ToUserName": "wx5823bf96d3bd56c7",
        "FromUserName": "mycreate",
        "CreateTime": "1409659813",
        "MsgType": "text",
        "Content": "hello",
        "MsgId": "4561255354251345929",
        "AgentID": "218",
    }
    event = parse_event(fields)
    assert event.event_id == "4561255354251345929"  # a MsgId, when there is one, is the key
    assert event.create_time == datetime(2014, 9, 2, 12, 10, 13, tzinfo=UTC)
    assert event_records(event, "contacts:wx5823bf96d3bd56c7") == []  # a message, not a 客户联系 event


def test_second_official_post_vector() -> None:
    raw = OFFICIAL2.crypto().decrypt_message(
        {"Encrypt": ET.fromstring(OFFICIAL2_BODY).findtext("Encrypt")}, *OFFICIAL2_POST.values()
    )
    assert raw == OFFICIAL2_PLAINTEXT
    fields = decrypt_callback(OFFICIAL2, OFFICIAL2_BODY.encode(), **OFFICIAL2_POST)
    assert fields["Content"] == "你好"
    assert fields["FromUserName"] == "ChenJiaShun"


def test_official_vectors_refuse_a_wrong_token_or_corp() -> None:
    wrong_token = CallbackSettings("QDG6eX", OFFICIAL.encoding_aes_key, OFFICIAL.corp_id)
    with pytest.raises(CallbackError) as caught:
        verify_url(wrong_token, **OFFICIAL_GET)
    assert caught.value.code == "wecom.bad_signature"
    other_corp = CallbackSettings(OFFICIAL.token, OFFICIAL.encoding_aes_key, "wwsomeoneelse")
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(other_corp, OFFICIAL_BODY.encode(), nonce=OFFICIAL_POST_NONCE, **OFFICIAL_POST)
    assert caught.value.code == "wecom.wrong_corp"


# --- Round trips with our own key --------------------------------------------------------------

CORP = "wwqunyuntestcorp"
TOKEN = "qunyunCallbackToken"
AES_KEY = base64.b64encode(hashlib.sha256(b"qunyun test key").digest()).decode().rstrip("=")
SETTINGS = CallbackSettings(TOKEN, AES_KEY, CORP)
CONTACTS = f"contacts:{CORP}"
CHAT = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"


def fixture(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def deliver(
    plaintext: str, *, corp: str = CORP, nonce: str = "1372623149", timestamp: str = "1764574801"
) -> tuple[bytes, dict[str, str]]:
    """A POST as WeCom makes it: envelope body, and msg_signature/timestamp/nonce in the query."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, corp)
    reply = ET.fromstring(crypto.encrypt_message(plaintext, nonce, timestamp))
    encrypt, signature = reply.findtext("Encrypt"), reply.findtext("MsgSignature")
    assert encrypt
    assert signature
    body = (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    return body.encode(), {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


def receive(plaintext: str) -> WeComEvent:
    body, query = deliver(plaintext)
    return parse_event(decrypt_callback(SETTINGS, body, **query))


def test_url_verification_round_trip() -> None:
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP)
    encrypted = ET.fromstring(crypto.encrypt_message("8842951607723", "77", "1764574801"))
    query = {
        "msg_signature": encrypted.findtext("MsgSignature") or "",
        "timestamp": "1764574801",
        "nonce": "77",
        "echostr": encrypted.findtext("Encrypt") or "",
    }
    assert verify_url(SETTINGS, **query) == "8842951607723"


def test_group_add_member_gives_one_join_per_member() -> None:
    event = receive(fixture("chat_add_member.xml"))
    assert event.event == "change_external_chat"
    assert (event.change_type, event.update_detail) == ("update", "add_member")
    assert event.corp == CORP
    assert event.chat_id == CHAT
    assert (event.join_scene, event.quit_scene, event.mem_change_cnt) == (3, 0, 2)
    assert event.mem_change_list == ("wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA", "wmOgQhDgAAbbbbbbbbbbbbbbbbbbBBBB")
    assert event.cur_mem_ver == "71217227bbd112ecfe3a49c482195cb4"
    assert event.msg_id is None
    assert not event.needs_reconcile
    records = event_records(event, CONTACTS)
    assert [(r.kind, r.member, r.community) for r in records] == [
        (ActivityKind.JOIN, "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA", CHAT),
        (ActivityKind.JOIN, "wmOgQhDgAAbbbbbbbbbbbbbbbbbbBBBB", CHAT),
    ]
    assert all(r.platform is Platform.WECOM for r in records)
    assert all(r.occurred_at == datetime(2025, 12, 1, 7, 40, tzinfo=UTC) for r in records)
    assert records[0].reference_id == f"{event.event_id}:wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"


def test_group_del_member_gives_a_leave() -> None:
    event = receive(fixture("chat_del_member.xml"))
    assert event.quit_scene == 1  # removed by the owner or an admin
    records = event_records(event, CONTACTS)
    assert [(r.kind, r.member, r.community) for r in records] == [
        (ActivityKind.LEAVE, "wmOgQhDgAAbbbbbbbbbbbbbbbbbbBBBB", CHAT)
    ]


def test_member_change_without_a_member_list_asks_for_a_reconcile() -> None:
    event = receive(fixture("chat_add_member_legacy.xml"))
    assert event.mem_change_cnt == 1
    assert event.mem_change_list == ()
    assert event_records(event, CONTACTS) == []
    assert event.needs_reconcile


def test_member_list_shorter_than_the_count_also_asks_for_a_reconcile() -> None:
    text = fixture("chat_add_member.xml").replace("<MemChangeCnt>2<", "<MemChangeCnt>5<")
    event = receive(text)
    assert len(event_records(event, CONTACTS)) == 2
    assert event.needs_reconcile


def test_comma_separated_member_list_is_read_too() -> None:
    text = fixture("chat_del_member.xml").replace(
        "<Item><![CDATA[wmOgQhDgAAbbbbbbbbbbbbbbbbbbBBBB]]></Item>", "<![CDATA[wmA,wmB]]>"
    )
    event = receive(text)
    assert event.mem_change_list == ("wmA", "wmB")
    assert [r.member for r in event_records(event, CONTACTS)] == ["wmA", "wmB"]


@pytest.mark.parametrize("change", ["create", "dismiss"])
def test_group_create_and_dismiss_record_nothing(change: str) -> None:
    event = receive(fixture("chat_create.xml").replace("[create]", f"[{change}]"))
    assert event.change_type == change
    assert event_records(event, CONTACTS) == []
    assert not event.needs_reconcile


@pytest.mark.parametrize("detail", ["change_owner", "change_name", "change_notice"])
def test_other_group_updates_record_nothing(detail: str) -> None:
    event = receive(fixture("chat_add_member.xml").replace("[add_member]", f"[{detail}]"))
    assert event_records(event, CONTACTS) == []
    assert not event.needs_reconcile


@pytest.mark.parametrize("change", ["add_external_contact", "add_half_external_contact"])
def test_customer_added_joins_the_contacts_community(change: str) -> None:
    event = receive(fixture("contact_add.xml").replace("[add_external_contact]", f"[{change}]"))
    assert event.user_id == "zhangsan"
    assert event.external_user_id == "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"
    [record] = event_records(event, CONTACTS)
    assert (record.kind, record.community, record.member) == (
        ActivityKind.JOIN,
        CONTACTS,
        "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA",
    )
    assert record.occurred_at == datetime(2025, 12, 1, 6, 40, tzinfo=UTC)


@pytest.mark.parametrize("change", ["del_follow_user", "del_external_contact"])
def test_customer_removed_leaves_the_contacts_community(change: str) -> None:
    event = receive(fixture("contact_del_follow_user.xml").replace("[del_follow_user]", f"[{change}]"))
    [record] = event_records(event, CONTACTS)
    assert (record.kind, record.community) == (ActivityKind.LEAVE, CONTACTS)


def test_other_contact_events_record_nothing() -> None:
    event = receive(fixture("contact_add.xml").replace("[add_external_contact]", "[edit_external_contact]"))
    assert event_records(event, CONTACTS) == []


def test_replayed_callback_is_one_event_with_the_same_keys() -> None:
    """WeCom retries (3 tries in all) when no answer comes within 5 s; each try is re-encrypted."""
    plaintext = fixture("chat_add_member.xml")
    deliveries = [deliver(plaintext, nonce=str(n), timestamp=str(1764574801 + n)) for n in range(3)]
    assert len({body for body, _ in deliveries}) == 3  # different ciphertexts ...
    events = [parse_event(decrypt_callback(SETTINGS, body, **query)) for body, query in deliveries]
    assert len({event.event_id for event in events}) == 1  # ... one event
    keys = [[r.idempotency_key() for r in event_records(event, CONTACTS)] for event in events]
    assert keys[0] == keys[1] == keys[2]
    # The same body delivered again verbatim, too.
    body, query = deliveries[0]
    assert parse_event(decrypt_callback(SETTINGS, body, **query)).event_id == events[0].event_id


def test_different_events_get_different_ids() -> None:
    first = receive(fixture("chat_add_member.xml"))
    later = receive(fixture("chat_add_member.xml").replace("1764574800", "1764574860"))
    leave = receive(fixture("chat_del_member.xml"))
    assert len({first.event_id, later.event_id, leave.event_id}) == 3


def test_ack_is_an_empty_200() -> None:
    assert (ACK.status, ACK.body) == (200, b"")


# --- Refusals ----------------------------------------------------------------------------------


def test_bad_signature_is_refused() -> None:
    body, query = deliver(fixture("contact_add.xml"))
    query["msg_signature"] = "0" * 40
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, **query)
    assert caught.value.code == "wecom.bad_signature"
    assert caught.value.http_status == 403


@pytest.mark.parametrize("signature", ["", "签名" * 20, "0" * 40 + " "])
def test_odd_signatures_are_refused_not_crashed_on(signature: str) -> None:
    body, query = deliver(fixture("contact_add.xml"))
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, signature, query["timestamp"], query["nonce"])
    assert caught.value.code == "wecom.bad_signature"


def test_tampered_ciphertext_is_refused_by_the_signature() -> None:
    body, query = deliver(fixture("contact_add.xml"))
    tampered = body.replace(b"<![CDATA[", b"<![CDATA[A", 2)  # the second CDATA is the Encrypt
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, tampered, **query)
    assert caught.value.code == "wecom.bad_signature"


def test_bad_signature_on_url_verification_is_refused() -> None:
    query = dict(OFFICIAL_GET, msg_signature="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4")
    with pytest.raises(CallbackError) as caught:
        verify_url(OFFICIAL, **query)
    assert caught.value.code == "wecom.bad_signature"


def test_message_for_another_corp_is_refused() -> None:
    body, query = deliver(fixture("contact_add.xml"), corp="wwanothercorp")
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, **query)
    assert caught.value.code == "wecom.wrong_corp"
    assert CORP in caught.value.message


def test_doctype_and_entities_are_refused_before_anything_else() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>'
    )
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, bomb, "sig", "1", "2")
    assert caught.value.code == "wecom.unsafe_xml"
    assert "DOCTYPE" in caught.value.message


def test_doctype_inside_a_signed_plaintext_is_refused() -> None:
    hostile = '<!DOCTYPE xml SYSTEM "file:///etc/passwd">' + fixture("contact_add.xml")
    body, query = deliver(hostile)
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, **query)
    assert caught.value.code == "wecom.unsafe_xml"
    assert "decrypted event" in caught.value.message


def test_doctype_is_refused_even_where_a_comment_hides_a_cdata_start() -> None:
    """No CDATA-aware shortcut: a comment in the prolog could fake one and let a DOCTYPE through."""
    sneaky = "<!-- <![CDATA[ --><!DOCTYPE xml [<!ENTITY e 'x'>]>" + fixture("contact_add.xml")
    body, query = deliver(sneaky)
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, **query)
    assert caught.value.code == "wecom.unsafe_xml"


def test_oversized_body_is_refused() -> None:
    body = b"<xml><Encrypt>" + b"A" * (64 * 1024) + b"</Encrypt></xml>"
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, "sig", "1", "2")
    assert caught.value.code == "wecom.too_large"
    assert caught.value.http_status == 413
    assert str(len(body)) in caught.value.message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<xml><ToUserName>x</ToUserName></xml>", "no <Encrypt>"),
        (b"<xml><Encrypt>abc", "not well-formed"),
        (b"\xff\xfe<\x00x\x00", "not UTF-8"),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, problem: str) -> None:
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, "sig", "1", "2")
    assert caught.value.code == "wecom.bad_payload"
    assert problem in caught.value.message
    assert caught.value.http_status == 400


def test_signed_garbage_ciphertext_is_a_bad_payload() -> None:
    encrypt = "bm90IGFlcyBibG9ja3M="  # base64 of 14 bytes: not whole AES blocks
    parts = sorted(part.encode() for part in (TOKEN, "1", "2", encrypt))
    signature = hashlib.sha1(b"".join(parts)).hexdigest()
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    with pytest.raises(CallbackError) as caught:
        decrypt_callback(SETTINGS, body, signature, "1", "2")
    assert caught.value.code == "wecom.bad_payload"


def test_event_without_create_time_is_refused() -> None:
    with pytest.raises(CallbackError) as caught:
        parse_event({"ToUserName": CORP, "Event": "change_external_chat"})
    assert caught.value.code == "wecom.bad_payload"


@pytest.mark.parametrize("key", ["short", AES_KEY + "A", "!" * 43])
def test_bad_encoding_aes_key_is_a_config_error(key: str) -> None:
    with pytest.raises(ConfigError):
        CallbackSettings(TOKEN, key, CORP)


# --- The API client against recorded contracts ---------------------------------------------------

SECRET = "contact-secret"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


class FakeWeComContacts(FakePlatform):
    """gettoken, externalcontact/groupchat/list (cursor pages) and groupchat/get, as documented."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()
        self.issued = 0
        self.pages = {"": recorded("groupchat_list_page1.json")}
        first_cursor = self.pages[""]["next_cursor"]
        self.pages[first_cursor] = recorded("groupchat_list_page2.json")
        self.chats = {CHAT: recorded("groupchat_get.json")}

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def handle(self, request: Request) -> Reply:
        path = request.path.removeprefix("/cgi-bin/")
        if path == "gettoken":
            return self._gettoken(request)
        if request.query.get("access_token") not in self.tokens:
            return Reply(200, {"errcode": 42001, "errmsg": "access_token expired"})
        data = request.json()
        if path == "externalcontact/groupchat/list":
            page = self.pages.get(data.get("cursor", ""))
            return Reply(200, page or {"errcode": 40035, "errmsg": "invalid cursor"})
        if path == "externalcontact/groupchat/get":
            chat = self.chats.get(data["chat_id"])
            return Reply(200, chat or {"errcode": 40035, "errmsg": "不合法的参数"})
        return Reply(404, b"")

    def _gettoken(self, request: Request) -> Reply:
        if request.query.get("corpid") != CORP or request.query.get("corpsecret") != SECRET:
            return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
        self.issued += 1
        token = f"accesstoken{self.issued:06d}"
        self.tokens.add(token)
        return Reply(200, recorded("gettoken.json") | {"access_token": token})

    def calls(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == f"/cgi-bin/{path}"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeWeComContacts:
    return FakeWeComContacts()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(fake: FakeWeComContacts, sleeps: list[float], clock: Clock) -> Iterator[WeComContactsClient]:
    with serve(fake) as url:
        client = WeComContactsClient(
            CORP, SECRET, base_url=f"{url}/cgi-bin", sleep=sleeps.append, clock=clock, client=httpx.Client()
        )
        yield client
        client.close()


def test_group_chats_are_listed_across_cursor_pages(
    api: WeComContactsClient, fake: FakeWeComContacts
) -> None:
    chats = list(api.list_group_chats())
    assert chats == [
        "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA",
        "wrOgQhDgAAcwMTB7YmDkbeBsAAAA",
        "wrOgQhDgAAyLnFG5kRtG4tNq4pjQAAAA",
    ]
    pages = [request.json() for request in fake.calls("externalcontact/groupchat/list")]
    assert pages == [
        {"status_filter": 0, "limit": 1000},
        {"status_filter": 0, "limit": 1000, "cursor": "tJzlB9tdqfh-g7i_J-ehOz_TWcd7dSKa39_AqCIeMFw"},
    ]
    assert len(fake.calls("gettoken")) == 1  # the token is cached across calls


def test_owner_filter_and_limit_are_sent(api: WeComContactsClient, fake: FakeWeComContacts) -> None:
    list(api.list_group_chats(3, owners=["abel"], limit=10))
    first = fake.calls("externalcontact/groupchat/list")[0].json()
    assert first == {"status_filter": 3, "limit": 10, "owner_filter": {"userid_list": ["abel"]}}
    with pytest.raises(ValueError, match="limit"):
        list(api.list_group_chats(limit=1001))


def test_group_chat_details_are_parsed(api: WeComContactsClient, fake: FakeWeComContacts) -> None:
    chat = api.get_group_chat(CHAT)
    assert fake.calls("externalcontact/groupchat/get")[0].json() == {"chat_id": CHAT, "need_name": 1}
    assert (chat.chat_id, chat.name, chat.owner) == (CHAT, "销售客服群", "ZhuShengBen")
    assert chat.create_time == datetime.fromtimestamp(1572505490, UTC)
    assert chat.member_version == "71217227bbd112ecfe3a49c482195cb4"
    employee, customer = chat.members
    assert (employee.userid, employee.type, employee.is_employee) == ("abel", 1, True)
    assert (employee.invitor, employee.nickname, employee.name) == ("jack", "客服小张", "张三丰")
    assert employee.unionid is None
    assert (customer.type, customer.is_employee, customer.invitor) == (2, False, None)
    assert customer.unionid == "ozynqsulJFCZ2z1aYeS8h-nuasdAAA"
    assert customer.join_time == datetime.fromtimestamp(1572505491, UTC)
    assert customer.join_scene == 1


def test_expired_token_is_refreshed_once(
    api: WeComContactsClient, fake: FakeWeComContacts, sleeps: list[float]
) -> None:
    api.get_group_chat(CHAT)
    fake.expire_tokens()  # WeCom may invalidate a token before expires_in
    assert api.get_group_chat(CHAT).chat_id == CHAT
    assert len(fake.calls("gettoken")) == 2
    statuses = [r.query.get("access_token") for r in fake.calls("externalcontact/groupchat/get")]
    assert statuses == ["accesstoken000001", "accesstoken000001", "accesstoken000002"]
    assert sleeps == []  # a refresh is not a backoff


def test_token_is_replaced_before_it_expires(
    api: WeComContactsClient, fake: FakeWeComContacts, clock: Clock
) -> None:
    api.get_group_chat(CHAT)
    clock.now += 7200 - 300 - 1
    api.get_group_chat(CHAT)
    assert len(fake.calls("gettoken")) == 1
    clock.now += 1
    api.get_group_chat(CHAT)
    assert len(fake.calls("gettoken")) == 2


def test_rate_limit_answer_is_retried_after_a_backoff(
    api: WeComContactsClient, fake: FakeWeComContacts, sleeps: list[float]
) -> None:
    api.get_group_chat(CHAT)
    fake.next_replies.append(Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    assert api.get_group_chat(CHAT).name == "销售客服群"
    assert sleeps == [1.0]


@pytest.mark.parametrize(
    "reply",
    [Reply(200, {"errcode": -1, "errmsg": "system busy"}), Reply(502, b"bad gateway"), Reply(drop=True)],
)
def test_transient_failures_are_retried(
    api: WeComContactsClient, fake: FakeWeComContacts, sleeps: list[float], reply: Reply
) -> None:
    api.get_group_chat(CHAT)
    fake.next_replies.append(reply)
    assert api.get_group_chat(CHAT).chat_id == CHAT
    assert sleeps == [1.0]


def test_persistent_busy_gives_up_with_the_last_reason(
    api: WeComContactsClient, fake: FakeWeComContacts, sleeps: list[float]
) -> None:
    api.get_group_chat(CHAT)
    fake.next_replies.extend([Reply(200, {"errcode": -1, "errmsg": "system busy"})] * 4)
    with pytest.raises(WeComApiError) as caught:
        api.get_group_chat(CHAT)
    assert caught.value.code == "wecom.unavailable"
    assert caught.value.call == "externalcontact/groupchat/get"
    assert "errcode -1: system busy" in caught.value.message
    assert sleeps == [1.0, 2.0, 4.0]


def test_refusal_names_the_call_and_errcode(api: WeComContactsClient, sleeps: list[float]) -> None:
    with pytest.raises(WeComApiError) as caught:
        api.get_group_chat("wrNoSuchChat")
    error = caught.value
    assert (error.code, error.call, error.errcode, error.errmsg) == (
        "wecom.api",
        "externalcontact/groupchat/get",
        40035,
        "不合法的参数",
    )
    assert str(error) == "externalcontact/groupchat/get: errcode 40035: 不合法的参数"
    assert sleeps == []


def test_list_entry_without_chat_id_is_a_bad_response(
    api: WeComContactsClient, fake: FakeWeComContacts
) -> None:
    fake.next_replies.append(
        Reply(200, {"errcode": 0, "group_chat_list": [{"status": 0}], "next_cursor": ""})
    )
    with pytest.raises(WeComApiError) as caught:
        list(api.list_group_chats())
    assert caught.value.code == "wecom.bad_response"


def test_wrong_secret_is_a_gettoken_error(fake: FakeWeComContacts) -> None:
    with serve(fake) as url:
        client = WeComContactsClient(CORP, "wrong", base_url=f"{url}/cgi-bin", sleep=lambda _: None)
        with pytest.raises(WeComApiError) as caught:
            client.get_group_chat(CHAT)
        client.close()
    assert (caught.value.call, caught.value.errcode) == ("gettoken", 40001)
    assert "wrong" not in str(caught.value)  # the secret stays out of messages


# --- Reconcile ---------------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def documented_chat() -> GroupChat:
    with serve(FakeWeComContacts()) as url:
        client = WeComContactsClient(CORP, SECRET, base_url=f"{url}/cgi-bin")
        chat = client.get_group_chat(CHAT)
        client.close()
    return chat


def test_reconcile_joins_the_unknown_and_leaves_the_missing() -> None:
    chat = documented_chat()
    records = reconcile({"abel", "wmGoneAAAA"}, chat, NOW)
    assert [(r.kind, r.member) for r in records] == [
        (ActivityKind.JOIN, "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"),
        (ActivityKind.LEAVE, "wmGoneAAAA"),
    ]
    join, leave = records
    assert join.occurred_at == datetime.fromtimestamp(1572505491, UTC)  # WeCom's join_time
    assert (join.nickname, join.union_id, join.community_name) == (
        "顾客老王",
        "ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
        "销售客服群",
    )
    assert leave.occurred_at == NOW  # WeCom keeps no leave time: the reconcile's time
    assert all(r.community == CHAT and r.platform is Platform.WECOM for r in records)
    assert reconcile({"abel", "wmGoneAAAA"}, chat, NOW) == records  # deterministic keys
    assert len({r.idempotency_key() for r in records}) == 2


def test_reconcile_includes_employees_and_is_empty_when_in_sync() -> None:
    chat = documented_chat()
    joined = reconcile(set(), chat, NOW)
    assert [r.member for r in joined] == ["abel", "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"]
    assert joined[0].nickname == "客服小张"
    assert reconcile({"abel", "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"}, chat, NOW) == []


def test_reconcile_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="naive"):
        reconcile(set(), documented_chat(), datetime(2026, 6, 1, 12, 0))  # noqa: DTZ001


def test_missed_callback_is_recovered_by_a_reconcile(fake: FakeWeComContacts) -> None:
    """A legacy add_member names nobody; the reconcile it asks for finds the newcomer."""
    event = receive(fixture("chat_add_member_legacy.xml"))
    assert event.needs_reconcile
    assert event_records(event, CONTACTS) == []
    with serve(fake) as url:
        client = WeComContactsClient(CORP, SECRET, base_url=f"{url}/cgi-bin")
        assert event.chat_id is not None
        records = reconcile({"abel"}, client.get_group_chat(event.chat_id), NOW + timedelta(minutes=5))
        client.close()
    assert [(r.kind, r.member) for r in records] == [(ActivityKind.JOIN, "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA")]
