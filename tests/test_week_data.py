"""The dashboard's week numbers: computed away from requests, kept, recomputed when old, errors shown."""

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from conftest import T0
from qunyun.api.week_data import WeekData
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.errors import QunyunError
from qunyun.reports.weeks import IsoWeek

WEEK = IsoWeek(2026, 22)


class Gatherer:
    """Stands in for reports.data.collect: counts calls, can be held back or made to fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self.fail = False
        self.now = 1000.0  # the process time WeekData ages its cache by

    def monotonic(self) -> float:
        return self.now

    def __call__(self, source: Any, week: IsoWeek, now: Any) -> Any:
        self.calls += 1
        self.release.wait(10)
        if self.fail:
            raise ValueError("mirror locked")
        return {"week": str(week), "workspace": source.workspace_id, "call": self.calls}


def _settle(data: WeekData, workspace_id: int) -> None:
    for _ in range(200):
        if not data.peek(workspace_id, WEEK).computing:
            return
        time.sleep(0.01)


@pytest.fixture
def setup(settings: Settings, engine: Engine, tmp_path: Path) -> tuple[WeekData, Gatherer]:
    gather = Gatherer()
    data = WeekData(
        engine,
        settings,
        FixedClock(T0),
        tmp_path / "m.duckdb",
        timedelta(seconds=0.2),
        gather,  # type: ignore[arg-type]
        gather.monotonic,
    )
    return data, gather


def test_first_look_starts_the_work_and_pages_do_not_wait(setup: tuple[WeekData, Gatherer]) -> None:
    data, gather = setup
    gather.release.clear()
    first = data.peek(1, WEEK)
    assert first.data is None
    assert first.computing is True
    assert data.peek(1, WEEK).computing is True  # one computation, however many pages ask
    gather.release.set()
    _settle(data, 1)
    kept = data.peek(1, WEEK)
    assert kept.data == {"week": "2026-W22", "workspace": 1, "call": 1}
    assert gather.calls == 1
    assert data.wait(1, WEEK)["call"] == 1  # kept: not computed again


def test_old_numbers_are_served_while_new_ones_are_made(setup: tuple[WeekData, Gatherer]) -> None:
    data, gather = setup
    assert data.wait(1, WEEK)["call"] == 1
    gather.now += 0.25  # older than max_age
    gather.release.clear()
    stale = data.peek(1, WEEK)
    assert stale.data["call"] == 1  # type: ignore[index]
    assert stale.computing is True
    gather.release.set()
    _settle(data, 1)
    assert data.peek(1, WEEK).data["call"] == 2  # type: ignore[index]
    assert data.wait(2, WEEK)["workspace"] == 2  # workspaces are kept apart


def test_a_failure_is_reported_and_retried(setup: tuple[WeekData, Gatherer]) -> None:
    data, gather = setup
    gather.fail = True
    with pytest.raises(QunyunError, match="mirror locked") as error:
        data.wait(1, WEEK)
    assert error.value.code == "analytics.failed"
    assert "mirror locked" in (data.peek(1, WEEK).error or "")
    gather.fail = False
    _settle(data, 1)
    assert data.wait(1, WEEK)["call"] >= 2


def test_without_a_mirror_nothing_is_computed(settings: Settings, engine: Engine) -> None:
    gather = Gatherer()
    data = WeekData(engine, settings, FixedClock(T0), None, compute=gather)  # type: ignore[arg-type]
    view = data.peek(1, WEEK)
    assert (view.data, view.computing, data.available) == (None, False, False)
    assert gather.calls == 0
