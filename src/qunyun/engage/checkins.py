"""Daily check-ins (打卡), streaks and streak rewards, make-up cards.

A check-in belongs to the member's local calendar day (the community's
timezone, else the workspace's): one per day, so a replay or a second tap the
same day changes nothing. Each check-in earns the `checkin` points rule; when
the current streak reaches a multiple of a configured length (7 days → 30
points) the streak reward is paid too. Make-up cards (补签卡) fill a missed day
within a window, a limited number per month; they restore the streak but pay
no streak reward themselves (a reward is only for the day it is reached, so a
make-up can never pay the same stretch twice).

Points and the check-in activity commit in the check-in's transaction.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.domain import ActivityKind, Clock
from qunyun.engage import ledger
from qunyun.engage.accounts import Owner
from qunyun.engage.errors import CheckinError
from qunyun.engage.points import Ledger
from qunyun.store.engage_tables import checkins
from qunyun.store.member_activity import MemberActivity, record_member_activity, require_member


@dataclass(frozen=True)
class CheckinPolicy:
    streak_rewards: Mapping[int, int]  # streak length → points, paid at each multiple
    makeup_cards_per_month: int = 0
    makeup_window_days: int = 7


@dataclass(frozen=True)
class Streak:
    current: int  # consecutive days ending today (or yesterday: not broken until today ends)
    longest: int
    total: int
    checked_today: bool


@dataclass(frozen=True)
class CheckinResult:
    day: date
    replayed: bool
    points: int
    streak: Streak
    rewards: list[tuple[int, int]]  # (streak length, points) paid by this check-in


def streak_of(days: list[date], today: date) -> Streak:
    """Streaks from a member's check-in days (any order, no duplicates)."""
    ordered = sorted(days)
    longest = run = 0
    previous: date | None = None
    for day in ordered:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    present = set(ordered)
    cursor = today if today in present else today - timedelta(days=1)
    current = 0
    while cursor in present:
        current += 1
        cursor -= timedelta(days=1)
    return Streak(current, longest, len(ordered), today in present)


class Checkins:
    def __init__(
        self, engine: Engine, workspace_id: int, clock: Clock, points: Ledger, policy: CheckinPolicy
    ):
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock
        self.points = points
        self.policy = policy

    def check_in(
        self,
        member_id: int,
        zone: ZoneInfo,
        *,
        community_id: int | None = None,
        makeup_day: date | None = None,
    ) -> CheckinResult:
        """See `_check_in`; re-run if PostgreSQL aborts it to break a deadlock with another writer."""
        return ledger.retrying(
            lambda: self._check_in(member_id, zone, community_id=community_id, makeup_day=makeup_day)
        )

    def _check_in(
        self,
        member_id: int,
        zone: ZoneInfo,
        *,
        community_id: int | None = None,
        makeup_day: date | None = None,
    ) -> CheckinResult:
        now = self.clock.now()
        today = now.astimezone(zone).date()
        day = makeup_day or today
        self.points.books()  # opened in its own transaction, not inside this one (SQLite: one writer)
        with self.engine.begin() as conn:
            require_member(conn, self.workspace_id, member_id)
            if makeup_day is not None:
                self._check_makeup(conn, member_id, makeup_day, today, zone)
            key = f"checkin:{member_id}:{day.isoformat()}"
            if not self._insert(conn, member_id, day, community_id, now, key, makeup_day is not None):
                return CheckinResult(day, True, 0, self._streak(conn, member_id, today), [])
            earned = self._earn(conn, member_id, "checkin", key, now)
            record_member_activity(
                conn,
                self.workspace_id,
                MemberActivity(member_id, ActivityKind.CHECKIN, now, key, community_id, text=day.isoformat()),
            )
            streak = self._streak(conn, member_id, today)
            rewards = (
                [] if makeup_day is not None else self._streak_rewards(conn, member_id, streak, today, now)
            )
        return CheckinResult(day, False, earned, streak, rewards)

    def streak(self, member_id: int, zone: ZoneInfo) -> Streak:
        with self.engine.connect() as conn:
            return self._streak(conn, member_id, self.clock.now().astimezone(zone).date())

    def _insert(
        self,
        conn: Connection,
        member_id: int,
        day: date,
        community_id: int | None,
        at: datetime,
        key: str,
        makeup: bool,
    ) -> bool:
        insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        inserted = conn.execute(
            insert_fn(checkins)
            .values(
                workspace_id=self.workspace_id,
                member_id=member_id,
                day=day,
                community_id=community_id,
                at=at,
                makeup=makeup,
                idempotency_key=key,
            )
            .on_conflict_do_nothing()
            .returning(checkins.c.day)
        ).scalar_one_or_none()
        return inserted is not None

    def _check_makeup(self, conn: Connection, member_id: int, day: date, today: date, zone: ZoneInfo) -> None:
        if not today - timedelta(days=self.policy.makeup_window_days) <= day < today:
            raise CheckinError(
                f"a make-up check-in must be for one of the last {self.policy.makeup_window_days} days",
                code="checkin.makeup_window",
            )
        month_start = datetime.combine(today.replace(day=1), time(0), tzinfo=zone)
        used = conn.execute(
            select(func.count()).where(
                checkins.c.workspace_id == self.workspace_id,
                checkins.c.member_id == member_id,
                checkins.c.makeup.is_(True),
                checkins.c.at >= month_start,
            )
        ).scalar_one()
        if used >= self.policy.makeup_cards_per_month:
            raise CheckinError(
                f"no make-up cards left this month ({self.policy.makeup_cards_per_month} per month)",
                code="checkin.no_makeup_cards",
            )

    def _streak(self, conn: Connection, member_id: int, today: date) -> Streak:
        days = conn.execute(
            select(checkins.c.day).where(
                checkins.c.workspace_id == self.workspace_id, checkins.c.member_id == member_id
            )
        ).scalars()
        return streak_of(list(days), today)

    def _earn(
        self, conn: Connection, member_id: int, rule: str, key: str, at: datetime, amount: int = 0
    ) -> int:
        points = amount or (self.points.policy.earn or {}).get(rule, 0)
        if points <= 0:
            return 0
        ledger.earn(
            conn,
            self.workspace_id,
            Owner.member(member_id),
            points,
            key=key,
            at=at,
            validity=self.points.policy.validity,
            rule=rule,
            books=self.points.books(),
        )
        return points

    def _streak_rewards(
        self, conn: Connection, member_id: int, streak: Streak, today: date, at: datetime
    ) -> list[tuple[int, int]]:
        paid = []
        for length, points in sorted(self.policy.streak_rewards.items()):
            if streak.current and streak.current % length == 0:
                key = f"streak:{member_id}:{length}:{today.isoformat()}"
                self._earn(conn, member_id, f"streak_{length}", key, at, points)
                paid.append((length, points))
        return paid
