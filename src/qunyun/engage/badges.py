"""Badges and titles (社群之星, 优秀创作者 …): awarded once per member, badge and period."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.domain import Clock
from qunyun.engage import ledger
from qunyun.engage.accounts import Owner
from qunyun.engage.leaderboard import Standing
from qunyun.engage.points import Ledger
from qunyun.store.engage_tables import badges
from qunyun.store.member_activity import require_member


@dataclass(frozen=True)
class Badge:
    member_id: int
    badge: str
    period: str
    awarded_at: datetime
    detail: dict[str, Any]


class Badges:
    def __init__(self, engine: Engine, workspace_id: int, clock: Clock, points: Ledger) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock
        self.points = points

    def award(
        self,
        member_id: int,
        badge: str,
        *,
        period: str = "",
        detail: dict[str, Any] | None = None,
        points: int = 0,
    ) -> bool:
        """See `_award`; re-run if PostgreSQL aborts it to break a deadlock with another writer."""
        return ledger.retrying(
            lambda: self._award(member_id, badge, period=period, detail=detail, points=points)
        )

    def _award(
        self,
        member_id: int,
        badge: str,
        *,
        period: str = "",
        detail: dict[str, Any] | None = None,
        points: int = 0,
    ) -> bool:
        """Give the badge (and its points) unless the member already has it for the period."""
        self.points.books()
        now = self.clock.now()
        with self.engine.begin() as conn:
            require_member(conn, self.workspace_id, member_id)
            insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            added = conn.execute(
                insert_fn(badges)
                .values(
                    workspace_id=self.workspace_id,
                    member_id=member_id,
                    badge=badge,
                    period=period,
                    awarded_at=now,
                    detail=detail or {},
                )
                .on_conflict_do_nothing()
                .returning(badges.c.id)
            ).scalar_one_or_none()
            if added is not None and points > 0:
                ledger.earn(
                    conn,
                    self.workspace_id,
                    Owner.member(member_id),
                    points,
                    key=f"badge:{badge}:{period}:{member_id}",
                    at=now,
                    validity=self.points.policy.validity,
                    rule="badge",
                    books=self.points.books(),
                )
        return added is not None

    def crown(
        self, standings: list[Standing], badge: str, period: str, *, count: int, points: int
    ) -> list[int]:
        """Award the badge to the top `count` of a leaderboard; returns who got it now."""
        crowned = []
        for standing in standings[:count]:
            detail = {"rank": standing.rank, "score": standing.score}
            if self.award(standing.member_id, badge, period=period, detail=detail, points=points):
                crowned.append(standing.member_id)
        return crowned

    def of_member(self, member_id: int) -> list[Badge]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    badges.c.member_id, badges.c.badge, badges.c.period, badges.c.awarded_at, badges.c.detail
                )
                .where(badges.c.workspace_id == self.workspace_id, badges.c.member_id == member_id)
                .order_by(badges.c.awarded_at.desc())
            ).all()
        return [Badge(int(r[0]), r[1], r[2], r[3], dict(r[4])) for r in rows]
