"""Squads on SQLite and PostgreSQL: membership rules and squad standings."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from conftest import T0
from engage_helpers import make_members
from qunyun.domain import FixedClock
from qunyun.engage.accounts import Owner
from qunyun.engage.errors import EngageError
from qunyun.engage.points import Ledger
from qunyun.engage.squads import Squads


def test_squads_hold_members_once_and_rank_by_points(engine: Engine, workspace_id: int) -> None:
    clock = FixedClock(T0)
    people = make_members(engine, workspace_id, 6)
    squads = Squads(engine, workspace_id, clock, max_size=3)
    red = squads.create("红队", leader_id=people[0])
    assert squads.create("红队") == red
    blue = squads.create("蓝队")
    squads.add(red, people[1])
    squads.add(red, people[1])  # already there: nothing to do
    squads.add(red, people[2])
    with pytest.raises(EngageError, match="full"):
        squads.add(red, people[3])
    with pytest.raises(EngageError, match="already in squad"):
        squads.add(blue, people[1])
    squads.add(blue, people[3])
    ledger = Ledger(engine, workspace_id, clock)
    ledger.earn(people[1], 30, key="a")
    ledger.earn(people[3], 20, key="b")
    ledger.earn(0, 25, key="c", owner=Owner.squad(blue))
    clock.advance(timedelta(days=40))
    ledger.earn(people[0], 100, key="later")  # outside the period
    standings = squads.standings(T0, T0 + timedelta(days=30))
    assert [(s.name, s.members, s.squad_points, s.member_points, s.total) for s in standings] == [
        ("蓝队", 1, 25, 20, 45),
        ("红队", 3, 0, 30, 30),
    ]
    squads.remove(people[3])
    after = {s.name: (s.members, s.total) for s in squads.standings(T0, T0 + timedelta(days=30))}
    assert after == {"红队": (3, 30), "蓝队": (0, 25)}
