"""The journey engine's step runner: `tick(now)` claims due enrolments and moves them on.

Each batch is one transaction: claim due enrolments (`FOR UPDATE SKIP LOCKED`
on PostgreSQL, so several workers share the work; SQLite has one writer at a
time), run each from its program counter until it waits or ends, write every
effect (points, coupons, tags, alerts, outbox rows) and the new state, commit.
A worker killed mid-batch leaves nothing: the batch is claimed again and run
from the same state, and every effect's idempotency key is the same.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, bindparam, select, text, update

from qunyun.errors import QunyunError
from qunyun.journeys.actions import MEMBER_FACING, Effects, Subject
from qunyun.journeys.catalog import Catalog
from qunyun.journeys.conditions import Facts
from qunyun.journeys.definition import Playbook, Wait
from qunyun.journeys.program import Program
from qunyun.journeys.views import MemberView, load_views
from qunyun.store.bulk import insert_or_skip
from qunyun.store.journey_tables import LIVE_ENROLMENT, enrolments, outbox

log = logging.getLogger(__name__)
MAX_INSTRUCTIONS = 200  # per enrolment per tick; programs only jump forward, so this is a safety net


@dataclass
class TickReport:
    steps: int = 0
    enrolments: int = 0
    finished: int = 0
    failed: int = 0
    suppressed: int = 0
    queued: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, other: "TickReport") -> None:
        for name in ("steps", "enrolments", "finished", "failed", "suppressed", "queued"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, n in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + n


def next_local(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The next instant after `now` whose local time in `zone` is `at`."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(now.tzinfo)


def lock_for_write(conn: Connection) -> None:
    """On SQLite, take the write lock before reading what we will change (no lost claims)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE enrolments SET pc = pc WHERE 0 = 1"))


class StepRunner:
    def __init__(self, catalog: Catalog, effects_factory: Any, default_zone: ZoneInfo, locale: str) -> None:
        self.catalog = catalog
        self.make_effects = effects_factory  # (conn, now) -> Effects
        self.default_zone = default_zone
        self.locale = locale

    @property
    def workspace_id(self) -> int:
        return self.catalog.workspace_id

    def tick(self, now: datetime, batch: int, max_batches: int | None = None) -> TickReport:
        report = TickReport()
        done = 0
        while max_batches is None or done < max_batches:
            with self.catalog.engine.begin() as conn:
                one = self._batch(conn, now, batch)
            done += 1
            report.add(one)
            if one.enrolments < batch:
                break
        return report

    def _claim(self, conn: Connection, now: datetime, batch: int) -> list[Row[Any]]:
        lock_for_write(conn)
        query = (
            select(enrolments)
            .where(
                enrolments.c.workspace_id == self.workspace_id,
                LIVE_ENROLMENT,  # the partial index's own condition, literally, so planners use it
                enrolments.c.due_at <= now,
            )
            .order_by(enrolments.c.due_at, enrolments.c.id)
            .limit(batch)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(conn.execute(query))

    def _batch(self, conn: Connection, now: datetime, batch: int) -> TickReport:
        report = TickReport()
        rows = self._claim(conn, now, batch)
        if not rows:
            return report
        views = load_views(
            conn,
            self.workspace_id,
            [(r.member_id, r.community_id) for r in rows if r.member_id],
            self.default_zone,
        )
        effects: Effects = self.make_effects(conn, now)
        updates = []
        versions: dict[tuple[str, int], tuple[Playbook, Program]] = {}
        for row in rows:
            if (row.playbook, row.version) not in versions:
                versions[(row.playbook, row.version)] = self.catalog.version(conn, row.playbook, row.version)
            playbook, program = versions[(row.playbook, row.version)]
            view = views.get((row.member_id, row.community_id)) if row.member_id else None
            updates.append(self._run_one(conn, row, playbook, program, view, effects, now, report))
        report.enrolments = len(rows)
        report.suppressed = effects.suppressed
        if effects.outbox:
            conn.execute(insert_or_skip(conn, outbox), effects.outbox)
            report.queued = len(effects.outbox)
        conn.execute(
            update(enrolments)
            .where(enrolments.c.id == bindparam("_id"))
            .values(
                status=bindparam("_status"),
                pc=bindparam("_pc"),
                due_at=bindparam("_due"),
                context=bindparam("_context"),
                finished_at=bindparam("_finished"),
                outcome=bindparam("_outcome"),
            ),
            updates,
        )
        return report

    def _run_one(
        self,
        conn: Connection,
        row: Row[Any],
        playbook: Playbook,
        program: Program,
        view: MemberView | None,
        effects: Effects,
        now: datetime,
        report: TickReport,
    ) -> dict[str, Any]:
        context = dict(row.context or {})
        who = Subject(
            playbook=row.playbook,
            enrolment_id=row.id,
            subject=row.subject,
            occurrence=row.occurrence,
            member_id=row.member_id,
            community_id=row.community_id,
            view=view,
            context=context,
            locale=self.locale,
            priority=view.priority() if view is not None else 0.5,
        )
        if row.status == "waiting":
            context["waited_activity"] = False  # claimed at its timeout: the activity did not come
        state = _State(row.pc, now)
        if row.member_id is not None and (view is None or view.excluded):
            state.finish("exited", "member gone (merged, erased or staff)", now)
        facts = Facts(conn, self.workspace_id, view, context, row.enrolled_at, now, self.locale)
        who.counts = facts
        count = 0
        while state.status == "active" and not state.parked and count < MAX_INSTRUCTIONS:
            count += 1
            if state.pc >= program.end:
                state.finish("completed", None, now)
                break
            self._step(conn, program, state, who, facts, effects, row.arm, now)
            report.steps += 1
        if state.status not in ("active", "waiting"):
            report.finished += 1
            report.outcomes[state.status] = report.outcomes.get(state.status, 0) + 1
            report.failed += state.status == "failed"
        return {
            "_id": row.id,
            "_status": state.status,
            "_pc": state.pc,
            "_due": state.due,
            "_context": context,
            "_finished": state.finished_at,
            "_outcome": state.outcome,
        }

    def _step(
        self,
        conn: Connection,
        program: Program,
        state: "_State",
        who: Subject,
        facts: Facts,
        effects: Effects,
        arm: str,
        now: datetime,
    ) -> None:
        ins = program.instructions[state.pc]
        step = ins.step
        if ins.op == "jump":
            state.pc = ins.target
            return
        assert step is not None
        if ins.op == "if":
            assert step.if_ is not None
            state.pc = state.pc + 1 if facts.holds(step.if_) else ins.target
            return
        state.pc += 1
        if ins.op == "wait":
            assert step.wait is not None
            self._wait(step.wait, state, who, now)
        elif ins.op == "finish":
            assert step.finish is not None
            state.finish(step.finish.outcome, f"finish step {ins.step_id}", now)
        elif arm == "control" and ins.op in MEMBER_FACING:
            effects.suppressed += 1
        else:
            try:
                if conn.dialect.name == "postgresql":
                    # A refused effect must not abort the batch's transaction: fail this enrolment only.
                    with conn.begin_nested():
                        effects.run(conn, ins.step_id, step, who)
                else:
                    effects.run(conn, ins.step_id, step, who)  # our effects refuse before they write
            except QunyunError as exc:
                log.warning("playbook %s %s step %s failed: %s", who.playbook, who.subject, ins.step_id, exc)
                state.finish("failed", f"step {ins.step_id}: {exc}"[:200], now)

    def _wait(self, wait: Wait, state: "_State", who: Subject, now: datetime) -> None:
        zone = who.view.zone if who.view is not None else self.default_zone
        if wait.for_ is not None:
            assert wait.timeout is not None
            who.context["wait_for"] = list(wait.for_)
            who.context["wait_since"] = now.isoformat()
            who.context.pop("waited_activity", None)
            state.status, state.due = "waiting", now + wait.timeout.delta
        elif wait.until_time is not None:
            state.due = next_local(now, wait.until_time, zone)
        else:
            state.due = now + wait.delta
        state.parked = True


class _State:
    def __init__(self, pc: int, now_due: datetime) -> None:
        self.pc = pc
        self.status = "active"
        self.due: datetime | None = now_due
        self.finished_at: datetime | None = None
        self.outcome: str | None = None
        self.parked = False

    def finish(self, status: str, outcome: str | None, now: datetime) -> None:
        self.status, self.outcome, self.finished_at, self.due = status, outcome, now, None
