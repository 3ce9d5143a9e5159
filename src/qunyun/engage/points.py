"""`Ledger`: the points ledger for one workspace, each call its own transaction.

The posting functions live in `ledger.py` (they also run inside other actions'
transactions); this facade adds the clock, the configured validity and earn
rules, retries on PostgreSQL deadlock/serialisation aborts, expiry runs and
the reads (balance, lots, history).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, select

from qunyun.domain import Clock
from qunyun.engage import accounts as acc
from qunyun.engage import ledger
from qunyun.engage.accounts import Owner, SystemAccounts
from qunyun.engage.errors import EngageError
from qunyun.engage.ledger import Posted
from qunyun.store.engage_tables import ledger_accounts, ledger_entries, ledger_transactions, point_lots


@dataclass(frozen=True)
class PointsPolicy:
    """How points are earned and how long they last (qunyun.toml `[points]`)."""

    validity_days: int | None = 365
    earn: Mapping[str, int] | None = None

    @property
    def validity(self) -> timedelta | None:
        return timedelta(days=self.validity_days) if self.validity_days else None

    def amount_for(self, rule: str) -> int:
        amount = (self.earn or {}).get(rule)
        if amount is None:
            known = ", ".join(sorted(self.earn or {})) or "none configured"
            raise EngageError(f"no earn rule {rule!r} (rules: {known})", code="points.unknown_rule")
        return amount


@dataclass(frozen=True)
class Lot:
    amount: int
    remaining: int
    earned_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str
    change: int
    key: str
    rule: str | None
    detail: dict[str, Any]


class Ledger:
    def __init__(self, engine: Engine, workspace_id: int, clock: Clock, policy: PointsPolicy | None = None):
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock
        self.policy = policy or PointsPolicy()
        self._system: SystemAccounts | None = None

    def books(self) -> SystemAccounts:
        """The system accounts, opened once (committed) so postings need not look them up."""
        if self._system is None:
            with self.engine.begin() as conn:
                self._system = acc.system_accounts(conn, self.workspace_id, self.clock.now())
        return self._system

    def earn(
        self,
        member_id: int,
        amount: int,
        *,
        key: str,
        rule: str | None = None,
        owner: Owner | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Posted:
        target = owner or Owner.member(member_id)

        def run() -> Posted:
            with self.engine.begin() as conn:
                return ledger.earn(
                    conn,
                    self.workspace_id,
                    target,
                    amount,
                    key=key,
                    at=self.clock.now(),
                    validity=self.policy.validity,
                    rule=rule,
                    detail=detail,
                    books=self.books(),
                )

        return ledger.retrying(run)

    def earn_rule(self, member_id: int, rule: str, *, key: str) -> Posted:
        """Award the configured amount of an earn rule (e.g. 'checkin', 'invite')."""
        return self.earn(member_id, self.policy.amount_for(rule), key=key, rule=rule)

    def spend(self, member_id: int, amount: int, *, key: str, reason: str | None = None) -> Posted:
        def run() -> Posted:
            with self.engine.begin() as conn:
                return ledger.spend(
                    conn,
                    self.workspace_id,
                    member_id,
                    amount,
                    key=key,
                    at=self.clock.now(),
                    reason=reason,
                    books=self.books(),
                )

        return ledger.retrying(run)

    def refund(self, spend_key: str, *, key: str, amount: int | None = None) -> Posted:
        def run() -> Posted:
            with self.engine.begin() as conn:
                return ledger.refund(
                    conn,
                    self.workspace_id,
                    spend_key,
                    key=key,
                    at=self.clock.now(),
                    amount=amount,
                    books=self.books(),
                )

        return ledger.retrying(run)

    def transfer(self, from_member: int, to_member: int, amount: int, *, key: str) -> Posted:
        def run() -> Posted:
            with self.engine.begin() as conn:
                return ledger.transfer(
                    conn,
                    self.workspace_id,
                    from_member,
                    to_member,
                    amount,
                    key=key,
                    at=self.clock.now(),
                    books=self.books(),
                )

        return ledger.retrying(run)

    def expire_due(self) -> int:
        """Expire every lot due by now, one account per transaction; returns points expired."""
        now = self.clock.now()
        with self.engine.connect() as conn:
            due = (
                conn.execute(
                    select(point_lots.c.account_id)
                    .join(ledger_accounts, ledger_accounts.c.id == point_lots.c.account_id)
                    .where(
                        ledger_accounts.c.workspace_id == self.workspace_id,
                        point_lots.c.remaining > 0,
                        point_lots.c.expires_at <= now,
                    )
                    .distinct()
                )
                .scalars()
                .all()
            )
        total = 0
        for account in sorted(due):

            def run(account: int = account) -> int:
                with self.engine.begin() as conn:
                    acc.lock(conn, account)
                    return ledger.expire_account(conn, self.workspace_id, account, now, self.books())

            total += ledger.retrying(run)
        return total

    def balance(self, owner: Owner | int) -> int:
        """Points usable now (lots past their expiry excluded even before an expiry run)."""
        return sum(
            lot.remaining
            for lot in self.lots(owner)
            if lot.expires_at is None or lot.expires_at > self.clock.now()
        )

    def lots(self, owner: Owner | int) -> list[Lot]:
        who = owner if isinstance(owner, Owner) else Owner.member(owner)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    point_lots.c.amount,
                    point_lots.c.remaining,
                    point_lots.c.earned_at,
                    point_lots.c.expires_at,
                )
                .join(ledger_accounts, ledger_accounts.c.id == point_lots.c.account_id)
                .where(*self._owner(who), point_lots.c.remaining > 0)
                .order_by(point_lots.c.expires_at, point_lots.c.id)
            ).all()
        return [Lot(int(r.amount), int(r.remaining), r.earned_at, r.expires_at) for r in rows]

    def history(self, member_id: int, limit: int = 50) -> list[HistoryLine]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ledger_transactions.c.created_at,
                    ledger_transactions.c.kind,
                    ledger_entries.c.amount,
                    ledger_transactions.c.idempotency_key,
                    ledger_transactions.c.rule,
                    ledger_transactions.c.detail,
                )
                .join(ledger_entries, ledger_entries.c.transaction_id == ledger_transactions.c.id)
                .join(ledger_accounts, ledger_accounts.c.id == ledger_entries.c.account_id)
                .where(*self._owner(Owner.member(member_id)))
                .order_by(ledger_transactions.c.id.desc())
                .limit(limit)
            ).all()
        return [HistoryLine(r[0], r[1], int(r[2]), r[3], r[4], dict(r[5])) for r in rows]

    def totals(self) -> dict[str, int]:
        """Points per system account (issued is negative) and held by members and squads."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ledger_accounts.c.kind,
                    ledger_accounts.c.name,
                    func.coalesce(func.sum(ledger_entries.c.amount), 0),
                )
                .join(ledger_entries, ledger_entries.c.account_id == ledger_accounts.c.id)
                .where(ledger_accounts.c.workspace_id == self.workspace_id)
                .group_by(ledger_accounts.c.kind, ledger_accounts.c.name)
            ).all()
        return {(name if kind == "system" else f"held_by_{kind}s"): int(total) for kind, name, total in rows}

    def _owner(self, owner: Owner) -> tuple[Any, ...]:
        return (
            and_(
                ledger_accounts.c.workspace_id == self.workspace_id,
                ledger_accounts.c.kind == owner.kind,
                ledger_accounts.c.owner_id == owner.id,
                ledger_accounts.c.name == acc.POINTS,
            ),
        )
