"""What every command needs: settings, a migrated engine, the workspace, a clock."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from qunyun.analytics import ActivityMirror, FactsSource, MirroredFacts
from qunyun.config import Settings, load_settings
from qunyun.domain import Clock, SystemClock
from qunyun.privacy import PiiProtector, load_key, load_or_create_key
from qunyun.store import ensure_workspace, make_engine, migrate


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
