"""The points ledger on SQLite and PostgreSQL: hand-computed FIFO, expiry, refunds, replays."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from conftest import T0
from engage_helpers import make_members
from qunyun.domain import FixedClock, IdempotencyConflictError
from qunyun.engage.accounts import Owner
from qunyun.engage.errors import InsufficientPointsError, InvalidAmountError, RefundError
from qunyun.engage.ledger_verify import verify_ledger
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store.engage_tables import ledger_accounts, ledger_entries, ledger_transactions, point_lots
from qunyun.store.member_activity import UnknownMemberError

DAY = timedelta(days=1)


def rows(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]  # three counts
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (ledger_transactions, ledger_entries, point_lots)
        )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ledger(engine: Engine, workspace_id: int, clock: FixedClock) -> Ledger:
    return Ledger(engine, workspace_id, clock, PointsPolicy(validity_days=30, earn={"checkin": 5}))


def test_spending_takes_the_oldest_points_first_and_expiry_takes_the_rest(
    ledger: Ledger, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    (alice,) = make_members(engine, workspace_id, 1)
    ledger.earn(alice, 100, key="e1")  # expires T0+30d
    clock.advance(10 * DAY)
    ledger.earn(alice, 50, key="e2")  # expires T0+40d
    clock.advance(5 * DAY)
    ledger.spend(alice, 120, key="s1")  # 100 from e1, 20 from e2
    assert [(lot.remaining, lot.expires_at) for lot in ledger.lots(alice)] == [(30, T0 + 40 * DAY)]
    clock.set(T0 + 41 * DAY)
    assert ledger.balance(alice) == 0  # past expiry even before the expiry run
    assert ledger.expire_due() == 30
    assert ledger.expire_due() == 0
    assert ledger.totals() == {"issued": -150, "redeemed": 120, "expired": 30, "held_by_members": 0}
    assert verify_ledger(engine, workspace_id).ok


def test_a_spend_never_uses_expired_points(
    ledger: Ledger, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    (bob,) = make_members(engine, workspace_id, 1)
    ledger.earn(bob, 100, key="e1")
    clock.advance(31 * DAY)  # no expiry run in between
    with pytest.raises(InsufficientPointsError):
        ledger.spend(bob, 10, key="s1")
    ledger.earn(bob, 10, key="e2")
    ledger.spend(bob, 10, key="s2")  # the spend ran the member's expiry first
    assert ledger.totals()["expired"] == 100
    assert verify_ledger(engine, workspace_id).ok


def test_the_same_key_applies_once_and_another_request_under_it_is_refused(
    ledger: Ledger, engine: Engine, workspace_id: int
) -> None:
    (carol,) = make_members(engine, workspace_id, 1)
    first = ledger.earn(carol, 10, key="welcome", rule="first_message")
    before = rows(engine)
    again = ledger.earn(carol, 10, key="welcome", rule="first_message")
    assert again.replayed
    assert again.transaction_id == first.transaction_id
    assert rows(engine) == before
    with pytest.raises(IdempotencyConflictError):
        ledger.earn(carol, 11, key="welcome", rule="first_message")
    with pytest.raises(IdempotencyConflictError):
        ledger.spend(carol, 10, key="welcome")
    assert ledger.balance(carol) == 10


def test_a_refused_spend_writes_nothing(ledger: Ledger, engine: Engine, workspace_id: int) -> None:
    (dan,) = make_members(engine, workspace_id, 1)
    ledger.earn(dan, 99, key="e")
    before = rows(engine)
    with pytest.raises(InsufficientPointsError) as refused:
        ledger.spend(dan, 100, key="s")
    assert refused.value.available == 99
    assert rows(engine) == before
    ledger.earn(dan, 1, key="e2")
    assert not ledger.spend(dan, 100, key="s").replayed  # the key was not used up by the refusal
    for bad in (0, -5):
        with pytest.raises(InvalidAmountError):
            ledger.earn(dan, bad, key=f"bad{bad}")
    with pytest.raises(UnknownMemberError):
        ledger.earn(987654, 5, key="nobody")


def test_refunds_return_points_to_their_lots_and_lapse_where_the_lot_expired(
    ledger: Ledger, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    (erin,) = make_members(engine, workspace_id, 1)
    ledger.earn(erin, 40, key="old")  # expires T0+30d
    clock.advance(20 * DAY)
    ledger.earn(erin, 60, key="new")  # expires T0+50d
    ledger.spend(erin, 70, key="order-1")  # 40 old + 30 new
    part = ledger.refund("order-1", key="refund-1a", amount=20)  # latest expiry first: back to "new"
    assert part.detail == {"spend_key": "order-1", "restored": 20, "lapsed": 0}
    assert [lot.remaining for lot in ledger.lots(erin)] == [50]
    clock.set(T0 + 35 * DAY)  # "old" has expired
    rest = ledger.refund("order-1", key="refund-1b")
    assert rest.amount == 50
    assert (rest.detail["restored"], rest.detail["lapsed"]) == (10, 40)
    assert ledger.balance(erin) == 60
    with pytest.raises(RefundError):
        ledger.refund("order-1", key="refund-1c", amount=1)
    with pytest.raises(RefundError):
        ledger.refund("no-such-spend", key="refund-x")
    assert ledger.refund("order-1", key="refund-1b").replayed
    assert ledger.totals() == {"issued": -100, "redeemed": 0, "expired": 40, "held_by_members": 60}
    assert verify_ledger(engine, workspace_id).ok


def test_transfers_keep_expiry_dates(
    ledger: Ledger, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    giver, taker = make_members(engine, workspace_id, 2)
    ledger.earn(giver, 30, key="g")
    clock.advance(DAY)
    ledger.transfer(giver, taker, 25, key="t")
    assert [(lot.remaining, lot.expires_at) for lot in ledger.lots(taker)] == [(25, T0 + 30 * DAY)]
    with pytest.raises(InsufficientPointsError):
        ledger.transfer(giver, taker, 6, key="t2")
    assert (ledger.balance(giver), ledger.balance(taker)) == (5, 25)


def test_squads_hold_points_too(ledger: Ledger, engine: Engine, workspace_id: int) -> None:
    (lead,) = make_members(engine, workspace_id, 1)
    ledger.earn(lead, 15, key="squad-week-1", owner=Owner.squad(7))
    assert ledger.balance(Owner.squad(7)) == 15
    assert ledger.balance(lead) == 0
    assert ledger.totals()["held_by_squads"] == 15


def test_earn_rules_come_from_the_policy(ledger: Ledger, engine: Engine, workspace_id: int) -> None:
    (fay,) = make_members(engine, workspace_id, 1)
    assert ledger.earn_rule(fay, "checkin", key="c1").amount == 5
    with pytest.raises(Exception, match="no earn rule 'lottery'"):
        ledger.earn_rule(fay, "lottery", key="c2")


def test_verify_finds_a_tampered_cache_and_fix_rewrites_it_from_the_entries(
    ledger: Ledger, engine: Engine, workspace_id: int
) -> None:
    (gus,) = make_members(engine, workspace_id, 1)
    ledger.earn(gus, 10, key="e")
    with engine.begin() as conn:
        conn.execute(update(ledger_accounts).where(ledger_accounts.c.kind == "member").values(balance=500))
    report = verify_ledger(engine, workspace_id)
    assert not report.ok
    assert any("cached balance 500, entries say 10" in p for p in report.problems)
    fixed = verify_ledger(engine, workspace_id, fix=True)
    assert fixed.fixed == 1
    assert verify_ledger(engine, workspace_id).ok
    with engine.begin() as conn:
        conn.execute(update(point_lots).values(remaining=3))
    broken = verify_ledger(engine, workspace_id)
    assert any("lots hold 3, entries say 10" in p for p in broken.problems)
    assert any("7 points gone, consumptions say 0" in p for p in broken.problems)
