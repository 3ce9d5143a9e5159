"""The journey engine as one object: catalog, trigger pass, step runner, dispatcher, tasks.

`run_cycle(now)` is what `qunyun run --as-of T` and each loop of `qunyun worker`
do: scan triggers, run due steps, dispatch the outbox.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from qunyun.config import Settings
from qunyun.connectors import registry
from qunyun.connectors.base import Channel
from qunyun.domain import Clock
from qunyun.engage.coupons import CampaignSpec, Coupons
from qunyun.engage.points import Ledger
from qunyun.engage.service import Engagement
from qunyun.errors import QunyunError
from qunyun.feedback.definitions import BUILTINS as BUILTIN_SURVEYS
from qunyun.feedback.definitions import builtin_definition
from qunyun.feedback.surveys import NewSurvey, create_survey, find_survey
from qunyun.journeys.actions import Effects, LinkMaker
from qunyun.journeys.catalog import Catalog, Entry
from qunyun.journeys.definition import Playbook, walk
from qunyun.journeys.dispatch import Dispatcher, DispatchReport, DispatchSettings
from qunyun.journeys.engine import StepRunner, TickReport
from qunyun.journeys.enrol import enrol, member_entrant
from qunyun.journeys.guards import Guards, parse_clock
from qunyun.journeys.scan import Scanner, ScanReport
from qunyun.journeys.tasks import Tasks
from qunyun.journeys.views import load_views, population
from qunyun.store.engage_tables import coupon_campaigns
from qunyun.store.journey_tables import enrolments
from qunyun.store.sends import SqlSendLog

ChannelFactory = Callable[[str], Channel]


class PreflightError(QunyunError):
    """A playbook refers to something that does not exist (code playbook.preflight)."""


@dataclass
class CycleReport:
    scan: ScanReport
    tick: TickReport
    dispatch: DispatchReport

    def as_dict(self) -> dict[str, Any]:
        return {"scan": self.scan.__dict__, "tick": self.tick.__dict__, "dispatch": self.dispatch.__dict__}


class Journeys:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        workspace_id: int,
        *,
        links: LinkMaker | None = None,
        channels: ChannelFactory | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.workspace_id = workspace_id
        self.links = links
        self.catalog = Catalog(engine, workspace_id, clock)
        self.tasks = Tasks(engine, workspace_id)
        self._channel_cache: dict[str, Channel] = {}
        self._channels = channels or self._build_channel
        config = settings.journeys
        self.ledger: Ledger = Engagement(settings, engine, clock, workspace_id).ledger
        self.runner = StepRunner(self.catalog, self._effects, settings.zone, settings.general.locale)
        self.scanner = Scanner(self.catalog, settings.zone, config.opt_out_words)
        self.dispatcher = Dispatcher(
            engine,
            workspace_id,
            DispatchSettings(
                guards=Guards(
                    config.daily_cap,
                    config.weekly_cap,
                    parse_clock(config.quiet_start),
                    parse_clock(config.quiet_end),
                    config.wecom_monthly_quota,
                ),
                batch=config.batch_size,
                retries=config.dispatch_retries,
                backoff=timedelta(seconds=config.retry_backoff_seconds),
                lease=timedelta(seconds=config.lease_seconds),
                task_deadline=timedelta(hours=config.task_deadline_hours),
                default_zone=settings.zone,
            ),
            self._channel,
        )

    # --- channels and effects ----------------------------------------------------------

    def _build_channel(self, name: str) -> Channel:
        return registry.build(
            name, self.settings, SqlSendLog(self.engine, self.workspace_id, self.clock), self.clock
        )

    def _channel(self, name: str) -> Channel:
        if name not in self._channel_cache:
            self._channel_cache[name] = self._channels(name)
        return self._channel_cache[name]

    def _effects(self, conn: Connection, now: datetime) -> Effects:
        config = self.settings.journeys
        return Effects(
            workspace_id=self.workspace_id,
            now=now,
            books=self.ledger.books(),
            points_validity=self.ledger.policy.validity,
            channels=dict(config.channels),
            ttl=timedelta(days=config.message_ttl_days),
            links=self.links,
            webhook_url=self.settings.webhook.url,
        )

    # --- the cycle ----------------------------------------------------------------------

    def scan(self, now: datetime | None = None) -> ScanReport:
        return self.scanner.scan(now or self.clock.now())

    def tick(self, now: datetime | None = None, max_batches: int | None = None) -> TickReport:
        self.ledger.books()  # system accounts opened before the step transactions (SQLite: one writer)
        return self.runner.tick(now or self.clock.now(), self.settings.journeys.batch_size, max_batches)

    def dispatch(self, now: datetime | None = None, max_batches: int | None = None) -> DispatchReport:
        return self.dispatcher.dispatch(now or self.clock.now(), max_batches)

    def run_cycle(self, now: datetime | None = None) -> CycleReport:
        at = now or self.clock.now()
        return CycleReport(self.scan(at), self.tick(at), self.dispatch(at))

    # --- operators' actions --------------------------------------------------------------

    def enable(self, name: str, actor: str) -> Entry:
        entry = self.catalog.get(name)
        self.preflight(entry.playbook)
        return self.catalog.set_enabled(name, True, actor)

    def disable(self, name: str, actor: str) -> Entry:
        return self.catalog.set_enabled(name, False, actor)

    def preflight(self, playbook: Playbook) -> None:
        """Create what the playbook may create (coupon campaigns it describes, built-in surveys);
        refuse, naming each, what it refers to and cannot create."""
        missing = []
        now = self.clock.now()
        coupons = Coupons(self.engine, self.workspace_id, self.clock)
        for step in walk(playbook.steps):
            if step.issue_coupon is not None and not self._campaign_exists(step.issue_coupon.campaign):
                spec = step.issue_coupon.create
                if spec is None:
                    missing.append(f"coupon campaign {step.issue_coupon.campaign!r} (qunyun coupons create)")
                    continue
                coupons.create_campaign(
                    CampaignSpec(
                        slug=step.issue_coupon.campaign,
                        name=spec.name,
                        kind=spec.kind,
                        value=spec.value,
                        starts_at=now,
                        ends_at=now + timedelta(days=3650),
                        validity_days=spec.validity_days,
                        per_member_limit=spec.per_member_limit,
                        min_spend_minor=spec.min_spend_minor,
                    )
                )
            if step.send_survey is not None:
                missing.extend(self._ensure_survey(step.send_survey.survey))
        if missing:
            raise PreflightError(
                f"playbook {playbook.name!r} needs: " + "; ".join(sorted(set(missing))),
                code="playbook.preflight",
            )

    def _campaign_exists(self, slug: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(coupon_campaigns.c.id).where(
                    coupon_campaigns.c.workspace_id == self.workspace_id, coupon_campaigns.c.slug == slug
                )
            ).first()
        return found is not None

    def _ensure_survey(self, slug: str) -> list[str]:
        with self.engine.begin() as conn:
            if find_survey(conn, self.workspace_id, slug) is not None:
                return []
            if slug not in BUILTIN_SURVEYS:
                return [f"survey {slug!r} (qunyun survey create)"]
            create_survey(conn, self.workspace_id, self.clock, NewSurvey(builtin_definition(slug), slug=slug))
        return []

    def running_counts(self) -> dict[str, int]:
        """Members (or communities) each playbook has in flight right now."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(enrolments.c.playbook, func.count())
                .where(
                    enrolments.c.workspace_id == self.workspace_id,
                    enrolments.c.status.in_(("active", "waiting")),
                )
                .group_by(enrolments.c.playbook)
            ).all()
        return {name: int(count) for name, count in rows}

    def enrol_members(self, name: str, member_ids: list[int] | None, actor: str) -> int:
        """Manual entry: the given members (each in every community they are in), or the whole audience."""
        entry = self.catalog.get(name)
        if not entry.enabled:
            raise QunyunError(f"playbook {name!r} is not enabled", code="playbook.disabled")
        now = self.clock.now()
        count = 0
        with self.engine.begin() as conn:
            views = population(conn, self.workspace_id, entry.playbook.audience, now, self.settings.zone)
            if member_ids is not None:
                wanted = set(member_ids)
                views = [v for v in views if v.member_id in wanted]
            for view in views:
                if enrol(
                    conn, self.workspace_id, entry, member_entrant(view), trigger=f"manual:{actor}", now=now
                ):
                    count += 1
        return count

    def views(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Any]:
        with self.engine.connect() as conn:
            return load_views(conn, self.workspace_id, pairs, self.settings.zone)
