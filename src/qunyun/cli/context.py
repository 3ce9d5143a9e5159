"""What every command needs: settings, a migrated engine, the workspace, a clock."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from qunyun.analytics import ActivityMirror, FactsSource, MirroredFacts
from qunyun.config import Settings, load_settings
from qunyun.domain import Clock, FixedClock, SystemClock
from qunyun.engage.checkins import Checkins
from qunyun.engage.coupons import Coupons
from qunyun.engage.links import MemberLinks
from qunyun.engage.points import Ledger
from qunyun.engage.referrals import Referrals
from qunyun.engage.service import Engagement
from qunyun.engage.tiers import Tiers
from qunyun.journeys.service import Journeys
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

    @cached_property
    def engagement(self) -> Engagement:
        return Engagement(self.settings, self.engine, self.clock, self.workspace_id)

    def ledger(self) -> Ledger:
        return self.engagement.ledger

    def checkins(self) -> Checkins:
        return self.engagement.checkins

    def coupons(self) -> Coupons:
        return self.engagement.coupons

    def referrals(self) -> Referrals:
        return self.engagement.referrals

    def tiers(self) -> Tiers:
        return self.engagement.tiers

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

    def member_links(self) -> MemberLinks:
        """Signing member links with a key derived from the workspace secret (made on first use)."""
        privacy = self.settings.privacy
        key = load_or_create_key(privacy.secret_key, self.settings.resolve_path(privacy.key_file))
        return MemberLinks(key.raw)

    @cached_property
    def journeys(self) -> Journeys:
        links = self.member_links()
        base = self.settings.h5.base_url.rstrip("/")
        workspace_id = self.workspace_id

        def link(member_id: int, target: str, expires: datetime) -> str:
            return f"{base}/m/{links.issue(workspace_id, member_id, target, expires)}"

        return Journeys(self.settings, self.engine, self.clock, workspace_id, links=link)

    def at(self, instant: datetime) -> "AppContext":
        """The same context on a clock frozen at `instant` (`--as-of`)."""
        return replace(self, clock=FixedClock(instant))
