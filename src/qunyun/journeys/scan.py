"""The trigger pass: what happened since the last pass, and which enrolments it starts or ends.

Four streams, each read after its own cursor (saved in the same transaction as
what it caused, so a crash re-reads and re-decides the same way):

- segment and stage transitions (Step 1's refresh) → `segment_entered` … triggers;
- activities → `activity` triggers, goals (converted), `exit_on`, waits for an
  activity, and opt-outs (a member whose whole message is 退订 / stop);
- alerts of the text pass → `negative_message`, `sensitive_word`, `spam` events;
- schedules (cron, in each community's timezone) → scheduled enrolments.

A playbook only reacts to what happened after it was enabled.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim
from sqlalchemy import Connection, Row, select, text, update

from qunyun.domain import MESSAGE_KINDS
from qunyun.journeys.catalog import Catalog, Entry
from qunyun.journeys.engine import lock_for_write
from qunyun.journeys.enrol import Entrant, community_entrant, enrol, member_entrant
from qunyun.journeys.events import ALERT_EVENTS
from qunyun.journeys.views import load_views, population
from qunyun.store.bulk import insert_or_skip
from qunyun.store.cursors import save_cursor
from qunyun.store.journey_tables import enrolments, member_optouts
from qunyun.store.tables import (
    activities,
    alerts,
    communities,
    connector_cursors,
    identities,
    segment_transitions,
)

PAGE = 5000
SCHEDULE_GRACE = timedelta(hours=6)  # a worker down longer skips the missed fires, except the latest
GOAL_LOOKBACK = timedelta(days=120)  # finished enrolments whose goal window may still be open
TRANSITION_TRIGGERS = {
    "segment_entered": ("segment", "to_value"),
    "segment_left": ("segment", "from_value"),
    "stage_entered": ("stage", "to_value"),
    "stage_left": ("stage", "from_value"),
}


@dataclass
class ScanReport:
    enrolled: int = 0
    converted: int = 0
    exited: int = 0
    woken: int = 0
    opted_out: int = 0
    fires: int = 0


@dataclass(frozen=True)
class _Event:
    member_id: int
    community_id: int
    names: frozenset[str]
    at: datetime
    origin: str  # "activity 123" / "alert 7", for the enrolment's trigger column


def _cursor(conn: Connection, workspace_id: int, name: str) -> str | None:
    found = conn.execute(
        select(connector_cursors.c.cursor).where(
            connector_cursors.c.workspace_id == workspace_id, connector_cursors.c.connector == name
        )
    ).scalar()
    return None if found is None else str(found)


def _exclusive(conn: Connection, workspace_id: int) -> None:
    """One trigger pass at a time per workspace (several workers may run on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": 7007, "b": workspace_id})
    else:
        lock_for_write(conn)


class Scanner:
    def __init__(self, catalog: Catalog, default_zone: ZoneInfo, opt_out_words: Iterable[str]) -> None:
        self.catalog = catalog
        self.workspace_id = catalog.workspace_id
        self.default_zone = default_zone
        self.opt_out_words = {w.strip().casefold() for w in opt_out_words}

    def scan(self, now: datetime) -> ScanReport:
        report = ScanReport()
        entries = self.catalog.enabled()
        while self._transitions(now, entries, report):
            pass
        while self._activities(now, entries, report):
            pass
        while self._alerts(now, entries, report):
            pass
        self._schedules(now, entries, report)
        return report

    # --- transitions ---------------------------------------------------------------

    def _transitions(self, now: datetime, entries: list[Entry], report: ScanReport) -> bool:
        watching = [e for e in entries if e.playbook.trigger.kind in TRANSITION_TRIGGERS]
        with self.catalog.engine.begin() as conn:
            _exclusive(conn, self.workspace_id)
            after = int(_cursor(conn, self.workspace_id, "journeys.transitions") or 0)
            rows = list(
                conn.execute(
                    select(segment_transitions)
                    .join(communities, communities.c.id == segment_transitions.c.community_id)
                    .where(communities.c.workspace_id == self.workspace_id, segment_transitions.c.id > after)
                    .order_by(segment_transitions.c.id)
                    .limit(PAGE)
                )
            )
            if not rows:
                return False
            if watching:
                self._enrol_transitions(conn, rows, watching, now, report)
            save_cursor(conn, self.workspace_id, "journeys.transitions", str(rows[-1].id), now)
        return len(rows) == PAGE

    def _enrol_transitions(
        self, conn: Connection, rows: list[Row[Any]], watching: list[Entry], now: datetime, report: ScanReport
    ) -> None:
        views = load_views(
            conn, self.workspace_id, [(r.member_id, r.community_id) for r in rows], self.default_zone
        )
        for row in rows:
            view = views.get((row.member_id, row.community_id))
            if view is None or row.at > now:
                continue
            for entry in watching:
                kind = entry.playbook.trigger.kind
                dimension, column = TRANSITION_TRIGGERS[kind]
                wanted = getattr(entry.playbook.trigger, kind)
                if row.dimension != dimension or getattr(row, column) != wanted.value:
                    continue
                if entry.enabled_at is None or row.at < entry.enabled_at:
                    continue
                if enrol(
                    conn, self.workspace_id, entry, member_entrant(view), trigger=f"{kind}:{wanted}", now=now
                ):
                    report.enrolled += 1

    # --- activities and alerts -------------------------------------------------------

    def _activities(self, now: datetime, entries: list[Entry], report: ScanReport) -> bool:
        with self.catalog.engine.begin() as conn:
            _exclusive(conn, self.workspace_id)
            after = int(_cursor(conn, self.workspace_id, "journeys.activities") or 0)
            rows = list(
                conn.execute(
                    select(
                        activities.c.id,
                        activities.c.kind,
                        activities.c.text,
                        activities.c.occurred_at,
                        activities.c.community_id,
                        activities.c.source,
                        identities.c.member_id,
                    )
                    .join(identities, identities.c.id == activities.c.identity_id)
                    .where(identities.c.workspace_id == self.workspace_id, activities.c.id > after)
                    .order_by(activities.c.id)
                    .limit(PAGE)
                )
            )
            if not rows:
                return False
            events = [self._activity_event(conn, r, now, report) for r in rows if r.source != "journeys"]
            self._apply(conn, [e for e in events if e is not None], entries, now, report)
            save_cursor(conn, self.workspace_id, "journeys.activities", str(rows[-1].id), now)
        return len(rows) == PAGE

    def _activity_event(self, conn: Connection, row: Any, now: datetime, report: ScanReport) -> _Event | None:
        if row.occurred_at > now:
            return None
        names = {row.kind}
        if row.kind in MESSAGE_KINDS and row.text and row.text.strip().casefold() in self.opt_out_words:
            if self._opt_out(conn, row.member_id, row.occurred_at, f"replied {row.text.strip()[:40]!r}"):
                report.opted_out += 1
            names.add("opt_out")
        if row.kind == "purchase" and not self._purchased_before(conn, row):
            names.add("first_purchase")
        return _Event(
            row.member_id, row.community_id, frozenset(names), row.occurred_at, f"activity {row.id}"
        )

    def _opt_out(self, conn: Connection, member_id: int, at: datetime, detail: str) -> bool:
        return record_opt_out(conn, self.workspace_id, member_id, at, "reply", detail)

    def _purchased_before(self, conn: Connection, row: Row[Any]) -> bool:
        earlier = conn.execute(
            select(activities.c.id)
            .join(identities, identities.c.id == activities.c.identity_id)
            .where(
                identities.c.member_id == row.member_id,
                activities.c.kind == "purchase",
                activities.c.id < row.id,
            )
            .limit(1)
        ).first()
        return earlier is not None

    def _alerts(self, now: datetime, entries: list[Entry], report: ScanReport) -> bool:
        with self.catalog.engine.begin() as conn:
            _exclusive(conn, self.workspace_id)
            after = int(_cursor(conn, self.workspace_id, "journeys.alerts") or 0)
            rows = list(
                conn.execute(
                    select(alerts)
                    .where(alerts.c.workspace_id == self.workspace_id, alerts.c.id > after)
                    .order_by(alerts.c.id)
                    .limit(PAGE)
                )
            )
            if not rows:
                return False
            events = [
                _Event(
                    r.member_id,
                    r.community_id,
                    frozenset({ALERT_EVENTS[r.kind]}),
                    r.occurred_at,
                    f"alert {r.id}",
                )
                for r in rows
                if r.member_id is not None and r.kind in ALERT_EVENTS and r.occurred_at <= now
            ]
            self._apply(conn, events, entries, now, report)
            save_cursor(conn, self.workspace_id, "journeys.alerts", str(rows[-1].id), now)
        return len(rows) == PAGE

    def _apply(
        self, conn: Connection, events: list[_Event], entries: list[Entry], now: datetime, report: ScanReport
    ) -> None:
        if not events:
            return
        self._follow_up(conn, events, now, report)
        watching = [e for e in entries if e.playbook.trigger.activity]
        if not watching:
            return
        views = load_views(
            conn, self.workspace_id, [(e.member_id, e.community_id) for e in events], self.default_zone
        )
        for event in events:
            view = views.get((event.member_id, event.community_id))
            if view is None:
                continue
            for entry in watching:
                hit = event.names & set(entry.playbook.trigger.activity or [])
                if not hit or entry.enabled_at is None or event.at < entry.enabled_at:
                    continue
                trigger = f"{sorted(hit)[0]} ({event.origin})"
                if enrol(conn, self.workspace_id, entry, member_entrant(view), trigger=trigger, now=now):
                    report.enrolled += 1

    def _follow_up(self, conn: Connection, events: list[_Event], now: datetime, report: ScanReport) -> None:
        """Goals, exits and waits of the members' enrolments that these events touch."""
        by_member: dict[int, list[_Event]] = defaultdict(list)
        for event in events:
            by_member[event.member_id].append(event)
        live = conn.execute(
            select(enrolments).where(
                enrolments.c.workspace_id == self.workspace_id,
                enrolments.c.member_id.in_(sorted(by_member)),
                (enrolments.c.status.in_(("active", "waiting")))
                | ((enrolments.c.status == "completed") & (enrolments.c.finished_at >= now - GOAL_LOOKBACK)),
            )
        )
        for row in live:
            playbook = self.catalog.version(conn, row.playbook, row.version)[0]
            for event in by_member[row.member_id]:
                if event.at < row.enrolled_at:
                    continue
                change = _decide(row, playbook.exit_on, playbook.goal, event)
                if change is not None:
                    conn.execute(update(enrolments).where(enrolments.c.id == row.id).values(**change(now)))
                    counter = {"exited": "exited", "converted": "converted", "active": "woken"}[change.status]
                    setattr(report, counter, getattr(report, counter) + 1)
                    break

    # --- schedules ----------------------------------------------------------------

    def _schedules(self, now: datetime, entries: list[Entry], report: ScanReport) -> None:
        for entry in entries:
            if entry.playbook.trigger.schedule is None or entry.enabled_at is None:
                continue
            with self.catalog.engine.begin() as conn:
                _exclusive(conn, self.workspace_id)
                name = f"journeys.schedule.{entry.name}"
                saved = _cursor(conn, self.workspace_id, name)
                start = datetime.fromisoformat(saved) if saved else entry.enabled_at
                if start >= now:
                    continue
                if entry.playbook.subject == "community":
                    self._fire_communities(conn, entry, start, now, report)
                else:
                    self._fire_members(conn, entry, start, now, report)
                save_cursor(conn, self.workspace_id, name, now.isoformat(), now)

    def _fire_communities(
        self, conn: Connection, entry: Entry, start: datetime, now: datetime, report: ScanReport
    ) -> None:
        wanted = entry.playbook.audience.communities
        for c in conn.execute(select(communities).where(communities.c.workspace_id == self.workspace_id)):
            if wanted is not None and c.external_id not in wanted and c.name not in wanted:
                continue
            zone = ZoneInfo(c.timezone) if c.timezone else self.default_zone
            for schedule_name, fire in fires(entry, start, now, zone):
                report.fires += 1
                context = {
                    "schedule": schedule_name,
                    "community_name": c.name or c.external_id,
                    "community_address": c.external_id,
                    "platform": c.platform,
                    "zone": zone.key,
                }
                who: Entrant = community_entrant(c.id)
                occurrence = int(fire.timestamp() // 60)
                if enrol(
                    conn,
                    self.workspace_id,
                    entry,
                    who,
                    trigger=f"schedule:{schedule_name}",
                    now=now,
                    occurrence=occurrence,
                    context=context,
                ):
                    report.enrolled += 1

    def _fire_members(
        self, conn: Connection, entry: Entry, start: datetime, now: datetime, report: ScanReport
    ) -> None:
        for schedule_name, fire in fires(entry, start, now, self.default_zone):
            report.fires += 1
            occurrence = int(fire.timestamp() // 60)
            for view in population(conn, self.workspace_id, entry.playbook.audience, now, self.default_zone):
                if enrol(
                    conn,
                    self.workspace_id,
                    entry,
                    member_entrant(view),
                    trigger=f"schedule:{schedule_name}",
                    now=now,
                    occurrence=occurrence,
                    context={"schedule": schedule_name},
                    check_audience=False,
                ):
                    report.enrolled += 1


def fires(entry: Entry, start: datetime, now: datetime, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """(schedule name, instant) of each cron fire in (start, now], read in `zone`."""
    out = []
    for schedule in entry.playbook.trigger.schedule or []:
        missed: datetime | None = None
        for local in CronSim(schedule.cron, start.astimezone(zone)):
            at = local.astimezone(now.tzinfo)
            if at > now:
                break
            if at < now - SCHEDULE_GRACE:
                missed = at  # a worker that was down: only the latest missed fire is kept
                continue
            out.append((schedule.name, at))
        if missed is not None and not any(name == schedule.name for name, _ in out):
            out.append((schedule.name, missed))
    return sorted(out, key=lambda pair: pair[1])


class _Change:
    def __init__(self, status: str, outcome: str, context: dict[str, Any] | None = None) -> None:
        self.status = status
        self.outcome = outcome
        self.context = context

    def __call__(self, now: datetime) -> dict[str, Any]:
        if self.status == "active":  # a wait for activity ends: run the next step now
            return {"status": "active", "due_at": now, "context": self.context}
        return {"status": self.status, "outcome": self.outcome, "finished_at": now, "due_at": None}


def _decide(row: Row[Any], exit_on: Sequence[str], goal: Any, event: _Event) -> _Change | None:
    live = row.status in ("active", "waiting")
    if live and event.names & set(exit_on):
        return _Change("exited", f"exit: {sorted(event.names & set(exit_on))[0]} ({event.origin})")
    reached = goal is not None and event.names & set(goal.activity)
    if reached and event.at <= row.enrolled_at + timedelta(days=goal.within_days):
        return _Change("converted", f"goal: {sorted(event.names & set(goal.activity))[0]} ({event.origin})")
    context = dict(row.context or {})
    if row.status == "waiting" and event.names & set(context.get("wait_for", [])):
        context["waited_activity"] = True
        return _Change("active", "", context)
    return None


def record_opt_out(
    conn: Connection, workspace_id: int, member_id: int, at: datetime, source: str, detail: str
) -> bool:
    """Opt the member out of every playbook; False if they already were."""
    inserted = conn.execute(
        insert_or_skip(conn, member_optouts)
        .values(workspace_id=workspace_id, member_id=member_id, at=at, source=source, detail=detail[:200])
        .returning(member_optouts.c.member_id)
    ).scalar()
    return inserted is not None
