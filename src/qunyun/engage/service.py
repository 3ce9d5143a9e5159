"""One place that builds the engagement mechanics from `qunyun.toml` (CLI, API and workers)."""

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from qunyun.config import Settings
from qunyun.domain import Clock
from qunyun.engage.badges import Badges
from qunyun.engage.checkins import CheckinPolicy, Checkins
from qunyun.engage.coupons import Coupons
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.engage.referrals import Referrals, ReferralTier
from qunyun.engage.squads import Squads
from qunyun.engage.tiers import Level, Plan, Tiers


@dataclass
class Engagement:
    settings: Settings
    engine: Engine
    clock: Clock
    workspace_id: int

    @cached_property
    def ledger(self) -> Ledger:
        points = self.settings.points
        policy = PointsPolicy(validity_days=points.validity_days or None, earn=points.earn)
        return Ledger(self.engine, self.workspace_id, self.clock, policy)

    @cached_property
    def checkins(self) -> Checkins:
        c = self.settings.checkin
        policy = CheckinPolicy(dict(c.streak_rewards), c.makeup_cards_per_month, c.makeup_window_days)
        return Checkins(self.engine, self.workspace_id, self.clock, self.ledger, policy)

    @cached_property
    def coupons(self) -> Coupons:
        return Coupons(self.engine, self.workspace_id, self.clock)

    @cached_property
    def referrals(self) -> Referrals:
        tiers = [ReferralTier(t.invites, t.campaign) for t in self.settings.referrals.tiers]
        return Referrals(self.engine, self.workspace_id, self.clock, self.ledger, tiers)

    @cached_property
    def badges(self) -> Badges:
        return Badges(self.engine, self.workspace_id, self.clock, self.ledger)

    @cached_property
    def squads(self) -> Squads:
        return Squads(self.engine, self.workspace_id, self.clock)

    @cached_property
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
