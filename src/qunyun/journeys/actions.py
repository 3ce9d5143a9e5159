"""What each action step does, inside the transaction that advances the enrolment.

Effects on our own books (points, coupons, tags, operator alerts) are written
here, each with an idempotency key made of (playbook, subject, occurrence,
step). Anything that leaves Qunyun (a message, a post, a webhook call)
becomes an outbox row with that same key; the dispatcher sends it later.
Control members (the holdout) get none of the member-facing effects.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete

from qunyun.domain import FixedClock
from qunyun.engage.accounts import Owner, SystemAccounts
from qunyun.engage.coupons import issue_coupon
from qunyun.engage.ledger import earn
from qunyun.feedback.surveys import record_delivery
from qunyun.journeys.definition import Step
from qunyun.journeys.templates import render
from qunyun.journeys.views import MemberView
from qunyun.store.bulk import insert_or_skip
from qunyun.store.journey_tables import member_tags
from qunyun.store.tables import alerts

# Actions that reach the member; a control (holdout) member gets none of them.
MEMBER_FACING = frozenset(
    {"send_message", "post_to_community", "award_points", "issue_coupon", "send_survey", "call_webhook"}
)
# A link to a member page: (member id, target such as "survey:nps", expires at) → URL.
LinkMaker = Callable[[int, str, datetime], str]


class Counts(Protocol):
    """Member counts a template may show, read only when it asks (they cost a query)."""

    def streak(self) -> int: ...

    def referrals(self) -> int: ...


class _LazyCheckin:
    def __init__(self, counts: Counts) -> None:
        self._counts = counts

    @property
    def streak(self) -> int:
        return self._counts.streak()


class _LazyReferrals:
    def __init__(self, counts: Counts) -> None:
        self._counts = counts

    @property
    def count(self) -> int:
        return self._counts.referrals()


@dataclass
class Subject:
    """Who an enrolment is about, and the base of its idempotency keys."""

    playbook: str
    enrolment_id: int
    subject: str
    occurrence: int
    member_id: int | None
    community_id: int | None
    view: MemberView | None
    context: dict[str, Any]
    locale: str
    priority: float = 0.5
    counts: "Counts | None" = None

    def key(self, step_id: str) -> str:
        return f"{self.playbook}:{self.subject}:{self.occurrence}:{step_id}"

    def variables(self, now: datetime) -> dict[str, Any]:
        if self.view is not None:
            base: dict[str, Any] = self.view.variables(now)
        else:
            zone = ZoneInfo(self.context.get("zone", "UTC"))
            base = {"today": now.astimezone(zone).date().isoformat()}
        if self.counts is not None:
            base["checkin"] = _LazyCheckin(self.counts)
            base["referrals"] = _LazyReferrals(self.counts)
        base.setdefault("community", {"name": self.context.get("community_name", "")})
        for name in ("coupon", "survey"):
            if name in self.context:
                base[name] = self.context[name]
        base["schedule"] = {"name": self.context.get("schedule", "")}
        return base


@dataclass
class Effects:
    """Everything one batch of steps writes, besides the enrolments themselves."""

    workspace_id: int
    now: datetime
    books: SystemAccounts
    points_validity: timedelta | None
    channels: dict[str, str]
    ttl: timedelta
    links: LinkMaker | None
    webhook_url: str | None
    outbox: list[dict[str, Any]] = field(default_factory=list)
    suppressed: int = 0

    def run(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        action = step.action
        handler = getattr(self, f"_{action}")
        handler(conn, step_id, step, who)

    def channel_for(self, platform: str, explicit: str | None) -> str:
        return explicit or self.channels.get(platform, platform)

    def _queue(self, who: Subject, step_id: str, **values: Any) -> None:
        self.outbox.append(
            {
                "workspace_id": self.workspace_id,
                "idempotency_key": who.key(step_id),
                "enrolment_id": who.enrolment_id,
                "playbook": who.playbook,
                "step": step_id,
                "member_id": who.member_id,
                "community_id": who.community_id,
                "subject": None,
                "locale": who.locale,
                "priority": who.priority,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
                "expires_at": self.now + self.ttl,
                **values,
            }
        )

    def _message(
        self, who: Subject, step_id: str, text: str, channel: str | None, subject: str | None
    ) -> None:
        view = who.view
        assert view is not None  # member playbooks only; the schema refuses the rest
        self._queue(
            who,
            step_id,
            kind="message",
            channel=self.channel_for(view.platform, channel),
            recipient=view.address or f"member:{view.member_id}",
            direct=True,
            text=text,
            subject=subject,
        )

    def _send_message(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.send_message
        assert spec is not None
        variables = who.variables(self.now)
        subject = render(spec.subject, who.locale, variables) if spec.subject else None
        self._message(who, step_id, render(spec.template, who.locale, variables), spec.channel, subject)

    def _send_survey(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.send_survey
        assert spec is not None
        assert who.member_id is not None
        expires = self.now + timedelta(days=spec.valid_days)
        # Who was asked, for response rates; refuses (and fails this enrolment) if the survey is missing.
        record_delivery(
            conn, self.workspace_id, FixedClock(self.now), spec.survey, who.member_id, who.key(step_id)
        )
        link = self.links(who.member_id, f"survey:{spec.survey}", expires) if self.links else ""
        who.context["survey"] = {"slug": spec.survey, "link": link}
        self._message(
            who, step_id, render(spec.template, who.locale, who.variables(self.now)), spec.channel, None
        )

    def _post_to_community(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.post_to_community
        assert spec is not None
        platform, address = who.context.get("platform", "other"), who.context.get("community_address", "")
        if who.view is not None:
            platform, address = who.view.platform, who.view.community_address
        self._queue(
            who,
            step_id,
            kind="post",
            channel=self.channel_for(platform, spec.channel),
            recipient=address,
            direct=False,
            text=render(spec.template, who.locale, who.variables(self.now)),
        )

    def _call_webhook(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.call_webhook
        assert spec is not None
        variables = who.variables(self.now)
        payload = {
            "playbook": who.playbook,
            "step": step_id,
            "member_id": who.member_id,
            "community_id": who.community_id,
            **{
                k: render(v, who.locale, variables) if isinstance(v, str) else v
                for k, v in spec.payload.items()
            },
        }
        self._queue(
            who,
            step_id,
            kind="webhook",
            channel="webhook",
            recipient=spec.url or self.webhook_url or "",
            direct=False,
            text=json.dumps(payload, ensure_ascii=False, sort_keys=True),
        )

    def _award_points(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.award_points
        assert spec is not None
        assert who.member_id is not None
        earn(
            conn,
            self.workspace_id,
            Owner.member(who.member_id),
            spec.amount,
            key=f"playbook:{who.key(step_id)}",
            at=self.now,
            validity=self.points_validity,
            rule=f"playbook:{who.playbook}",
            detail={"reason": spec.reason, "step": step_id},
            books=self.books,
        )
        if who.view is not None:
            who.view.points += spec.amount

    def _issue_coupon(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.issue_coupon
        assert spec is not None
        assert who.member_id is not None
        coupon = issue_coupon(
            conn,
            self.workspace_id,
            spec.campaign,
            who.member_id,
            key=f"playbook:{who.key(step_id)}",
            at=self.now,
        )
        expires = coupon.expires_at.astimezone(who.view.zone).date().isoformat() if who.view else ""
        who.context["coupon"] = {"code": coupon.code, "campaign": spec.campaign, "expires": expires}

    def _add_tag(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        assert step.add_tag is not None
        assert who.member_id is not None
        values = {
            "workspace_id": self.workspace_id,
            "member_id": who.member_id,
            "tag": step.add_tag,
            "source": f"playbook:{who.playbook}",
            "created_at": self.now,
        }
        conn.execute(insert_or_skip(conn, member_tags).values(**values))
        if who.view is not None:
            who.view.tags.add(step.add_tag)

    def _remove_tag(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        assert step.remove_tag is not None
        assert who.member_id is not None
        conn.execute(
            delete(member_tags).where(
                member_tags.c.member_id == who.member_id, member_tags.c.tag == step.remove_tag
            )
        )
        if who.view is not None:
            who.view.tags.discard(step.remove_tag)

    def _notify_operator(self, conn: Connection, step_id: str, step: Step, who: Subject) -> None:
        spec = step.notify_operator
        assert spec is not None
        variables = who.variables(self.now)
        conn.execute(
            insert_or_skip(conn, alerts).values(
                workspace_id=self.workspace_id,
                community_id=who.community_id,
                kind="playbook",
                severity=spec.severity,
                member_id=who.member_id,
                activity_id=None,
                detail={
                    "playbook": who.playbook,
                    "step": step_id,
                    "title": render(spec.title, who.locale, variables),
                    "body": render(spec.body, who.locale, variables),
                },
                occurred_at=self.now,
                created_at=self.now,
                status="open",
                dedupe_key=who.key(step_id)[:120],
            )
        )
