"""Ledger accounts and the lots inside them: find or open, lock, credit, consume.

Locking order (so concurrent writers never deadlock): the transaction row
first, then member/squad accounts in ascending id order, never a system
account. System accounts (`issued`, `redeemed`, `expired`) carry no cached
balance: a row every writer updates would serialise them all; `verify` derives
their balances from the entries.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.store.engage_tables import ledger_accounts, lot_consumptions, point_lots

OwnerKind = Literal["member", "squad", "system"]
POINTS = "points"
ISSUED, REDEEMED, EXPIRED = "issued", "redeemed", "expired"


@dataclass(frozen=True)
class Owner:
    kind: OwnerKind
    id: int

    @staticmethod
    def member(member_id: int) -> "Owner":
        return Owner("member", member_id)

    @staticmethod
    def squad(squad_id: int) -> "Owner":
        return Owner("squad", squad_id)


@dataclass(frozen=True)
class Slice:
    """Part of a lot taken by a spend, transfer or expiry."""

    lot_id: int
    amount: int
    expires_at: datetime | None


def account_id(
    conn: Connection, workspace_id: int, kind: OwnerKind, owner_id: int, name: str, at: datetime
) -> int:
    """The account's id, opening it (balance 0) on first use."""
    key = and_(
        ledger_accounts.c.workspace_id == workspace_id,
        ledger_accounts.c.kind == kind,
        ledger_accounts.c.owner_id == owner_id,
        ledger_accounts.c.name == name,
    )
    found = conn.execute(select(ledger_accounts.c.id).where(key)).scalar_one_or_none()
    if found is not None:
        return int(found)
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert_fn(ledger_accounts)
        .values(workspace_id=workspace_id, kind=kind, owner_id=owner_id, name=name, balance=0, updated_at=at)
        .on_conflict_do_nothing()
    )
    return int(conn.execute(select(ledger_accounts.c.id).where(key)).scalar_one())


def owner_account(conn: Connection, workspace_id: int, owner: Owner, at: datetime) -> int:
    return account_id(conn, workspace_id, owner.kind, owner.id, POINTS, at)


def system_account(conn: Connection, workspace_id: int, name: str, at: datetime) -> int:
    return account_id(conn, workspace_id, "system", 0, name, at)


@dataclass(frozen=True)
class SystemAccounts:
    issued: int
    redeemed: int
    expired: int


def system_accounts(conn: Connection, workspace_id: int, at: datetime) -> SystemAccounts:
    return SystemAccounts(
        system_account(conn, workspace_id, ISSUED, at),
        system_account(conn, workspace_id, REDEEMED, at),
        system_account(conn, workspace_id, EXPIRED, at),
    )


def lock(conn: Connection, *account_ids: int) -> None:
    """Hold the accounts' rows until commit (PostgreSQL); SQLite already holds the write lock."""
    conn.execute(
        select(ledger_accounts.c.id)
        .where(ledger_accounts.c.id.in_(sorted(set(account_ids))))
        .order_by(ledger_accounts.c.id)
        .with_for_update()
    ).all()


def balance_of(conn: Connection, account: int) -> int:
    return int(
        conn.execute(select(ledger_accounts.c.balance).where(ledger_accounts.c.id == account)).scalar_one()
    )


def add_to_balance(conn: Connection, account: int, delta: int, at: datetime) -> bool:
    """Move the cached balance; refuses (False) to take it below zero."""
    condition = ledger_accounts.c.id == account
    if delta < 0:
        condition = and_(condition, ledger_accounts.c.balance >= -delta)
    result = conn.execute(
        update(ledger_accounts)
        .where(condition)
        .values(balance=ledger_accounts.c.balance + delta, updated_at=at)
    )
    return bool(result.rowcount)


def add_lot(
    conn: Connection,
    account: int,
    transaction_id: int,
    amount: int,
    at: datetime,
    expires_at: datetime | None,
) -> None:
    conn.execute(
        insert(point_lots).values(
            account_id=account,
            transaction_id=transaction_id,
            amount=amount,
            remaining=amount,
            earned_at=at,
            expires_at=expires_at,
        )
    )


def take_from_lots(
    conn: Connection, account: int, transaction_id: int, amount: int, at: datetime
) -> list[Slice]:
    """Consume `amount` from the account's live lots, soonest expiry first (FIFO by earning)."""
    # Pages of lots, soonest deadline first: an account that received many transfers holds
    # many small lots, and a spend should read only the few it takes.
    query = (
        select(point_lots.c.id, point_lots.c.remaining, point_lots.c.expires_at)
        .where(
            point_lots.c.account_id == account,
            point_lots.c.remaining > 0,
            or_(point_lots.c.expires_at.is_(None), point_lots.c.expires_at > at),
        )
        # Lots that never expire go last; among the rest the oldest deadline first.
        .order_by(
            point_lots.c.expires_at.is_(None),
            point_lots.c.expires_at,
            point_lots.c.earned_at,
            point_lots.c.id,
        )
    )
    taken: list[Slice] = []
    left, offset, page = amount, 0, 8
    while left:
        lots = conn.execute(query.offset(offset).limit(page)).all()
        if not lots:
            # The caller checked the cached balance; lots disagreeing with it is corruption.
            raise RuntimeError(f"ledger account {account}: lots hold {amount - left} of {amount} points")
        for lot in lots:
            share = min(left, int(lot.remaining))
            taken.append(Slice(int(lot.id), share, lot.expires_at))
            left -= share
            if not left:
                break
        offset, page = offset + page, page * 4
    for part in taken:
        conn.execute(
            update(point_lots)
            .where(point_lots.c.id == part.lot_id)
            .values(remaining=point_lots.c.remaining - part.amount)
        )
        conn.execute(
            insert(lot_consumptions).values(
                transaction_id=transaction_id, lot_id=part.lot_id, amount=part.amount, refunded=0
            )
        )
    return taken
