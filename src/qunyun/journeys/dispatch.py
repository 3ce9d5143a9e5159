"""The dispatcher: outbox rows out through the channels, exactly once, within the guard rails.

Three short transactions per batch, so no database lock is held while a
platform answers:

1. claim: pick due rows (highest priority first, `SKIP LOCKED` on PostgreSQL),
   apply the guard rails (opt-out, expiry, quiet hours, caps, quota), turn
   operator sends into tasks, and mark the rest `sending` with a lease;
2. send: each through its channel, whose send log remembers the key
   (a resend of a delivered key returns the first delivery);
3. record: sent / retry with backoff / dead-letter / in doubt, and a
   `delivery` activity for the member.

A worker killed after 1 leaves rows `sending`; when their lease runs out
another worker takes them over and the channel's log decides: never reached
the platform → sent now; delivered → recorded as sent; in doubt → resent only
on channels whose receiver keeps idempotency keys for good (webhook).
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, func, insert, or_, select, update

from qunyun.connectors.base import Channel, ChannelError, Delivery, DeliveryStatus, OutboundMessage, Recipient
from qunyun.domain import ActivityKind
from qunyun.journeys.engine import lock_for_write
from qunyun.journeys.guards import Guards, day_window, month_window, week_window
from qunyun.store.journey_tables import UNSENT, member_optouts, operator_tasks, outbox
from qunyun.store.tables import activities, communities, identities

log = logging.getLogger(__name__)
COUNTED = ("sending", "sent", "task", "in_doubt")  # statuses that used up a cap or quota slot


@dataclass
class DispatchReport:
    sent: int = 0
    tasks: int = 0
    held: int = 0
    retried: int = 0
    dead: int = 0
    in_doubt: int = 0
    suppressed: int = 0
    expired: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def hold(self, reason: str) -> None:
        self.held += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


@dataclass
class DispatchSettings:
    guards: Guards
    batch: int
    retries: int
    backoff: timedelta
    lease: timedelta
    task_deadline: timedelta
    default_zone: ZoneInfo


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        workspace_id: int,
        settings: DispatchSettings,
        channels: Callable[[str], Channel],
    ) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.settings = settings
        self.channels = channels
        self._zones: dict[int, ZoneInfo] = {}

    def dispatch(self, now: datetime, max_batches: int | None = None) -> DispatchReport:
        report = DispatchReport()
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            with self.engine.begin() as conn:
                claimed, seen = self._claim(conn, now, report)
            # Outcomes are written together after the batch's sends: a crash in between leaves rows
            # `sending`, which the send log settles when they are taken over.
            results = [(row, self._send(row)) for row in claimed]
            if results:
                with self.engine.begin() as conn:
                    for row, delivery in results:
                        self._record(conn, row, delivery, now, report)
            if seen < self.settings.batch:
                break
        return report

    # --- 1. claim ---------------------------------------------------------------------

    def _claim(self, conn: Connection, now: datetime, report: DispatchReport) -> tuple[list[Row[Any]], int]:
        lock_for_write(conn)
        query = (
            select(outbox)
            .where(
                outbox.c.workspace_id == self.workspace_id,
                UNSENT,  # the partial index's own condition, literally, so planners use it
                or_(
                    (outbox.c.status == "pending") & (outbox.c.next_attempt_at <= now),
                    (outbox.c.status == "sending") & (outbox.c.lease_until < now),
                ),
            )
            .order_by(outbox.c.priority.desc(), outbox.c.id)
            .limit(self.settings.batch)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(conn.execute(query))
        opted = self._opted_out(conn, {r.member_id for r in rows if r.member_id is not None})
        to_send = []
        for row in rows:
            # Rows let through earlier in this batch already carry sent_at: the counts below see them.
            verdict = self._verdict(conn, row, now, opted, report)
            if verdict == "send":
                to_send.append(row)
        return to_send, len(rows)

    def _verdict(
        self,
        conn: Connection,
        row: Row[Any],
        now: datetime,
        opted: set[int],
        report: DispatchReport,
    ) -> str:
        if row.status == "sending":  # taken over from a worker that died: already counted, just send
            self._set(conn, row, lease_until=now + self.settings.lease)
            return "send"
        if row.member_id is not None and row.member_id in opted:
            self._set(conn, row, status="suppressed", last_error="member opted out")
            report.suppressed += 1
            return "suppressed"
        if now >= row.expires_at:
            self._set(conn, row, status="expired", last_error="held back past its time to live")
            report.expired += 1
            return "expired"
        zone = self._zone(conn, row.community_id)
        guards = self.settings.guards
        if row.kind == "message":
            quiet = guards.quiet_until(now, zone)
            if quiet is not None:
                self._set(conn, row, next_attempt_at=quiet, last_error="quiet hours")
                report.hold("quiet_hours")
                return "held"
            later = self._capped(conn, row, now, zone)
            if later is not None:
                self._set(conn, row, next_attempt_at=later[1], last_error=later[0])
                report.hold(later[0])
                return "held"
        month_end = self._quota(conn, row, now, zone)
        if month_end is not None:
            self._set(conn, row, next_attempt_at=month_end, last_error="WeCom monthly quota")
            report.hold("wecom_quota")
            return "held"
        if row.channel == "task":
            self._make_task(conn, row, now)
            report.tasks += 1
            return "task"
        self._set(
            conn,
            row,
            status="sending",
            lease_until=now + self.settings.lease,
            sent_at=now,
            attempts=row.attempts + 1,
            last_error=None,
        )
        return "send"

    def _capped(
        self, conn: Connection, row: Row[Any], now: datetime, zone: ZoneInfo
    ) -> tuple[str, datetime] | None:
        guards = self.settings.guards
        for scope, cap, window in (
            ("day", guards.daily_cap, day_window),
            ("week", guards.weekly_cap, week_window),
        ):
            if cap <= 0:
                continue
            start, end = window(now, zone)
            taken = self._count(conn, outbox.c.member_id == row.member_id, start, end, kind="message")
            if taken >= cap:
                return f"{scope}_cap", end
        return None

    def _quota(self, conn: Connection, row: Row[Any], now: datetime, zone: ZoneInfo) -> datetime | None:
        if not self.settings.guards.wecom_quota or not self._is_wecom(conn, row):
            return None
        start, end, days = month_window(now, zone)
        taken = self._count(conn, outbox.c.recipient == row.recipient, start, end)
        return end if taken >= days else None

    def _is_wecom(self, conn: Connection, row: Row[Any]) -> bool:
        if row.channel.startswith("wecom"):
            return True
        if row.community_id is None:
            return False
        platform = conn.execute(
            select(communities.c.platform).where(communities.c.id == row.community_id)
        ).scalar()
        return platform == "wecom"

    def _count(
        self, conn: Connection, who: Any, start: datetime, end: datetime, kind: str | None = None
    ) -> int:
        query = select(func.count()).where(
            outbox.c.workspace_id == self.workspace_id,
            who,
            outbox.c.status.in_(COUNTED),
            outbox.c.sent_at >= start,
            outbox.c.sent_at < end,
        )
        if kind is not None:
            query = query.where(outbox.c.kind == kind)
        return int(conn.execute(query).scalar_one())

    def _opted_out(self, conn: Connection, member_ids: set[int]) -> set[int]:
        if not member_ids:
            return set()
        rows = conn.execute(
            select(member_optouts.c.member_id).where(member_optouts.c.member_id.in_(sorted(member_ids)))
        )
        return {r.member_id for r in rows}

    def _zone(self, conn: Connection, community_id: int | None) -> ZoneInfo:
        if community_id is None:
            return self.settings.default_zone
        if community_id not in self._zones:
            name = conn.execute(
                select(communities.c.timezone).where(communities.c.id == community_id)
            ).scalar()
            self._zones[community_id] = ZoneInfo(name) if name else self.settings.default_zone
        return self._zones[community_id]

    def _set(self, conn: Connection, row: Row[Any], **values: Any) -> None:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))

    def _make_task(self, conn: Connection, row: Row[Any], now: datetime) -> None:
        platform = "other"
        if row.community_id is not None:
            platform = (
                conn.execute(
                    select(communities.c.platform).where(communities.c.id == row.community_id)
                ).scalar()
                or "other"
            )
        conn.execute(
            insert(operator_tasks).values(
                workspace_id=self.workspace_id,
                outbox_id=row.id,
                member_id=row.member_id,
                community_id=row.community_id,
                platform=platform,
                recipient=row.recipient,
                text=row.text,
                deadline=now + self.settings.task_deadline,
                status="open",
                created_at=now,
            )
        )
        self._set(conn, row, status="task", sent_at=now, attempts=row.attempts + 1, last_error=None)

    # --- 2. send ----------------------------------------------------------------------

    def _send(self, row: Row[Any]) -> Delivery:
        try:
            channel = self.channels(row.channel)
        except ChannelError as exc:
            return Delivery(row.idempotency_key, row.channel, DeliveryStatus.FAILED, error=str(exc))
        recipient = Recipient(row.recipient, direct=row.direct)
        message = OutboundMessage(row.text, subject=row.subject, locale=row.locale)
        try:
            return channel.send(recipient, message, row.idempotency_key)
        except Exception as exc:
            log.exception("channel %s raised on %s", row.channel, row.idempotency_key)
            return Delivery(row.idempotency_key, row.channel, DeliveryStatus.IN_DOUBT, error=repr(exc)[:500])

    # --- 3. record --------------------------------------------------------------------

    def _record(
        self, conn: Connection, row: Row[Any], delivery: Delivery, now: datetime, report: DispatchReport
    ) -> None:
        status = delivery.status
        attempts = row.attempts + 1
        if delivery.delivered:
            self._set(
                conn, row, status="sent", sent_at=now, platform_id=delivery.platform_id, lease_until=None
            )
            report.sent += 1
            record_delivery(conn, self.workspace_id, row, "sent", now)
        elif status is DeliveryStatus.IN_DOUBT:
            self._set(conn, row, status="in_doubt", last_error=delivery.error, lease_until=None)
            report.in_doubt += 1
        elif status is DeliveryStatus.FAILED or attempts >= self.settings.retries:
            self._set(conn, row, status="dead", last_error=delivery.error, sent_at=None, lease_until=None)
            report.dead += 1
            record_delivery(conn, self.workspace_id, row, "dead", now)
        else:
            wait = delivery.retry_after or self.settings.backoff.total_seconds() * 2 ** (attempts - 1)
            self._set(
                conn,
                row,
                status="pending",
                next_attempt_at=now + timedelta(seconds=wait),
                last_error=delivery.error,
                sent_at=None,
                lease_until=None,
            )
            report.retried += 1


def record_delivery(conn: Connection, workspace_id: int, row: Row[Any], status: str, now: datetime) -> None:
    """A `delivery` activity for the member: what reached them (or did not), for timelines and analysis."""
    if row.member_id is None or row.community_id is None:
        return
    identity = conn.execute(
        select(identities.c.id)
        .join(communities, communities.c.platform == identities.c.platform)
        .where(identities.c.member_id == row.member_id, communities.c.id == row.community_id)
        .order_by(identities.c.id)
        .limit(1)
    ).scalar()
    if identity is None:
        return
    key = hashlib.sha256(f"delivery\x00{row.idempotency_key}\x00{status}".encode()).hexdigest()
    exists = conn.execute(
        select(activities.c.id).where(activities.c.source == "journeys", activities.c.idempotency_key == key)
    ).first()
    if exists is not None:
        return
    conn.execute(
        insert(activities).values(
            community_id=row.community_id,
            identity_id=identity,
            kind=ActivityKind.DELIVERY.value,
            occurred_at=now,
            text=f"{status}:{row.playbook}:{row.step}",
            reference_id=row.idempotency_key[:200],
            source="journeys",
            idempotency_key=key,
            ingested_at=now,
        )
    )
