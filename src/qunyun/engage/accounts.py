"""Ledger accounts and the lots inside them: find or open, lock, credit, consume.

Locking order (so concurrent writers of the ledger never deadlock): the
accounts are looked up (no locks; a member's account is opened on first use,
only if the member exists), then the transaction row is inserted, then
member/squad accounts are locked in ascending id order, never a system
account. A check-in or referral that posts for two members in one
transaction can still meet a transfer the other way round; PostgreSQL breaks
that and the action is retried. System accounts (`issued`, `redeemed`, `expired`) carry no cached
balance: a row every writer updates would serialise them all; `verify` derives
their balances from the entries.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.store.engage_tables import ledger_accounts, lot_consumptions, point_lots
from qunyun.store.member_activity import require_member

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
    """The account's id, opening it (balance 0) on first use; a member's only if the member exists."""
    key = and_(
        ledger_accounts.c.workspace_id == workspace_id,
        ledger_accounts.c.kind == kind,
        ledger_accounts.c.owner_id == owner_id,
        ledger_accounts.c.name == name,
    )
    found = conn.execute(select(ledger_accounts.c.id).where(key)).scalar_one_or_none()
    if found is not None:
        return int(found)
    if kind == "member":
        require_member(conn, workspace_id, owner_id)
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


def credit_lot(
    conn: Connection,
    account: int,
    transaction_id: int,
    amount: int,
    at: datetime,
    expires_at: datetime | None,
) -> None:
    """Add points expiring at `expires_at` to the account's live lot with that date, or a new lot.

    Growing a lot's amount and remaining together keeps what was taken from it unchanged, so
    `verify` still adds up; the transfer's entries record where the points came from.
    """
    same = point_lots.c.expires_at.is_(None) if expires_at is None else point_lots.c.expires_at == expires_at
    lot = conn.execute(
        select(point_lots.c.id)
        .where(point_lots.c.account_id == account, point_lots.c.remaining > 0, same)
        .order_by(point_lots.c.id)
        .limit(1)
    ).scalar_one_or_none()
    if lot is None:
        add_lot(conn, account, transaction_id, amount, at, expires_at)
        return
    conn.execute(
        update(point_lots)
        .where(point_lots.c.id == lot)
        .values(amount=point_lots.c.amount + amount, remaining=point_lots.c.remaining + amount)
    )


def take_from_lots(
    conn: Connection, account: int, transaction_id: int, amount: int, at: datetime
) -> list[Slice]:
    """Consume `amount` from the account's live lots, soonest expiry first (FIFO by earning)."""
    # Pages of live lots, soonest deadline first, then those that never expire: each query walks
    # the partial index of lots with points left, so only the few lots taken are read.
    live = select(point_lots.c.id, point_lots.c.remaining, point_lots.c.expires_at).where(
        point_lots.c.account_id == account, point_lots.c.remaining > 0
    )
    phases = (
        live.where(point_lots.c.expires_at > at).order_by(point_lots.c.expires_at, point_lots.c.id),
        live.where(point_lots.c.expires_at.is_(None)).order_by(point_lots.c.id),
    )
    taken: list[Slice] = []
    left = amount
    for query in phases:
        offset, page = 0, 8
        while left:
            lots = conn.execute(query.offset(offset).limit(page)).all()
            for lot in lots:
                share = min(left, int(lot.remaining))
                taken.append(Slice(int(lot.id), share, lot.expires_at))
                left -= share
                if not left:
                    break
            if len(lots) < page:
                break
            offset, page = offset + page, page * 4
    if left:
        # The caller checked the cached balance; lots disagreeing with it is corruption.
        raise RuntimeError(f"ledger account {account}: lots hold {amount - left} of {amount} points")
    # One statement each for all slices (executemany): fewer round trips per spend.
    conn.execute(
        update(point_lots)
        .where(point_lots.c.id == bindparam("lot"))
        .values(remaining=point_lots.c.remaining - bindparam("take")),
        [{"lot": part.lot_id, "take": part.amount} for part in taken],
    )
    conn.execute(
        insert(lot_consumptions),
        [
            {"transaction_id": transaction_id, "lot_id": p.lot_id, "amount": p.amount, "refunded": 0}
            for p in taken
        ],
    )
    return taken
