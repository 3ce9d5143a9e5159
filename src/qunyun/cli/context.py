"""What every command needs: settings, a migrated engine, the workspace, a clock."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from qunyun.analytics import ActivityMirror, FactsSource, MirroredFacts
from qunyun.config import Settings, load_settings
from qunyun.domain import Clock, SystemClock
from qunyun.engage.checkins import CheckinPolicy, Checkins
from qunyun.engage.coupons import Coupons
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.engage.referrals import Referrals, ReferralTier
from qunyun.engage.tiers import Level, Plan, Tiers
from qunyun.privacy import PiiProtector, load_key, load_or_create_key
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.tables import communities


@dataclass
class AppContext:
    settings: Settings
    db_url: str
    clock: Clock

    @classmethod
    def create(cls, db: str | None, config: Path | None) -> "AppContext":
        settings = load_settings(config)
        return cls(settings, db or settings.database_url(), SystemClock())

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.db_url, echo=self.settings.database.echo)
        migrate(engine)
        return engine

    @cached_property
    def workspace_id(self) -> int:
        with self.engine.begin() as conn:
            return ensure_workspace(conn, self.settings.general.workspace, self.clock.now())

    @cached_property
    def mirror(self) -> ActivityMirror:
        settle = timedelta(minutes=self.settings.analytics.settle_minutes)
        return ActivityMirror(self.engine, self.settings.mirror_path(self.db_url), self.clock, settle=settle)

    def facts(self) -> FactsSource:
        """Member facts for refreshes, computed on the (synced) analytics mirror."""
        return MirroredFacts(self.mirror, self.workspace_id)

    def protector(self, *, create: bool = False) -> PiiProtector:
        privacy = self.settings.privacy
        key_file = self.settings.resolve_path(privacy.key_file)
        loader = load_or_create_key if create else load_key
        return PiiProtector(loader(privacy.secret_key, key_file))

    def ledger(self) -> Ledger:
        points = self.settings.points
        policy = PointsPolicy(validity_days=points.validity_days or None, earn=points.earn)
        return Ledger(self.engine, self.workspace_id, self.clock, policy)

    def checkins(self) -> Checkins:
        c = self.settings.checkin
        policy = CheckinPolicy(dict(c.streak_rewards), c.makeup_cards_per_month, c.makeup_window_days)
        return Checkins(self.engine, self.workspace_id, self.clock, self.ledger(), policy)

    def coupons(self) -> Coupons:
        return Coupons(self.engine, self.workspace_id, self.clock)

    def member_zone(self, community_id: int | None) -> ZoneInfo:
        """A member's local time: their community's timezone, else the workspace's."""
        if community_id is not None:
            with self.engine.connect() as conn:
                zone = conn.execute(
                    select(communities.c.timezone).where(communities.c.id == community_id)
                ).scalar_one_or_none()
            if zone:
                return ZoneInfo(zone)
        return self.settings.zone

    def referrals(self) -> Referrals:
        tiers = [ReferralTier(t.invites, t.campaign) for t in self.settings.referrals.tiers]
        return Referrals(self.engine, self.workspace_id, self.clock, self.ledger(), tiers)

    def tiers(self) -> Tiers:
        conf = self.settings.tiers
        levels = [
            Level(
                lv.name,
                lv.label,
                lv.min_points,
                round(lv.min_spend * 100) if lv.min_spend is not None else None,
                tuple(lv.perks),
            )
            for lv in conf.levels
        ]
        plans = [Plan(p.name, p.label, round(p.price * 100), p.currency, p.days, p.level) for p in conf.plans]
        return Tiers(self.engine, self.workspace_id, self.clock, levels, plans)
