"""The ledger against a plain in-memory model, driven by hypothesis (SQLite and PostgreSQL).

Random earn / spend / refund / transfer / expire / replay / coupon issue and redeem sequences; after every
step the ledger agrees with the model, entries balance, no balance is negative
and `verify_ledger` is clean. Each example gets a workspace of its own.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select

from conftest import T0
from engage_helpers import make_members
from qunyun.domain import FixedClock
from qunyun.engage.coupons import CampaignSpec, Coupons
from qunyun.engage.errors import CouponError, InsufficientPointsError
from qunyun.engage.ledger_verify import verify_ledger
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store import ensure_workspace
from qunyun.store.engage_tables import ledger_accounts, ledger_entries

VALIDITY = timedelta(days=30)
_workspaces = count()


@dataclass
class ModelLot:
    remaining: int
    expires_at: datetime


@dataclass
class ModelSpend:
    key: str
    member: int
    taken: list[tuple[ModelLot, int]]  # lot, points taken (less what refunds gave back)
    refunded: int = 0


@dataclass
class Model:
    lots: dict[int, list[ModelLot]] = field(default_factory=dict)
    spends: list[ModelSpend] = field(default_factory=list)

    def balance(self, member: int, now: datetime) -> int:
        return sum(lot.remaining for lot in self.lots[member] if lot.expires_at > now)

    def take(self, member: int, amount: int, now: datetime) -> list[tuple[ModelLot, int]]:
        taken = []
        for lot in sorted((x for x in self.lots[member] if x.expires_at > now), key=lambda x: x.expires_at):
            part = min(amount, lot.remaining)
            if part:
                lot.remaining -= part
                taken.append((lot, part))
                amount -= part
        assert amount == 0
        return taken


class LedgerMachine(RuleBasedStateMachine):
    engine: Engine  # set per test (each backend)

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(T0)
        with self.engine.begin() as conn:
            self.workspace = ensure_workspace(conn, f"prop{next(_workspaces)}", T0)
        self.members = make_members(self.engine, self.workspace, 3)
        self.ledger = Ledger(self.engine, self.workspace, self.clock, PointsPolicy(validity_days=30))
        self.model = Model(lots={m: [] for m in self.members})
        self.keys = count()
        self.done: list[tuple[str, tuple[object, ...]]] = []
        self.shop = Coupons(self.engine, self.workspace, self.clock)
        gift = CampaignSpec("gift", "礼券", "amount", 500, T0, T0 + timedelta(days=3650), validity_days=10)
        self.shop.create_campaign(replace(gift, per_member_limit=10_000))
        self.coupons: list[tuple[str, datetime, str | None]] = []  # code, expiry, redeem key

    def key(self) -> str:
        return f"k{next(self.keys)}"

    @rule(who=st.integers(0, 2), amount=st.integers(1, 80))
    def earn(self, who: int, amount: int) -> None:
        member, key = self.members[who], self.key()
        self.ledger.earn(member, amount, key=key)
        self.model.lots[member].append(ModelLot(amount, self.clock.now() + VALIDITY))
        self.done.append(("earn", (member, amount, key)))

    @rule(who=st.integers(0, 2), amount=st.integers(1, 120))
    def spend(self, who: int, amount: int) -> None:
        member, key, now = self.members[who], self.key(), self.clock.now()
        if self.model.balance(member, now) < amount:
            with pytest.raises(InsufficientPointsError):
                self.ledger.spend(member, amount, key=key)
            return
        self.ledger.spend(member, amount, key=key)
        self.model.spends.append(ModelSpend(key, member, self.model.take(member, amount, now)))
        self.done.append(("spend", (member, amount, key)))

    @rule(giver=st.integers(0, 2), taker=st.integers(0, 2), amount=st.integers(1, 60))
    def transfer(self, giver: int, taker: int, amount: int) -> None:
        source, target, key, now = self.members[giver], self.members[taker], self.key(), self.clock.now()
        if self.model.balance(source, now) < amount:
            with pytest.raises(InsufficientPointsError):
                self.ledger.transfer(source, target, amount, key=key)
            return
        self.ledger.transfer(source, target, amount, key=key)
        for lot, part in self.model.take(source, amount, now):
            self.model.lots[target].append(ModelLot(part, lot.expires_at))
        self.done.append(("transfer", (source, target, amount, key)))

    @precondition(lambda self: any(s.refunded < sum(p for _, p in s.taken) for s in self.model.spends))
    @rule(pick=st.integers(0, 10_000), share=st.floats(0.1, 1.0))
    def refund(self, pick: int, share: float) -> None:
        open_spends = [s for s in self.model.spends if s.refunded < sum(p for _, p in s.taken)]
        spend = open_spends[pick % len(open_spends)]
        left = sum(p for _, p in spend.taken) - spend.refunded
        amount, key, now = max(1, int(left * share)), self.key(), self.clock.now()
        posted = self.ledger.refund(spend.key, key=key, amount=amount)
        spend.refunded += amount
        restored, give_left = 0, amount
        # Latest expiry first; a lot past its expiry takes nothing back.
        for index, (lot, part) in sorted(
            enumerate(spend.taken), key=lambda x: x[1][0].expires_at, reverse=True
        ):
            give = min(give_left, part)
            spend.taken[index] = (lot, part - give)
            give_left -= give
            if give and lot.expires_at > now:
                lot.remaining += give
                restored += give
        assert posted.detail["restored"] == restored
        self.done.append(("refund", (spend.key, amount, key)))

    @rule(days=st.integers(1, 20))
    def time_passes_and_points_expire(self, days: int) -> None:
        now = self.clock.advance(timedelta(days=days))
        expected = sum(
            lot.remaining for lots in self.model.lots.values() for lot in lots if lot.expires_at <= now
        )
        for lots in self.model.lots.values():
            for lot in lots:
                if lot.expires_at <= now:
                    lot.remaining = 0
        assert self.ledger.expire_due() == expected

    @rule(who=st.integers(0, 2))
    def issue_coupon(self, who: int) -> None:
        coupon = self.shop.issue("gift", self.members[who], key=self.key())
        self.coupons.append((coupon.code, coupon.expires_at, None))

    @precondition(lambda self: bool(self.coupons))
    @rule(pick=st.integers(0, 10_000), same_key=st.booleans())
    def redeem_coupon(self, pick: int, same_key: bool) -> None:
        index = pick % len(self.coupons)
        code, expires, used_key = self.coupons[index]
        key = used_key if same_key and used_key else self.key()
        if used_key is not None:
            if key == used_key:
                assert self.shop.redeem(code, key=key).replayed
            else:
                with pytest.raises(CouponError, match="already redeemed"):
                    self.shop.redeem(code, key=key)
        elif self.clock.now() >= expires:
            with pytest.raises(CouponError, match="expired"):
                self.shop.redeem(code, key=key)
        else:
            assert self.shop.redeem(code, key=key).status == "redeemed"
            self.coupons[index] = (code, expires, key)

    @precondition(lambda self: bool(self.done))
    @rule(pick=st.integers(0, 10_000))
    def replay(self, pick: int) -> None:
        kind, args = self.done[pick % len(self.done)]
        call = {"earn": self.ledger.earn, "spend": self.ledger.spend, "transfer": self.ledger.transfer}
        if kind == "refund":
            spend_key, amount, key = args
            assert self.ledger.refund(str(spend_key), key=str(key), amount=int(str(amount))).replayed
        else:
            *params, key = args
            assert call[kind](*params, key=key).replayed  # type: ignore[operator]

    @invariant()
    def agrees_with_the_model(self) -> None:
        now = self.clock.now()
        for member in self.members:
            assert self.ledger.balance(member) == self.model.balance(member, now)

    @invariant()
    def entries_balance_and_nothing_is_negative(self) -> None:
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(ledger_entries.c.amount), 0))
                .join(ledger_accounts, ledger_accounts.c.id == ledger_entries.c.account_id)
                .where(ledger_accounts.c.workspace_id == self.workspace)
            ).scalar_one()
            lowest = conn.execute(
                select(func.min(ledger_accounts.c.balance)).where(
                    ledger_accounts.c.workspace_id == self.workspace, ledger_accounts.c.kind == "member"
                )
            ).scalar_one()
        assert total == 0
        assert lowest is None or lowest >= 0
        report = verify_ledger(self.engine, self.workspace)
        assert report.ok, report.problems


def test_ledger_matches_a_simple_model(engine: Engine) -> None:
    run_state_machine_as_test(
        type("LedgerMachineHere", (LedgerMachine,), {"engine": engine}),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
