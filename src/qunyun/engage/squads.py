"""Squads (小组) of 5-10 members with a leader, and squad points (KOC programme).

A member belongs to at most one squad per workspace. Squad points live in the
squad's own ledger account (earned by the squad as a whole, e.g. a weekly
challenge); the squad's standing for a period adds what its members earned
then, so individual effort lifts the squad too.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from qunyun.domain import Clock
from qunyun.engage.errors import EngageError
from qunyun.store.engage_tables import (
    ledger_accounts,
    ledger_entries,
    ledger_transactions,
    squad_members,
    squads,
)
from qunyun.store.member_activity import require_member


@dataclass(frozen=True)
class SquadStanding:
    squad_id: int
    name: str
    leader_id: int | None
    members: int
    squad_points: int  # earned by the squad itself
    member_points: int  # earned by its members in the period
    total: int


class Squads:
    def __init__(self, engine: Engine, workspace_id: int, clock: Clock, max_size: int = 10) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock
        self.max_size = max_size

    def create(self, name: str, *, leader_id: int | None = None, community_id: int | None = None) -> int:
        """The squad's id (the same name again returns it); the leader joins it."""
        with self.engine.begin() as conn:
            found = conn.execute(
                select(squads.c.id).where(squads.c.workspace_id == self.workspace_id, squads.c.name == name)
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
            if leader_id is not None:
                require_member(conn, self.workspace_id, leader_id)
            result = conn.execute(
                insert(squads).values(
                    workspace_id=self.workspace_id,
                    community_id=community_id,
                    name=name,
                    leader_id=leader_id,
                    created_at=self.clock.now(),
                )
            )
            assert result.inserted_primary_key is not None
            squad_id = int(result.inserted_primary_key[0])
        if leader_id is not None:
            self.add(squad_id, leader_id)
        return squad_id

    def add(self, squad_id: int, member_id: int) -> None:
        with self.engine.begin() as conn:
            require_member(conn, self.workspace_id, member_id)
            size = conn.execute(select(func.count()).where(squad_members.c.squad_id == squad_id)).scalar_one()
            current = conn.execute(
                select(squad_members.c.squad_id).where(
                    squad_members.c.workspace_id == self.workspace_id, squad_members.c.member_id == member_id
                )
            ).scalar_one_or_none()
            if current == squad_id:
                return
            if current is not None:
                raise EngageError(f"member {member_id} is already in squad {current}", code="squad.taken")
            if size >= self.max_size:
                raise EngageError(f"squad {squad_id} is full ({self.max_size})", code="squad.full")
            try:
                conn.execute(
                    insert(squad_members).values(
                        workspace_id=self.workspace_id,
                        member_id=member_id,
                        squad_id=squad_id,
                        joined_at=self.clock.now(),
                    )
                )
            except IntegrityError as exc:  # a concurrent add of the same member
                raise EngageError(f"member {member_id} is already in a squad", code="squad.taken") from exc

    def remove(self, member_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(squad_members).where(
                    squad_members.c.workspace_id == self.workspace_id, squad_members.c.member_id == member_id
                )
            )

    def standings(self, start: datetime, end: datetime) -> list[SquadStanding]:
        earned = (
            select(
                ledger_accounts.c.kind,
                ledger_accounts.c.owner_id,
                func.sum(ledger_entries.c.amount).label("n"),
            )
            .join(ledger_entries, ledger_entries.c.account_id == ledger_accounts.c.id)
            .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
            .where(
                ledger_accounts.c.workspace_id == self.workspace_id,
                ledger_transactions.c.kind == "earn",
                ledger_transactions.c.created_at >= start,
                ledger_transactions.c.created_at < end,
            )
            .group_by(ledger_accounts.c.kind, ledger_accounts.c.owner_id)
        )
        with self.engine.connect() as conn:
            points = {(kind, int(owner)): int(n) for kind, owner, n in conn.execute(earned)}
            rows = conn.execute(
                select(squads.c.id, squads.c.name, squads.c.leader_id, squad_members.c.member_id)
                .outerjoin(squad_members, squad_members.c.squad_id == squads.c.id)
                .where(squads.c.workspace_id == self.workspace_id)
            ).all()
        by_squad: dict[int, tuple[str, int | None, list[int]]] = {}
        for squad_id, name, leader, member in rows:
            entry = by_squad.setdefault(int(squad_id), (name, leader, []))
            if member is not None:
                entry[2].append(int(member))
        out = []
        for squad_id, (name, leader, member_ids) in by_squad.items():
            own = points.get(("squad", squad_id), 0)
            theirs = sum(points.get(("member", m), 0) for m in member_ids)
            out.append(SquadStanding(squad_id, name, leader, len(member_ids), own, theirs, own + theirs))
        return sorted(out, key=lambda s: (-s.total, s.squad_id))
