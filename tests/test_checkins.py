"""Check-ins on SQLite and PostgreSQL: local days, streaks, rewards, make-up cards."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from engage_helpers import make_members
from qunyun.domain import FixedClock
from qunyun.engage.checkins import CheckinPolicy, Checkins, streak_of
from qunyun.engage.errors import CheckinError
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store.tables import activities

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
D = date(2026, 6, 1)


def test_streaks_from_days() -> None:
    days = [D, D + DAY, D + 2 * DAY, D + 5 * DAY, D + 6 * DAY]
    assert streak_of(days, D + 6 * DAY) == streak_of(list(reversed(days)), D + 6 * DAY)
    s = streak_of(days, D + 6 * DAY)
    assert (s.current, s.longest, s.total, s.checked_today) == (2, 3, 5, True)
    tomorrow = streak_of(days, D + 7 * DAY)  # not broken until the day ends
    assert (tomorrow.current, tomorrow.checked_today) == (2, False)
    assert streak_of(days, D + 8 * DAY).current == 0
    assert streak_of([], D).longest == 0


@pytest.fixture
def clock() -> FixedClock:
    # 2026-06-01 01:30 in Shanghai is still 31 May in UTC.
    return FixedClock(datetime(2026, 5, 31, 17, 30, tzinfo=ZoneInfo("UTC")))


def desk(engine: Engine, workspace_id: int, clock: FixedClock, **policy: object) -> Checkins:
    ledger = Ledger(engine, workspace_id, clock, PointsPolicy(validity_days=365, earn={"checkin": 5}))
    settings = {"streak_rewards": {7: 30}} | policy
    return Checkins(engine, workspace_id, clock, ledger, CheckinPolicy(**settings))  # type: ignore[arg-type]


def checkin_activities(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(activities.c.kind == "checkin")).scalar_one())


def test_daily_checkins_pay_once_a_local_day_and_reward_streaks(
    engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    (member,) = make_members(engine, workspace_id, 1)
    checkins = desk(engine, workspace_id, clock)
    first = checkins.check_in(member, SHANGHAI)
    assert first.day == D  # the member's local day, not UTC's
    assert first.points == 5
    again = checkins.check_in(member, SHANGHAI)
    assert again.replayed
    assert again.points == 0
    rewards = []
    for _ in range(13):
        clock.advance(DAY)
        rewards.append(checkins.check_in(member, SHANGHAI).rewards)
    assert [i + 2 for i, r in enumerate(rewards) if r] == [7, 14]
    assert rewards[5] == [(7, 30)]
    assert checkins.points.balance(member) == 14 * 5 + 2 * 30
    assert checkin_activities(engine) == 14
    streak = checkins.streak(member, SHANGHAI)
    assert (streak.current, streak.longest, streak.total) == (14, 14, 14)


def test_makeup_cards_fill_a_gap_within_limits(engine: Engine, workspace_id: int, clock: FixedClock) -> None:
    (member,) = make_members(engine, workspace_id, 1)
    plain = desk(engine, workspace_id, clock)
    with pytest.raises(CheckinError, match="no make-up cards"):
        plain.check_in(member, SHANGHAI, makeup_day=D - DAY)
    checkins = desk(engine, workspace_id, clock, makeup_cards_per_month=1, makeup_window_days=3)
    checkins.check_in(member, SHANGHAI)  # D
    clock.advance(2 * DAY)
    checkins.check_in(member, SHANGHAI)  # D+2, D+1 missed
    assert checkins.streak(member, SHANGHAI).current == 1
    filled = checkins.check_in(member, SHANGHAI, makeup_day=D + DAY)
    assert filled.streak.current == 3
    assert filled.rewards == []
    with pytest.raises(CheckinError, match="no make-up cards left"):
        checkins.check_in(member, SHANGHAI, makeup_day=D - DAY)
    with pytest.raises(CheckinError, match="last 3 days"):
        checkins.check_in(member, SHANGHAI, makeup_day=D - 5 * DAY)
    with pytest.raises(CheckinError, match="last 3 days"):
        checkins.check_in(member, SHANGHAI, makeup_day=D + 2 * DAY)  # today is not a make-up
