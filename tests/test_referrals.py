"""Referrals on SQLite and PostgreSQL: codes, attribution, both-side rewards, tiers, fraud guards."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from conftest import T0
from engage_helpers import make_members
from qunyun.domain import FixedClock
from qunyun.engage.coupons import CampaignSpec, Coupons
from qunyun.engage.errors import ReferralError
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.engage.referrals import Referrals, ReferralTier
from qunyun.store.tables import activities, contacts, identities

DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0 - DAY)  # codes are handed out the day before the invitees join


@pytest.fixture
def setup(engine: Engine, workspace_id: int, clock: FixedClock) -> tuple[Referrals, Coupons]:
    ledger = Ledger(engine, workspace_id, clock, PointsPolicy(earn={"invite": 10, "invited": 10}))
    shop = Coupons(engine, workspace_id, clock)
    for slug, value, limit in (("invite-20", 2000, None), ("invite-50", 5000, 1)):
        shop.create_campaign(
            CampaignSpec(slug, slug, "amount", value, T0 - 10 * DAY, T0 + 90 * DAY, total_limit=limit)
        )
    tiers = [ReferralTier(1, "invite-20"), ReferralTier(3, "invite-50")]
    return Referrals(engine, workspace_id, clock, ledger, tiers), shop


def referral_activities(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(activities.c.kind == "referral")).scalar_one())


def test_both_sides_are_rewarded_and_tiers_pay_once(
    engine: Engine, workspace_id: int, clock: FixedClock, setup: tuple[Referrals, Coupons]
) -> None:
    referrals, shop = setup
    (inviter,) = make_members(engine, workspace_id, 1, joined=T0 - 30 * DAY)
    code = referrals.code_for(inviter)
    assert referrals.code_for(inviter) == code
    assert len(code) == 8
    clock.set(T0 + timedelta(hours=1))
    friends = make_members(engine, workspace_id, 4)
    first = referrals.attribute(friends[0], code.lower())
    assert (first.status, first.reason, len(first.tier_coupons)) == ("credited", "ok", 1)
    assert referrals.attribute(friends[0], code).replayed
    second = referrals.attribute(friends[1], code)
    assert second.tier_coupons == []
    third = referrals.attribute(friends[2], code)
    assert len(third.tier_coupons) == 1
    assert referrals.points.balance(inviter) == 30
    assert referrals.points.balance(friends[0]) == 10
    assert referral_activities(engine) == 3
    assert sorted(c.campaign for c in shop.of_member(inviter)) == ["invite-20", "invite-50"]
    stats = referrals.stats(inviter)
    assert (stats["credited"], stats["tiers_reached"], stats["next_tier"]) == (3, [1, 3], None)


def test_fraud_guards(
    engine: Engine, workspace_id: int, clock: FixedClock, setup: tuple[Referrals, Coupons]
) -> None:
    referrals, _ = setup
    inviter, other = make_members(engine, workspace_id, 2, joined=T0 - 30 * DAY)
    code, other_code = referrals.code_for(inviter), referrals.code_for(other)
    clock.set(T0 + timedelta(hours=1))
    assert referrals.attribute(inviter, code).reason == "self_invite"
    assert referrals.attribute(other, code).reason == "returning_member"  # here before the code existed
    twin, newcomer = make_members(engine, workspace_id, 2)
    with engine.begin() as conn:  # the twin shares the inviter's phone (same pseudonym)
        for member in (inviter, twin):
            identity = conn.execute(
                select(identities.c.id).where(identities.c.member_id == member)
            ).scalar_one()
            conn.execute(
                insert(contacts).values(
                    workspace_id=workspace_id,
                    identity_id=identity,
                    kind="phone",
                    pseudonym="ab" * 32,
                    ciphertext=b"x",
                    created_at=T0,
                )
            )
    assert referrals.attribute(twin, code).reason == "same_person"
    assert referrals.attribute(newcomer, other_code).status == "credited"
    late = referrals.attribute(newcomer, code)
    assert (late.status, late.reason, late.inviter_id) == ("rejected", "already_referred", other)
    with pytest.raises(ReferralError):
        referrals.attribute(newcomer, "ZZZZZZZZ")
    assert referrals.points.balance(inviter) == 0
    assert referral_activities(engine) == 1


def test_a_sold_out_tier_campaign_does_not_cancel_the_referral(
    engine: Engine, workspace_id: int, clock: FixedClock, setup: tuple[Referrals, Coupons]
) -> None:
    referrals, shop = setup
    a, b = make_members(engine, workspace_id, 2, joined=T0 - 30 * DAY)
    codes = [referrals.code_for(a), referrals.code_for(b)]
    clock.set(T0 + timedelta(hours=1))
    friends = make_members(engine, workspace_id, 6)
    for i in range(3):
        referrals.attribute(friends[i], codes[0])
        referrals.attribute(friends[3 + i], codes[1])
    assert len(shop.of_member(a)) == 2  # invite-50 has a total limit of 1: a got it first
    last = referrals.stats(b)
    assert last["credited"] == 3
    assert [c.campaign for c in shop.of_member(b)] == ["invite-20"]
