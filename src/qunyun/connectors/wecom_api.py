"""WeCom customer-group (客户群) membership through the API, to reconcile what callbacks missed.

A callback can be lost (our endpoint down for longer than WeCom's three tries) or can name no
members (add_member payloads before MemChangeList existed). The API says who is in a group
now, so comparing it with who we think is in it gives the joins and leaves we missed.

Contracts (developer.work.weixin.qq.com; self-built apps use the same requests):
- `GET {base}/gettoken?corpid&corpsecret` → `{errcode: 0, access_token, expires_in}`; the
  secret is that of an app listed under 客户联系 › 可调用接口的应用. A token lasts
  `expires_in` (7200) seconds; errcode 40014 / 42001 / 41001 mean it is invalid, expired or
  missing, and a fresh one is fetched once.
- 获取客户群列表 (document/path/93414): `POST {base}/externalcontact/groupchat/list` with
  `{status_filter, owner_filter: {userid_list}, cursor, limit}` (limit 1-1000; without an owner
  filter and over 1000 visible employees WeCom answers 81017) → `{group_chat_list: [{chat_id,
  status}], next_cursor}`; an empty next_cursor ends the list.
- 获取客户群详情 (document/path/96338): `POST {base}/externalcontact/groupchat/get` with
  `{chat_id, need_name: 1}` → `{group_chat: {chat_id, name, owner, create_time, notice,
  member_list: [{userid, type, join_time, join_scene, invitor: {userid}, group_nickname,
  name, unionid}], admin_list, member_version}}`. type 1 is an employee (企业成员), 2 an
  external contact; join_scene 1 direct invitation, 2 invitation link, 3 QR code.
- errcode 45009 (call frequency over the limit), 45033 (too many concurrent calls) and -1
  (系统繁忙; 全局错误码, document/path/90455: "retry later, at most 3 times") are retried
  after a short backoff (1, 2, 4 s by default: three retries); any other non-zero errcode is
  a `WeComApiError` naming the call, errcode and errmsg.

Example (a job, never inside the 5-second callback answer):

    api = WeComContactsClient(corp_id, secret)
    for chat_id in api.list_group_chats():
        chat = api.get_group_chat(chat_id)
        records = reconcile(known_members(chat_id), chat, now=clock.now())
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from qunyun.connectors.http import DEFAULT_TIMEOUT
from qunyun.domain import ActivityKind, ActivityRecord, Platform, ensure_utc
from qunyun.errors import QunyunError

API = "https://qyapi.weixin.qq.com/cgi-bin"
TOKEN_INVALID = frozenset({40014, 42001, 41001})
THROTTLED = frozenset({45009, 45033, -1})
MAX_LIST_LIMIT = 1000
MAX_OWNERS = 100
EMPLOYEE, EXTERNAL = 1, 2
# A token is replaced this long before WeCom says it expires, so no call races its expiry.
TOKEN_MARGIN_SECONDS = 300.0

Json = dict[str, Any]


class WeComApiError(QunyunError):
    """A WeCom API call that failed for good (codes wecom.api, wecom.unavailable, wecom.bad_response).

    `errcode` / `errmsg` are WeCom's own when it gave them; `call` is the API path.
    """

    def __init__(
        self, message: str, *, code: str, call: str, errcode: int | None = None, errmsg: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.call = call
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True)
class GroupMember:
    """One member of a customer group as groupchat/get lists it.

    Employees (type 1) are members too; they are kept, and `is_employee` lets the caller
    mark them as staff.
    """

    userid: str
    type: int
    join_time: datetime
    join_scene: int | None = None
    invitor: str | None = None
    group_nickname: str | None = None
    name: str | None = None
    unionid: str | None = None

    @property
    def is_employee(self) -> bool:
        return self.type == EMPLOYEE

    @property
    def nickname(self) -> str | None:
        """The name shown in the group: the group nickname if set, else the WeChat name."""
        return self.group_nickname or self.name


@dataclass(frozen=True)
class GroupChat:
    chat_id: str
    name: str
    owner: str
    create_time: datetime
    members: tuple[GroupMember, ...]
    member_version: str | None = None


class WeComContactsClient:
    """The few 客户联系 calls reconciliation needs, with token caching and bounded retries.

    `sleep` and `clock` are injectable so tests do not wait; `client` lets a test point at a
    loopback fake (with `base_url`).
    """

    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        base_url: str = API,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = 4,
        backoff: float = 1.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._credentials = {"corpid": corp_id, "corpsecret": secret}
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)
        self._sleep = sleep
        self._clock = clock
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._token: str | None = None
        self._token_expires = 0.0

    def close(self) -> None:
        self._client.close()

    def list_group_chats(
        self, status_filter: int = 0, *, owners: Sequence[str] | None = None, limit: int = MAX_LIST_LIMIT
    ) -> Iterator[str]:
        """Every customer-group chat id visible to the app, following `next_cursor`.

        status_filter: 0 all, 1 owner left the company, 2 inheritance in progress, 3 inherited.
        `owners` (at most 100 userids) narrows to those owners' groups.
        """
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_LIST_LIMIT}, not {limit}")
        payload: Json = {"status_filter": status_filter, "limit": limit}
        if owners is not None:
            if len(owners) > MAX_OWNERS:
                raise ValueError(f"WeCom filters by at most {MAX_OWNERS} owners per request")
            payload["owner_filter"] = {"userid_list": list(owners)}
        seen: set[str] = set()
        while True:
            body = self._call("externalcontact/groupchat/list", payload)
            yield from _chat_ids(body)
            cursor = str(body.get("next_cursor") or "")
            if not cursor:
                return
            if cursor in seen:  # a cursor that comes back would page forever
                raise WeComApiError(
                    f"groupchat/list returned cursor {cursor!r} twice",
                    code="wecom.bad_response",
                    call="externalcontact/groupchat/list",
                )
            seen.add(cursor)
            payload["cursor"] = cursor

    def get_group_chat(self, chat_id: str) -> GroupChat:
        """The group's details and current members, with names (`need_name: 1`)."""
        call = "externalcontact/groupchat/get"
        body = self._call(call, {"chat_id": chat_id, "need_name": 1})
        try:
            return _group_chat(body["group_chat"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeComApiError(
                f"{call}: unexpected answer for {chat_id}: {exc!r}", code="wecom.bad_response", call=call
            ) from exc

    def _call(self, path: str, payload: Json) -> Json:
        return self._retrying(path, lambda: self._post(path, payload))

    def _post(self, path: str, payload: Json) -> Json | str:
        token = self._access_token()
        return self._exchange("POST", path, params={"access_token": token}, json=payload)

    def _access_token(self) -> str:
        if self._token is None or self._clock() >= self._token_expires:
            params = self._credentials
            body = self._retrying("gettoken", lambda: self._exchange("GET", "gettoken", params=params))
            token = body.get("access_token")
            if not token:
                raise WeComApiError(
                    "gettoken: no access_token in the answer", code="wecom.bad_response", call="gettoken"
                )
            lifetime = float(body.get("expires_in") or 7200)
            self._token = str(token)
            self._token_expires = self._clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
        return self._token

    def _retrying(self, call: str, send: Callable[[], Json | str]) -> Json:
        """`send` until WeCom answers errcode 0; a string outcome is a transient failure."""
        refreshed = False
        reason = ""
        for attempt in range(1, self._max_attempts + 1):
            outcome = send()
            if isinstance(outcome, str):
                reason = outcome
            else:
                code = outcome.get("errcode", 0)
                if code == 0:
                    return outcome
                if code in TOKEN_INVALID and not refreshed:
                    refreshed, self._token = True, None
                    continue
                if code not in THROTTLED:
                    raise _api_error(call, outcome)
                reason = f"errcode {code}: {outcome.get('errmsg')}"
            if attempt < self._max_attempts:
                self._sleep(self._backoff * 2 ** (attempt - 1))
        raise WeComApiError(
            f"{call}: still failing after {self._max_attempts} attempts ({reason})",
            code="wecom.unavailable",
            call=call,
        )

    def _exchange(self, method: str, path: str, **kwargs: Any) -> Json | str:
        """One HTTP round trip: the JSON body, or why it is worth trying again.

        These calls only read, so a request that may have reached WeCom is safe to repeat.
        Transport errors are reported by class and message only: the URL carries the
        secret or the token.
        """
        try:
            response = self._client.request(method, f"{self._base}/{path}", **kwargs)
        except httpx.TransportError as exc:
            return f"{exc.__class__.__name__}: {exc}"
        if response.status_code == 429 or response.status_code >= 500:
            return f"HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            raise WeComApiError(
                f"{path}: HTTP {response.status_code}: {response.text[:200]}",
                code="wecom.bad_response",
                call=path,
            )
        return body


def _chat_ids(body: Json) -> list[str]:
    chats = body.get("group_chat_list") or []
    ids = [chat.get("chat_id") if isinstance(chat, dict) else None for chat in chats]
    if not all(isinstance(chat_id, str) and chat_id for chat_id in ids):
        raise WeComApiError(
            "groupchat/list: an entry without a chat_id",
            code="wecom.bad_response",
            call="externalcontact/groupchat/list",
        )
    return [str(chat_id) for chat_id in ids]


def _api_error(call: str, body: Json) -> WeComApiError:
    errcode = body.get("errcode")
    errmsg = str(body.get("errmsg") or "")
    return WeComApiError(
        f"{call}: errcode {errcode}: {errmsg}",
        code="wecom.api",
        call=call,
        errcode=errcode if isinstance(errcode, int) else None,
        errmsg=errmsg,
    )


def _when(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def _optional(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _member(item: Json) -> GroupMember:
    invitor = item.get("invitor")
    return GroupMember(
        userid=str(item["userid"]),
        type=int(item["type"]),
        join_time=_when(item["join_time"]),
        join_scene=int(item["join_scene"]) if item.get("join_scene") is not None else None,
        invitor=_optional(invitor.get("userid")) if isinstance(invitor, dict) else None,
        group_nickname=_optional(item.get("group_nickname")),
        name=_optional(item.get("name")),
        unionid=_optional(item.get("unionid")),
    )


def _group_chat(data: Json) -> GroupChat:
    return GroupChat(
        chat_id=str(data["chat_id"]),
        name=str(data.get("name") or ""),
        owner=str(data.get("owner") or ""),
        create_time=_when(data.get("create_time") or 0),
        members=tuple(_member(item) for item in data.get("member_list") or []),
        member_version=_optional(data.get("member_version")),
    )


def reconcile(known_members: set[str], chat: GroupChat, now: datetime) -> list[ActivityRecord]:
    """JOINs and LEAVEs that make `known_members` (who we think is in the chat) match WeCom.

    - A member WeCom lists and we do not know → JOIN at their `join_time` (WeCom's), with the
      group nickname (or WeChat name) and unionid.
    - A userid we know and WeCom no longer lists → LEAVE at `now`: WeCom keeps no record of
      when someone left, so the reconcile time is the best bound we have (the leave happened
      between the previous reconcile or callback and now).
    Employees are included like customers (`GroupMember.is_employee` tells them apart).
    Reference ids are deterministic (`reconcile:{chat}:{userid}:{join or leave}:{unix}`), so
    running the same reconcile twice stores nothing new.
    """
    now = ensure_utc(now)
    present = {member.userid: member for member in chat.members}
    joined = sorted(
        (member for userid, member in present.items() if userid not in known_members),
        key=lambda member: (member.join_time, member.userid),
    )
    left = sorted(known_members - present.keys())
    records = [_reconcile_record(chat, m.userid, ActivityKind.JOIN, m.join_time, m) for m in joined]
    records += [_reconcile_record(chat, userid, ActivityKind.LEAVE, now, None) for userid in left]
    return records


def _reconcile_record(
    chat: GroupChat, userid: str, kind: ActivityKind, when: datetime, member: GroupMember | None
) -> ActivityRecord:
    return ActivityRecord(
        occurred_at=when,
        platform=Platform.WECOM,
        community=chat.chat_id,
        community_name=chat.name or None,
        member=userid,
        kind=kind,
        nickname=member.nickname if member else None,
        union_id=member.unionid if member else None,
        reference_id=f"reconcile:{chat.chat_id}:{userid}:{kind}:{int(when.timestamp())}",
    )
