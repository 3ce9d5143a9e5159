"""Coupons on SQLite and PostgreSQL: campaigns, limits, codes, redeem exactly once, expiry."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from conftest import T0
from engage_helpers import make_members, race
from qunyun.domain import FixedClock, IdempotencyConflictError
from qunyun.engage.coupons import ALPHABET, CampaignSpec, Coupons, normalise_code
from qunyun.engage.errors import CouponError
from qunyun.errors import NotFoundError
from qunyun.store.member_activity import UnknownMemberError
from qunyun.store.tables import activities

DAY = timedelta(days=1)


def spec(slug: str = "return-20", **changes: object) -> CampaignSpec:
    base = {
        "slug": slug,
        "name": "回归礼 20 元",
        "kind": "amount",
        "value": 2000,
        "starts_at": T0,
        "ends_at": T0 + 30 * DAY,
        "validity_days": 7,
    }
    return CampaignSpec(**(base | changes))  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0 + timedelta(hours=1))


@pytest.fixture
def shop(engine: Engine, workspace_id: int, clock: FixedClock) -> Coupons:
    return Coupons(engine, workspace_id, clock)


def redeemed_activities(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).where(activities.c.kind == "coupon_redeem")).scalar_one()
        )


def test_campaigns_are_created_once_and_checked(shop: Coupons) -> None:
    first = shop.create_campaign(spec())
    assert shop.create_campaign(spec()) == first
    with pytest.raises(IdempotencyConflictError):
        shop.create_campaign(spec(value=5000))
    with pytest.raises(CouponError, match="value 120 out of range for percent; ends_at must be after"):
        shop.create_campaign(spec("bad", kind="percent", value=120, ends_at=T0))


def test_codes_cannot_be_guessed_and_survive_retyping(
    shop: Coupons, engine: Engine, workspace_id: int
) -> None:
    shop.create_campaign(spec(per_member_limit=200))
    (member,) = make_members(engine, workspace_id, 1)
    codes = [shop.issue("return-20", member, key=f"k{i}").code for i in range(200)]
    assert len(set(codes)) == 200
    assert all(
        re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", c) for c in codes
    )
    # 60 random bits each: every symbol of the alphabet turns up in 2,400 characters.
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)
    assert normalise_code(codes[0].lower().replace("-", " ")) == codes[0]
    assert normalise_code("abcd-oil1-2345") == "ABCD-0111-2345"


def test_issue_respects_window_and_limits(
    shop: Coupons, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    shop.create_campaign(spec(total_limit=2))
    a, b, c = make_members(engine, workspace_id, 3)
    first = shop.issue("return-20", a, key="a1")
    assert first.expires_at == clock.now() + 7 * DAY
    assert shop.issue("return-20", a, key="a1").replayed
    with pytest.raises(IdempotencyConflictError):
        shop.issue("return-20", b, key="a1")
    with pytest.raises(CouponError, match="limit 1"):
        shop.issue("return-20", a, key="a2")
    shop.issue("return-20", b, key="b1")
    with pytest.raises(CouponError, match="issued all 2"):
        shop.issue("return-20", c, key="c1")
    with pytest.raises(NotFoundError):
        shop.issue("no-such", c, key="c2")
    with pytest.raises(UnknownMemberError):
        shop.issue("return-20", 99999, key="x")
    shop.create_campaign(spec("later", starts_at=T0 + 10 * DAY))
    with pytest.raises(CouponError, match="not running"):
        shop.issue("later", c, key="c3")


def test_redeem_exactly_once_and_expiry(
    shop: Coupons, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    shop.create_campaign(spec(per_member_limit=2, min_spend_minor=10000))
    (member,) = make_members(engine, workspace_id, 1)
    coupon = shop.issue("return-20", member, key="i1")
    with pytest.raises(CouponError, match=r"at least 100\.00"):
        shop.redeem(coupon.code, key="r0", order_minor=5000)
    used = shop.redeem(coupon.code.lower(), key="r1", order_ref="order-9", order_minor=12000)
    assert used.status == "redeemed"
    assert shop.redeem(coupon.code, key="r1").replayed
    with pytest.raises(CouponError, match="already redeemed"):
        shop.redeem(coupon.code, key="r2")
    assert redeemed_activities(engine) == 1
    late = shop.issue("return-20", member, key="i2")
    clock.advance(8 * DAY)
    with pytest.raises(CouponError, match="expired"):
        shop.redeem(late.code, key="r3")
    with pytest.raises(CouponError, match="no such code"):
        shop.redeem("AAAA-BBBB-CCCC", key="r4")
    assert [c.status for c in shop.of_member(member)] == ["expired", "redeemed"]
    assert shop.campaign_stats()[0] | {"ends_at": None} == {
        "campaign": "return-20",
        "name": "回归礼 20 元",
        "ends_at": None,
        "issued": 2,
        "redeemed": 1,
        "open": 0,
    }


def test_a_coupon_redeemed_from_two_connections_at_once_is_used_once(
    shop: Coupons, engine: Engine, workspace_id: int
) -> None:
    shop.create_campaign(spec(per_member_limit=10))
    (member,) = make_members(engine, workspace_id, 1)
    for round_ in range(5):
        code = shop.issue("return-20", member, key=f"i{round_}").code
        outcomes = race(2, lambda who, code=code: shop.redeem(code, key=f"{code}-{who}"))  # type: ignore[misc]
        assert outcomes == ["coupon.already_redeemed", "ok"]
    assert redeemed_activities(engine) == 5


def test_concurrent_issues_keep_the_per_member_limit(
    shop: Coupons, engine: Engine, workspace_id: int
) -> None:
    shop.create_campaign(spec())
    (member,) = make_members(engine, workspace_id, 1)
    outcomes = race(8, lambda i: shop.issue("return-20", member, key=f"k{i}"))
    assert outcomes == ["coupon.member_limit"] * 7 + ["ok"]
