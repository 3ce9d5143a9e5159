"""Dry-run and replay: what a playbook would send, to whom and when, without sending anything.

- dry-run: who would enter now (the audience, and for segment/stage triggers
  the members in that segment or stage today), and what each would get.
- replay: the triggers that really happened in a past period, each enrolment
  walked through the program in simulated time against the real activity
  that followed (waits for activity, `did` conditions, goals), reporting each
  message with its time. Audience filters read members' state as of today
  (history of tags and scores is not kept), and guard rails are not applied:
  replay shows intent, the guard rails then shape delivery.

Both read only; coupon codes and survey links show as placeholders.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from qunyun.journeys.actions import Subject
from qunyun.journeys.catalog import Entry, load
from qunyun.journeys.conditions import Facts
from qunyun.journeys.definition import Condition, Playbook, Step
from qunyun.journeys.engine import next_local
from qunyun.journeys.enrol import arm_of
from qunyun.journeys.events import did_since
from qunyun.journeys.program import Program
from qunyun.journeys.scan import TRANSITION_TRIGGERS, fires
from qunyun.journeys.templates import render
from qunyun.journeys.views import MemberView, load_views, population
from qunyun.store.tables import activities, communities, identities, segment_transitions

PLACEHOLDER_COUPON = {"code": "<COUPON>", "campaign": "", "expires": "<DATE>"}
SENDING = ("send_message", "send_survey", "post_to_community")


@dataclass
class Planned:
    member_id: int | None
    community_id: int | None
    nickname: str
    arm: str
    entered_at: datetime
    trigger: str
    sends: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "completed"

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "entered_at": self.entered_at.isoformat()}


# (member id, events, after, until) → when the first such event happened, if it did
FirstEvent = Callable[[int, list[str], datetime, datetime], datetime | None]


def _none(member_id: int, events: list[str], after: datetime, until: datetime) -> datetime | None:
    return None


def walk(
    conn: Connection,
    workspace_id: int,
    playbook: Playbook,
    program: Program,
    view: MemberView | None,
    plan: Planned,
    locale: str,
    first_event: FirstEvent,
    horizon: datetime,
) -> None:
    """Run the program in simulated time from `plan.entered_at`, filling `plan.sends` (nothing written)."""
    t = plan.entered_at
    context: dict[str, Any] = {"coupon": PLACEHOLDER_COUPON}
    who = Subject(playbook.name, 0, "preview", 0, plan.member_id, plan.community_id, view, context, locale)
    pc = 0
    while pc < program.end and t <= horizon:
        ins = program.instructions[pc]
        if plan.member_id is not None and playbook.goal is not None:
            reached = first_event(plan.member_id, list(playbook.goal.activity), plan.entered_at, t)
            if reached is not None:
                plan.outcome = "converted"
                return
        if ins.op == "jump":
            pc = ins.target
            continue
        step = ins.step
        assert step is not None
        if ins.op == "if":
            assert step.if_ is not None
            facts = Facts(conn, workspace_id, view, context, plan.entered_at, t, locale)
            pc = pc + 1 if _holds(facts, step.if_, plan, first_event, t) else ins.target
            continue
        pc += 1
        if ins.op == "wait":
            t = _after_wait(step, t, view, plan, first_event, context)
        elif ins.op == "finish":
            assert step.finish is not None
            plan.outcome = step.finish.outcome
            return
        elif ins.op in SENDING:
            _send(step, ins.step_id, ins.op, who, t, plan)
        else:
            plan.sends.append({"at": t.isoformat(), "step": ins.step_id, "action": ins.op, "text": None})
    if t > horizon:
        plan.outcome = "running"


def _holds(facts: Facts, cond: Condition, plan: Planned, first_event: FirstEvent, t: datetime) -> bool:
    if cond.did is not None and plan.member_id is not None:
        return first_event(plan.member_id, list(cond.did), plan.entered_at, t) is not None
    if cond.not_ is not None:
        return not _holds(facts, cond.not_, plan, first_event, t)
    return facts.holds(cond)


def _after_wait(
    step: Step,
    t: datetime,
    view: MemberView | None,
    plan: Planned,
    first_event: FirstEvent,
    context: dict[str, Any],
) -> datetime:
    wait = step.wait
    assert wait is not None
    if wait.for_ is not None and wait.timeout is not None:
        until = t + wait.timeout.delta
        came = first_event(plan.member_id, list(wait.for_), t, until) if plan.member_id else None
        context["waited_activity"] = came is not None
        return came or until
    if wait.until_time is not None:
        return next_local(t, wait.until_time, view.zone) if view else t
    return t + wait.delta


def _send(step: Step, step_id: str, op: str, who: Subject, t: datetime, plan: Planned) -> None:
    spec: Any = getattr(step, op)
    if op == "send_survey":
        who.context["survey"] = {"slug": spec.survey, "link": "<LINK>"}
    text = render(spec.template, who.locale, who.variables(t))
    plan.sends.append({"at": t.isoformat(), "step": step_id, "action": op, "text": text})


def dry_run(
    conn: Connection, workspace_id: int, entry: Entry, now: datetime, locale: str, zone: Any, limit: int
) -> list[Planned]:
    playbook, program = load(entry.source, entry.name)
    out: list[Planned] = []
    if playbook.subject == "community":
        for c in conn.execute(
            select(communities).where(communities.c.workspace_id == workspace_id)
        ).fetchmany(limit):
            plan = Planned(
                None,
                c.id,
                c.name or c.external_id,
                arm_of(entry.name, f"c:{c.id}", playbook.holdout),
                now,
                "schedule",
            )
            walk(conn, workspace_id, playbook, program, None, plan, locale, _none, now + timedelta(days=60))
            out.append(plan)
        return out
    audience = playbook.audience
    kind = playbook.trigger.kind
    if kind in ("segment_entered", "stage_entered"):
        value = getattr(playbook.trigger, kind)
        narrowed = {"segments": [value]} if kind == "segment_entered" else {"stages": [value]}
        audience = audience.model_copy(update=narrowed)
    for view in population(conn, workspace_id, audience, now, zone)[:limit]:
        plan = Planned(
            view.member_id,
            view.community_id,
            view.nickname,
            arm_of(entry.name, f"m:{view.member_id}", playbook.holdout),
            now,
            kind,
        )
        walk(conn, workspace_id, playbook, program, view, plan, locale, _none, now + timedelta(days=60))
        out.append(plan)
    return out


def first_event_in_db(conn: Connection) -> FirstEvent:
    def first(member_id: int, events: list[str], after: datetime, until: datetime) -> datetime | None:
        kinds = [e for e in events if e not in ("opt_out", "first_purchase")] + (
            ["purchase"] if "first_purchase" in events else []
        )
        found = conn.execute(
            select(activities.c.occurred_at)
            .join(identities, identities.c.id == activities.c.identity_id)
            .where(
                identities.c.member_id == member_id,
                activities.c.kind.in_(kinds),
                activities.c.occurred_at > after,
                activities.c.occurred_at <= until,
            )
            .order_by(activities.c.occurred_at)
            .limit(1)
        ).scalar()
        if found is None and did_since(conn, member_id, [e for e in events if e == "opt_out"], after, until):
            return until
        return found

    return first


def replay(
    conn: Connection,
    workspace_id: int,
    entry: Entry,
    start: datetime,
    end: datetime,
    now: datetime,
    locale: str,
    zone: Any,
    limit: int,
) -> list[Planned]:
    playbook, program = load(entry.source, entry.name)
    triggers = _past_triggers(conn, workspace_id, entry, start, end, zone)
    views = load_views(
        conn, workspace_id, [(m, c) for m, c, _, _ in triggers if m is not None and c is not None], zone
    )
    first = first_event_in_db(conn)
    busy_until: dict[str, datetime] = {}
    out: list[Planned] = []
    for member_id, community_id, at, label in triggers:
        if len(out) >= limit:
            break
        view = views.get((member_id, community_id)) if member_id is not None and community_id else None
        if member_id is not None and (view is None or view.excluded):
            continue
        subject = f"m:{member_id}" if member_id is not None else f"c:{community_id}"
        if subject in busy_until and at < busy_until[subject] and playbook.subject == "member":
            continue
        plan = Planned(
            member_id,
            community_id,
            view.nickname if view else str(community_id),
            arm_of(entry.name, subject, playbook.holdout),
            at,
            label,
        )
        walk(conn, workspace_id, playbook, program, view, plan, locale, first, now)
        last = max([datetime.fromisoformat(s["at"]) for s in plan.sends], default=at)
        busy_until[subject] = last + timedelta(days=playbook.reentry.cooldown_days)
        out.append(plan)
    return out


def _past_triggers(
    conn: Connection, workspace_id: int, entry: Entry, start: datetime, end: datetime, zone: Any
) -> list[tuple[int | None, int | None, datetime, str]]:
    trigger = entry.playbook.trigger
    kind = trigger.kind
    if kind in TRANSITION_TRIGGERS:
        dimension, column = TRANSITION_TRIGGERS[kind]
        value = getattr(trigger, kind).value
        rows = conn.execute(
            select(segment_transitions)
            .join(communities, communities.c.id == segment_transitions.c.community_id)
            .where(
                communities.c.workspace_id == workspace_id,
                segment_transitions.c.dimension == dimension,
                getattr(segment_transitions.c, column) == value,
                segment_transitions.c.at >= start,
                segment_transitions.c.at < end,
            )
            .order_by(segment_transitions.c.at, segment_transitions.c.id)
        )
        return [(r.member_id, r.community_id, r.at, f"{kind}:{value}") for r in rows]
    if kind == "activity":
        wanted = [e for e in (trigger.activity or []) if e != "first_purchase"]
        rows = conn.execute(
            select(
                identities.c.member_id, activities.c.community_id, activities.c.occurred_at, activities.c.kind
            )
            .join(identities, identities.c.id == activities.c.identity_id)
            .where(
                identities.c.workspace_id == workspace_id,
                activities.c.kind.in_(wanted),
                activities.c.occurred_at >= start,
                activities.c.occurred_at < end,
            )
            .order_by(activities.c.occurred_at)
        )
        return [(r.member_id, r.community_id, r.occurred_at, r.kind) for r in rows]
    if kind == "schedule" and entry.playbook.subject == "community":
        out: list[tuple[int | None, int | None, datetime, str]] = []
        for c in conn.execute(select(communities.c.id).where(communities.c.workspace_id == workspace_id)):
            out.extend((None, c.id, at, f"schedule:{name}") for name, at in fires(entry, start, end, zone))
        return sorted(out, key=lambda row: row[2])
    return []
