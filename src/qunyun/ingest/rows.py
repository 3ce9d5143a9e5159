"""Turning one raw row (a mapping of column → text) into an ActivityRecord.

The schema is documented in docs/import-format.md. Every problem is reported
as a `RowProblem` naming the line and the field, never as a bare exception.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from qunyun.domain import IMPORT_COLUMNS, SYSTEM_KINDS, ActivityKind, ActivityRecord, Platform, to_minor_units

FIELDS = IMPORT_COLUMNS
REQUIRED = ("occurred_at", "member", "kind")

# Operators' exports often say it in Chinese.
KIND_ALIASES: dict[str, ActivityKind] = {
    "入群": ActivityKind.JOIN,
    "加入": ActivityKind.JOIN,
    "退群": ActivityKind.LEAVE,
    "离开": ActivityKind.LEAVE,
    "发言": ActivityKind.MESSAGE,
    "消息": ActivityKind.MESSAGE,
    "回复": ActivityKind.REPLY,
    "点赞": ActivityKind.REACTION,
    "分享": ActivityKind.SHARE,
    "浏览": ActivityKind.VIEW,
    "阅读": ActivityKind.VIEW,
    "打卡": ActivityKind.CHECKIN,
    "投票": ActivityKind.POLL_VOTE,
    "问卷": ActivityKind.SURVEY_ANSWER,
    "购买": ActivityKind.PURCHASE,
    "下单": ActivityKind.PURCHASE,
    "核销": ActivityKind.COUPON_REDEEM,
    "邀请": ActivityKind.REFERRAL,
    "参加活动": ActivityKind.EVENT_ATTEND,
    "投诉": ActivityKind.COMPLAINT,
}
# text_flag and delivery are written by Qunyun itself (docs/text.md, docs/playbooks.md), never imported.
_KINDS = {kind.value: kind for kind in ActivityKind if kind not in SYSTEM_KINDS} | KIND_ALIASES
_PLATFORMS = {p.value: p for p in Platform}
_MAX_ID = 200
_MAX_TEXT = 20_000
_LIMITS = {field: _MAX_TEXT if field == "text" else _MAX_ID for field in FIELDS}
# C0 controls other than tab and newline break PostgreSQL (NUL) and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    field: str
    message: str
    unit: str = "line"  # what `line` counts: a line of a text file, a message id of an export

    def __str__(self) -> str:
        return f"{self.unit} {self.line}, field {self.field}: {self.message}"


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RowDefaults:
    """Values for columns a file leaves out (given on the command line)."""

    platform: Platform | None = None
    community: str | None = None
    currency: str = "CNY"
    assume_tz: tzinfo | None = None


def _clean(raw: dict[str, Any]) -> dict[str, str]:
    """Known fields as trimmed, printable text; empty values dropped.

    One pass over the row instead of one call per field: this runs for every
    row of every import, so it is kept tight.
    """
    clean: dict[str, str] = {}
    for field, value in raw.items():
        if not value or field not in _LIMITS:
            continue
        if not isinstance(value, str):
            value = str(value)
        # Fast path: printable text has neither control characters nor undecodable bytes.
        if not value.isprintable():
            found = _SURROGATE.search(value)
            if found:
                byte = ord(found.group()) - 0xDC00
                raise _FieldError(field, f"bytes not valid in the file's encoding (0x{byte:02x})")
            value = _CONTROL.sub("", value)
        value = value.strip()
        if not value:
            continue
        if len(value) > _LIMITS[field]:
            raise _FieldError(field, f"longer than {_LIMITS[field]} characters ({len(value)})")
        clean[field] = value
    return clean


def parse_timestamp(value: str, assume_tz: tzinfo | None) -> datetime:
    """ISO 8601 with an offset ('2026-05-01T08:00:00+08:00', '…Z') or unix seconds/ms."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        if _EPOCH.match(value):
            seconds = float(value)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        raise _FieldError("occurred_at", f"not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        if _EPOCH.match(value):  # fromisoformat reads '20260501' as a date
            return datetime.fromtimestamp(float(value), UTC)
        if assume_tz is None:
            raise _FieldError(
                "occurred_at",
                f"timestamp {value!r} has no time zone (add +08:00 or pass --assume-timezone)",
            )
        parsed = parsed.replace(tzinfo=assume_tz)
    return parsed.astimezone(UTC)


def _required(clean: dict[str, str], field: str, default: str | None = None) -> str:
    value = clean.get(field) or default
    if not value:
        raise _FieldError(field, "missing")
    return value


def _kind(clean: dict[str, str]) -> ActivityKind:
    value = _required(clean, "kind")
    kind = _KINDS.get(value) or _KINDS.get(value.lower())
    if kind is None:
        raise _FieldError("kind", f"unknown kind {value!r} (see docs/import-format.md)")
    return kind


def _platform(clean: dict[str, str], defaults: RowDefaults) -> Platform:
    value = clean.get("platform")
    if value is None:
        if defaults.platform is None:
            raise _FieldError("platform", "missing (or pass --platform)")
        return defaults.platform
    platform = _PLATFORMS.get(value) or _PLATFORMS.get(value.lower())
    if platform is None:
        raise _FieldError("platform", f"unknown platform {value!r}")
    return platform


def _money(clean: dict[str, str], kind: ActivityKind, defaults: RowDefaults) -> tuple[int | None, str | None]:
    amount = clean.get("amount")
    currency = clean.get("currency", "").upper() or None
    if amount is None:
        if kind is ActivityKind.PURCHASE:
            raise _FieldError("amount", "a purchase needs an amount")
        return None, currency
    currency = currency or defaults.currency
    if not _CURRENCY.fullmatch(currency):
        raise _FieldError("currency", f"not an ISO 4217 code: {currency!r}")
    try:
        minor = to_minor_units(amount.replace(",", ""), currency)
    except ValueError as exc:
        raise _FieldError("amount", str(exc)) from exc
    if minor < 0:
        raise _FieldError("amount", "negative amounts are not activities (record refunds separately)")
    return minor, currency


def parse_row(raw: dict[str, Any], defaults: RowDefaults) -> ActivityRecord:
    """Validate one row; raise `_FieldError` naming the field (see `parse_or_problem`)."""
    clean = _clean(raw)
    kind = _kind(clean)
    occurred_at = parse_timestamp(_required(clean, "occurred_at"), defaults.assume_tz)
    amount_minor, currency = _money(clean, kind, defaults)
    get = clean.get
    return ActivityRecord(
        occurred_at=occurred_at,
        platform=_platform(clean, defaults),
        community=_required(clean, "community", defaults.community),
        member=_required(clean, "member"),
        kind=kind,
        nickname=get("nickname"),
        community_name=get("community_name"),
        text=get("text"),
        amount_minor=amount_minor,
        currency=currency,
        reference_id=get("reference_id"),
        reply_to=get("reply_to"),
        phone=get("phone"),
        union_id=get("union_id"),
    )


def parse_or_problem(
    raw: dict[str, Any], line: int, defaults: RowDefaults, unit: str = "line"
) -> ActivityRecord | RowProblem:
    try:
        return parse_row(raw, defaults)
    except _FieldError as bad:
        return RowProblem(line, bad.field, bad.message, unit)
