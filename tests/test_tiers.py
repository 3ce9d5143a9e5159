"""Membership tiers and paid membership on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from conftest import T0
from engage_helpers import make_members
from qunyun.domain import FixedClock, IdempotencyConflictError
from qunyun.engage.errors import EngageError
from qunyun.engage.points import Ledger
from qunyun.engage.tiers import Level, Plan, Tiers
from qunyun.store.tables import activities, identities

DAY = timedelta(days=1)
LEVELS = [
    Level("silver", "白银会员", min_points=500, perks=("9折",)),
    Level("gold", "黄金会员", min_points=2000, min_spend_minor=100_000, perks=("8折", "试用")),
    Level("vip", "年度会员", perks=("全年8折",)),
]
PLANS = [Plan("annual", "年度会员", 9900, "CNY", 365, "vip")]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def tiers(engine: Engine, workspace_id: int, clock: FixedClock) -> Tiers:
    return Tiers(engine, workspace_id, clock, LEVELS, PLANS)


def buy(engine: Engine, member: int, minor: int, ref: str) -> None:
    with engine.begin() as conn:
        identity, community = conn.execute(
            select(identities.c.id, activities.c.community_id)
            .join(activities, activities.c.identity_id == identities.c.id)
            .where(identities.c.member_id == member)
            .limit(1)
        ).one()
        conn.execute(
            insert(activities).values(
                community_id=community, identity_id=identity, kind="purchase", occurred_at=T0, text="order",
                amount_minor=minor, currency="CNY", reference_id=ref, source="test", idempotency_key=ref,
                ingested_at=T0,
            )
        )  # fmt: skip


def test_levels_by_points_or_spend(
    engine: Engine, workspace_id: int, clock: FixedClock, tiers: Tiers
) -> None:
    pointy, spender, nobody = make_members(engine, workspace_id, 3)
    ledger = Ledger(engine, workspace_id, clock)
    ledger.earn(pointy, 600, key="p")
    ledger.spend(pointy, 550, key="s")  # spending does not lower the tier: lifetime earned counts
    status = tiers.status(pointy)
    assert (status.level, status.by, status.perks) == ("silver", "points", ("9折",))
    assert (status.next_level, status.to_next) == ("gold", {"points": 1400, "spend_minor": 100_000})
    buy(engine, spender, 60_000, "o1")
    buy(engine, spender, 40_000, "o2")
    assert (tiers.status(spender).level, tiers.status(spender).by) == ("gold", "spend")
    assert tiers.status(nobody).level is None


def test_paid_membership_grants_renews_and_expires(
    engine: Engine, workspace_id: int, clock: FixedClock, tiers: Tiers
) -> None:
    member, other = make_members(engine, workspace_id, 2)
    first = tiers.subscribe(member, "annual", key="pay-1")
    assert first.expires_at == T0 + 365 * DAY
    assert tiers.subscribe(member, "annual", key="pay-1").replayed
    with pytest.raises(IdempotencyConflictError):
        tiers.subscribe(other, "annual", key="pay-1")
    with pytest.raises(EngageError, match="no membership plan 'monthly'"):
        tiers.subscribe(member, "monthly", key="pay-x")
    status = tiers.status(member)
    assert (status.level, status.by, status.spend_minor) == ("vip", "paid", 0)  # the fee is not spend
    clock.advance(300 * DAY)
    renewed = tiers.subscribe(member, "annual", key="pay-2")  # early: extends from the end
    assert renewed.starts_at == T0 + 365 * DAY
    assert renewed.expires_at == T0 + 730 * DAY
    clock.set(T0 + 731 * DAY)
    lapsed = tiers.status(member)
    assert (lapsed.level, lapsed.paid_until) == (None, None)
    with engine.connect() as conn:
        fees = conn.execute(
            select(func.count(), func.sum(activities.c.amount_minor)).where(activities.c.kind == "purchase")
        ).one()
    assert tuple(fees) == (2, 19800)
