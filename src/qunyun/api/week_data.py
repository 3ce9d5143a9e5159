"""The week's numbers for the dashboard, computed on the analytics mirror away from requests.

A 1M-member community takes tens of seconds to gather a week's KPIs, cohorts,
hours and content, so pages never wait for it: the first request for a week
starts a background computation and the page says so; later requests get the
kept result, recomputed in the background once it is `max_age` old (the last
one is served meanwhile). The API's `GET /kpis` waits instead (scripts want
the number). The mirror is opened only while computing, so `qunyun refresh`
in another process can take it between computations; if it holds the mirror
when we need it, the attempt fails and the next request tries again.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from qunyun.analytics import ActivityMirror
from qunyun.config import Settings
from qunyun.domain import Clock
from qunyun.errors import QunyunError
from qunyun.lifecycle.topics import community_topics
from qunyun.nlp.topics import TopicLexicon
from qunyun.reports.data import WeeklyData, collect
from qunyun.reports.source import ReportSource
from qunyun.reports.weeks import IsoWeek

Key = tuple[int, str]
TOPIC_WEEKS = 4


@dataclass(frozen=True)
class DashboardWeek:
    """The weekly report's numbers, and the week's topics and rising terms (docs/text.md)."""

    report: WeeklyData
    topics: dict[str, Any]


def gather(source: ReportSource, week: IsoWeek, now: datetime) -> DashboardWeek:
    report = collect(source, week, now)
    text = source.settings.text
    lexicon = (
        TopicLexicon.from_file(source.settings.resolve_path(text.topics_file))
        if text.topics_file
        else TopicLexicon.default()
    )
    end = min(now, week.bounds(source.zone)[1])
    with source.engine.connect() as conn:
        topics = community_topics(conn, source.workspace_id, end, lexicon, None, TOPIC_WEEKS, 10)
    return DashboardWeek(report, topics)


@dataclass
class _Entry:
    data: DashboardWeek | None = None
    computed_at: float = 0.0  # process time (monotonic): cache age, not domain time
    running: bool = False
    error: str | None = None


@dataclass(frozen=True)
class WeekView:
    data: DashboardWeek | None
    computing: bool
    error: str | None


class WeekData:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        mirror_path: Path | None,
        max_age: timedelta = timedelta(minutes=15),
        compute: Callable[[ReportSource, IsoWeek, datetime], DashboardWeek] = gather,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        # The cache's age is process time, not domain time (the clock may be frozen, as in the demo).
        self._monotonic = monotonic
        self.mirror_path = mirror_path
        self.max_age = max_age.total_seconds()
        self._compute = compute
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)  # notified when a computation ends
        self._mirror_lock = threading.Lock()  # one DuckDB connection to the mirror file at a time

    @property
    def available(self) -> bool:
        return self.mirror_path is not None

    def peek(self, workspace_id: int, week: IsoWeek) -> WeekView:
        """What is known now; starts a computation if nothing is, or what is known is old."""
        key = (workspace_id, str(week))
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            stale = entry.data is None or self._monotonic() - entry.computed_at > self.max_age
            start = self.available and stale and not entry.running
            if start:
                entry.running = True
            view = WeekView(entry.data, entry.running, entry.error)
        if start:
            threading.Thread(target=self._run, args=(key, workspace_id, week), daemon=True).start()
        return view

    def wait(self, workspace_id: int, week: IsoWeek) -> DashboardWeek:
        """The week's numbers, computed now if not kept (or kept too long)."""
        view = self.peek(workspace_id, week)
        if view.data is not None and not view.computing:
            return view.data
        key = (workspace_id, str(week))
        with self._done:
            self._done.wait_for(lambda: not self._entries[key].running)
            entry = self._entries[key]
            if entry.data is None:
                raise QunyunError(
                    f"the week's numbers could not be computed: {entry.error}", code="analytics.failed"
                )
            return entry.data

    def _run(self, key: Key, workspace_id: int, week: IsoWeek) -> None:
        data, error = None, None
        try:
            data = self._gather(workspace_id, week)
        except Exception as exc:  # reported on the page; the next request retries
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            entry = self._entries[key]
            entry.running = False
            entry.error = error
            if data is not None:
                entry.data, entry.computed_at = data, self._monotonic()
            self._done.notify_all()

    def _gather(self, workspace_id: int, week: IsoWeek) -> DashboardWeek:
        assert self.mirror_path is not None
        settle = timedelta(minutes=self.settings.analytics.settle_minutes)
        with self._mirror_lock:
            mirror = ActivityMirror(self.engine, self.mirror_path, self.clock, settle=settle)
            try:
                source = ReportSource.on_mirror(self.engine, mirror, workspace_id, self.settings)
                return self._compute(source, week, self.clock.now())
            finally:
                mirror.close()
