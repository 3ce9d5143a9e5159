"""Membership tiers (by points earned or money spent) and paid membership (e.g. 99/year).

Levels are data, lowest first; a member reaches a level when their lifetime
earned points reach `min_points` or their spend over the last 365 days
reaches `min_spend_minor` (either is enough; a level without a rule is only
reachable by paying). A paid plan grants its level while it runs; renewing
before the end extends from the end, after it from the renewal. The member's
tier is the highest level they reach either way. Each subscription records a
purchase activity, so conversion and paying-member figures include it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select

from qunyun.domain import ActivityKind, Clock, IdempotencyConflictError
from qunyun.engage.errors import EngageError
from qunyun.store.engage_tables import ledger_accounts, ledger_entries, ledger_transactions, paid_memberships
from qunyun.store.member_activity import MemberActivity, record_member_activity, require_member
from qunyun.store.tables import activities, identities

SPEND_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Level:
    name: str
    label: str
    min_points: int | None = None
    min_spend_minor: int | None = None
    perks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    name: str
    label: str
    price_minor: int
    currency: str
    days: int
    level: str


@dataclass(frozen=True)
class TierStatus:
    member_id: int
    level: str | None
    label: str | None
    perks: tuple[str, ...]
    by: str | None  # points | spend | paid
    points_earned: int
    spend_minor: int
    paid_until: datetime | None
    next_level: str | None = None
    to_next: dict[str, int] = field(default_factory=dict)  # what is missing for the next level


@dataclass(frozen=True)
class Subscription:
    plan: str
    starts_at: datetime
    expires_at: datetime
    replayed: bool


class Tiers:
    def __init__(
        self, engine: Engine, workspace_id: int, clock: Clock, levels: Sequence[Level], plans: Sequence[Plan]
    ) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock
        self.levels = list(levels)
        self.plans = {p.name: p for p in plans}

    def subscribe(
        self, member_id: int, plan_name: str, *, key: str, community_id: int | None = None
    ) -> Subscription:
        plan = self.plans.get(plan_name)
        if plan is None:
            raise EngageError(f"no membership plan {plan_name!r}", code="tier.unknown_plan")
        now = self.clock.now()
        with self.engine.begin() as conn:
            require_member(conn, self.workspace_id, member_id)
            earlier = conn.execute(
                select(paid_memberships).where(
                    paid_memberships.c.workspace_id == self.workspace_id,
                    paid_memberships.c.idempotency_key == key,
                )
            ).first()
            if earlier is not None:
                if earlier.member_id != member_id or earlier.plan != plan_name:
                    raise IdempotencyConflictError(key)
                return Subscription(plan_name, earlier.starts_at, earlier.expires_at, True)
            current_end = self._paid_until(conn, member_id)
            starts = max(now, current_end) if current_end else now
            expires = starts + timedelta(days=plan.days)
            conn.execute(
                insert(paid_memberships).values(
                    workspace_id=self.workspace_id,
                    member_id=member_id,
                    plan=plan_name,
                    starts_at=starts,
                    expires_at=expires,
                    amount_minor=plan.price_minor,
                    currency=plan.currency,
                    idempotency_key=key,
                    created_at=now,
                )
            )
            record_member_activity(
                conn,
                self.workspace_id,
                MemberActivity(
                    member_id, ActivityKind.PURCHASE, now, f"membership:{key}", community_id,
                    text=f"membership:{plan_name}", amount_minor=plan.price_minor, currency=plan.currency,
                    reference_id=f"membership:{key}",
                ),
            )  # fmt: skip
        return Subscription(plan_name, starts, expires, False)

    def status(self, member_id: int) -> TierStatus:
        now = self.clock.now()
        with self.engine.connect() as conn:
            require_member(conn, self.workspace_id, member_id)
            points = self._points_earned(conn, member_id)
            spend = self._spend(conn, member_id, now)
            paid_until = self._paid_until(conn, member_id)
            paid_level = self._paid_level(conn, member_id, now)
        reached: tuple[int, str] | None = None
        for rank, level in enumerate(self.levels):
            by = self._qualifies(level, points, spend)
            if by:
                reached = (rank, by)
        if paid_level is not None:
            rank = next((i for i, lv in enumerate(self.levels) if lv.name == paid_level), len(self.levels))
            if reached is None or rank >= reached[0]:
                reached = (rank, "paid")
        return self._describe(
            member_id, reached, points, spend, paid_until if paid_level else None, paid_level
        )

    def _describe(
        self,
        member_id: int,
        reached: tuple[int, str] | None,
        points: int,
        spend: int,
        paid_until: datetime | None,
        paid_level: str | None,
    ) -> TierStatus:
        rank = reached[0] if reached else -1
        level = self.levels[rank] if 0 <= rank < len(self.levels) else None
        name = level.name if level else paid_level
        upcoming = self.levels[rank + 1] if rank + 1 < len(self.levels) else None
        gap = {}
        if upcoming is not None:
            if upcoming.min_points is not None:
                gap["points"] = max(0, upcoming.min_points - points)
            if upcoming.min_spend_minor is not None:
                gap["spend_minor"] = max(0, upcoming.min_spend_minor - spend)
        return TierStatus(
            member_id, name, level.label if level else name, level.perks if level else (),
            reached[1] if reached else None, points, spend, paid_until,
            upcoming.name if upcoming else None, gap,
        )  # fmt: skip

    @staticmethod
    def _qualifies(level: Level, points: int, spend: int) -> str | None:
        if level.min_points is not None and points >= level.min_points:
            return "points"
        if level.min_spend_minor is not None and spend >= level.min_spend_minor:
            return "spend"
        return None

    def _points_earned(self, conn: Connection, member_id: int) -> int:
        total = conn.execute(
            select(func.coalesce(func.sum(ledger_entries.c.amount), 0))
            .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
            .join(ledger_accounts, ledger_accounts.c.id == ledger_entries.c.account_id)
            .where(
                ledger_accounts.c.workspace_id == self.workspace_id,
                ledger_accounts.c.kind == "member",
                ledger_accounts.c.owner_id == member_id,
                ledger_transactions.c.kind == "earn",
            )
        ).scalar_one()
        return int(total)

    def _spend(self, conn: Connection, member_id: int, now: datetime) -> int:
        total = conn.execute(
            select(func.coalesce(func.sum(activities.c.amount_minor), 0))
            .join(identities, identities.c.id == activities.c.identity_id)
            .where(
                identities.c.member_id == member_id,
                identities.c.workspace_id == self.workspace_id,
                activities.c.kind == "purchase",
                activities.c.occurred_at > now - SPEND_WINDOW,
                # Membership fees buy the paid tier; counting them again would buy a spend tier too.
                func.coalesce(activities.c.reference_id, "").not_like("membership:%"),
            )
        ).scalar_one()
        return int(total)

    def _paid_until(self, conn: Connection, member_id: int) -> datetime | None:
        latest: datetime | None = conn.execute(
            select(func.max(paid_memberships.c.expires_at)).where(
                paid_memberships.c.workspace_id == self.workspace_id,
                paid_memberships.c.member_id == member_id,
            )
        ).scalar_one_or_none()
        return latest

    def _paid_level(self, conn: Connection, member_id: int, now: datetime) -> str | None:
        plan = conn.execute(
            select(paid_memberships.c.plan)
            .where(
                paid_memberships.c.workspace_id == self.workspace_id,
                paid_memberships.c.member_id == member_id,
                paid_memberships.c.starts_at <= now,
                paid_memberships.c.expires_at > now,
            )
            .order_by(paid_memberships.c.expires_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if plan is None:
            return None
        known = self.plans.get(str(plan))
        return known.level if known else str(plan)
