"""The points ledger: append-only, double-entry, exactly once per idempotency key.

Every posting is a transaction row plus entries that sum to zero:

    earn      issued −n   → member +n   (a new lot, expiring `validity_days` later)
    spend     member −n   → redeemed +n (lots consumed soonest-expiry first)
    refund    redeemed −n → member +n   (back into the lots the spend took;
                                         parts whose lot has expired go to `expired`)
    expire    member −r   → expired +r  (one transaction per lot, when it expires)
    transfer  member A −n → member B +n (B's new lots keep A's expiry dates)

The transaction row goes in before anything moves, with the key: a replay finds it and
returns the first result; the same key for a different request raises
`IdempotencyConflictError`. A member's balance never goes below zero: the
cached balance moves by a conditional UPDATE (and a CHECK backs it). Functions
taking a `Connection` run inside the caller's transaction, so a check-in, a
coupon or a referral commits together with its points; `Ledger` wraps each in
its own transaction.

    >>> ledger = Ledger(engine, workspace_id, clock)
    >>> ledger.earn(Owner.member(42), 10, key="checkin:42:2026-11-24", rule="checkin")
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from qunyun.domain import IdempotencyConflictError
from qunyun.engage import accounts as acc
from qunyun.engage.accounts import Owner, SystemAccounts
from qunyun.engage.errors import InsufficientPointsError, InvalidAmountError, RefundError
from qunyun.store.engage_tables import ledger_entries, ledger_transactions, lot_consumptions, point_lots

T = TypeVar("T")


@dataclass(frozen=True)
class Posted:
    transaction_id: int
    kind: str
    amount: int
    replayed: bool = False  # True when the key had already been applied
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Request:
    kind: str
    key: str
    amount: int
    at: datetime
    member_id: int | None = None
    rule: str | None = None
    refers_to: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        body = {"kind": self.kind, "amount": self.amount, "member": self.member_id, "rule": self.rule}
        body |= {"refers_to": self.refers_to, "detail": self.detail}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidAmountError(amount)


def _open(conn: Connection, workspace_id: int, request: _Request) -> tuple[int, Posted | None]:
    """Insert the transaction row; (id, None) if new, (id, first result) if the key was applied."""
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    fingerprint = request.fingerprint()
    new_id = conn.execute(
        insert_fn(ledger_transactions)
        .values(
            workspace_id=workspace_id,
            idempotency_key=request.key,
            kind=request.kind,
            fingerprint=fingerprint,
            member_id=request.member_id,
            amount=request.amount,
            rule=request.rule,
            refers_to=request.refers_to,
            detail=request.detail,
            created_at=request.at,
        )
        .on_conflict_do_nothing()
        .returning(ledger_transactions.c.id)
    ).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), None
    row = conn.execute(
        select(ledger_transactions).where(
            ledger_transactions.c.workspace_id == workspace_id,
            ledger_transactions.c.idempotency_key == request.key,
        )
    ).one()
    if row.fingerprint != fingerprint:
        raise IdempotencyConflictError(request.key)
    return int(row.id), Posted(int(row.id), row.kind, int(row.amount), True, dict(row.detail))


def _entries(conn: Connection, transaction_id: int, moves: list[tuple[int, int]]) -> None:
    assert sum(amount for _, amount in moves) == 0, moves
    conn.execute(
        insert(ledger_entries),
        [{"transaction_id": transaction_id, "account_id": a, "amount": n} for a, n in moves if n],
    )


def earn(
    conn: Connection,
    workspace_id: int,
    owner: Owner,
    amount: int,
    *,
    key: str,
    at: datetime,
    validity: timedelta | None,
    rule: str | None = None,
    detail: dict[str, Any] | None = None,
    books: SystemAccounts | None = None,
) -> Posted:
    """Credit `amount` points to a member or squad as a new lot."""
    _check_amount(amount)
    member_id = owner.id if owner.kind == "member" else None
    extra = {"owner": f"{owner.kind}:{owner.id}", **(detail or {})}
    account = acc.owner_account(conn, workspace_id, owner, at)  # refuses an unknown member
    txn, replay = _open(conn, workspace_id, _Request("earn", key, amount, at, member_id, rule, None, extra))
    if replay:
        return replay
    books = books or acc.system_accounts(conn, workspace_id, at)
    acc.add_to_balance(conn, account, amount, at)  # the UPDATE holds the row until commit
    acc.add_lot(conn, account, txn, amount, at, at + validity if validity else None)
    _entries(conn, txn, [(books.issued, -amount), (account, amount)])
    return Posted(txn, "earn", amount, False, extra)


def spend(
    conn: Connection,
    workspace_id: int,
    member_id: int,
    amount: int,
    *,
    key: str,
    at: datetime,
    reason: str | None = None,
    books: SystemAccounts | None = None,
) -> Posted:
    """Take points from a member; `InsufficientPointsError` (and nothing written) if short."""
    _check_amount(amount)
    detail = {"reason": reason} if reason else {}
    account = acc.owner_account(conn, workspace_id, Owner.member(member_id), at)
    txn, replay = _open(conn, workspace_id, _Request("spend", key, amount, at, member_id, None, None, detail))
    if replay:
        return replay
    books = books or acc.system_accounts(conn, workspace_id, at)
    acc.lock(conn, account)
    expire_account(conn, workspace_id, account, at, books)
    if not acc.add_to_balance(conn, account, -amount, at):
        raise InsufficientPointsError(member_id, amount, acc.balance_of(conn, account))
    acc.take_from_lots(conn, account, txn, amount, at)
    _entries(conn, txn, [(account, -amount), (books.redeemed, amount)])
    return Posted(txn, "spend", amount, False, detail)


def refund(
    conn: Connection,
    workspace_id: int,
    spend_key: str,
    *,
    key: str,
    at: datetime,
    amount: int | None = None,
    books: SystemAccounts | None = None,
) -> Posted:
    """Return all (or `amount` of) a spend's points to the lots they came from."""
    spent = conn.execute(
        select(ledger_transactions).where(
            ledger_transactions.c.workspace_id == workspace_id,
            ledger_transactions.c.idempotency_key == spend_key,
        )
    ).one_or_none()
    if spent is None or spent.kind != "spend":
        raise RefundError(f"no spend with key {spend_key!r} to refund", code="points.refund_unknown")
    wanted = amount if amount is not None else -1
    request = _Request(
        "refund", key, wanted, at, spent.member_id, None, int(spent.id), {"spend_key": spend_key}
    )
    txn, replay = _open(conn, workspace_id, request)
    if replay:
        return replay
    account = acc.owner_account(conn, workspace_id, Owner.member(int(spent.member_id)), at)
    acc.lock(conn, account)
    restored, lapsed = _restore(conn, int(spent.id), txn, amount, at)
    total = restored + lapsed
    books = books or acc.system_accounts(conn, workspace_id, at)
    acc.add_to_balance(conn, account, restored, at)
    _entries(conn, txn, [(books.redeemed, -total), (account, restored), (books.expired, lapsed)])
    detail = {"spend_key": spend_key, "restored": restored, "lapsed": lapsed}
    conn.execute(
        update(ledger_transactions).where(ledger_transactions.c.id == txn).values(amount=total, detail=detail)
    )
    return Posted(txn, "refund", total, False, detail)


def _restore(conn: Connection, spend_id: int, txn: int, amount: int | None, at: datetime) -> tuple[int, int]:
    """Give back consumed slices, latest expiry first; (points restored to live lots, to expired ones)."""
    parts = conn.execute(
        select(
            lot_consumptions.c.id,
            lot_consumptions.c.lot_id,
            lot_consumptions.c.amount,
            lot_consumptions.c.refunded,
            point_lots.c.expires_at,
        )
        .join(point_lots, point_lots.c.id == lot_consumptions.c.lot_id)
        .where(lot_consumptions.c.transaction_id == spend_id)
        .order_by(
            point_lots.c.expires_at.is_(None).desc(), point_lots.c.expires_at.desc(), lot_consumptions.c.id
        )
    ).all()
    refundable = sum(int(p.amount) - int(p.refunded) for p in parts)
    left = refundable if amount is None else amount
    if amount is not None:
        _check_amount(amount)
    if left > refundable or refundable == 0:
        raise RefundError(
            f"only {refundable} points of this spend can be refunded", code="points.refund_too_large"
        )
    restored = lapsed = 0
    for part in parts:
        give = min(left, int(part.amount) - int(part.refunded))
        if give <= 0:
            continue
        left -= give
        conn.execute(
            update(lot_consumptions)
            .where(lot_consumptions.c.id == part.id)
            .values(refunded=lot_consumptions.c.refunded + give)
        )
        if part.expires_at is not None and part.expires_at <= at:
            # The lot has expired meanwhile: these points would be gone anyway. The refund
            # takes them from the lot again, as an expiry would, so the lot still adds up.
            lapsed += give
            conn.execute(
                insert(lot_consumptions).values(
                    transaction_id=txn, lot_id=part.lot_id, amount=give, refunded=0
                )
            )
            continue
        conn.execute(
            update(point_lots)
            .where(point_lots.c.id == part.lot_id)
            .values(remaining=point_lots.c.remaining + give)
        )
        restored += give
    return restored, lapsed


def transfer(
    conn: Connection,
    workspace_id: int,
    from_member: int,
    to_member: int,
    amount: int,
    *,
    key: str,
    at: datetime,
    books: SystemAccounts | None = None,
) -> Posted:
    """Move points between members; they keep their expiry dates."""
    _check_amount(amount)
    detail = {"to": to_member}
    source = acc.owner_account(conn, workspace_id, Owner.member(from_member), at)
    target = acc.owner_account(conn, workspace_id, Owner.member(to_member), at)
    txn, replay = _open(
        conn, workspace_id, _Request("transfer", key, amount, at, from_member, None, None, detail)
    )
    if replay:
        return replay
    acc.lock(conn, source, target)
    expire_account(conn, workspace_id, source, at, books)
    if not acc.add_to_balance(conn, source, -amount, at):
        raise InsufficientPointsError(from_member, amount, acc.balance_of(conn, source))
    # The receiver's points keep their expiry dates; all that expire together go into one lot
    # (the receiver's live lot with that date, if any), so transfers do not shred accounts into
    # ever smaller lots.
    arriving: dict[datetime | None, int] = {}
    for part in acc.take_from_lots(conn, source, txn, amount, at):
        arriving[part.expires_at] = arriving.get(part.expires_at, 0) + part.amount
    for expires_at, points in arriving.items():
        acc.credit_lot(conn, target, txn, points, at, expires_at)
    acc.add_to_balance(conn, target, amount, at)
    _entries(conn, txn, [(source, -amount), (target, amount)])
    return Posted(txn, "transfer", amount, False, detail)


def expire_account(
    conn: Connection, workspace_id: int, account: int, at: datetime, books: SystemAccounts | None = None
) -> int:
    """Expire the account's lots due by `at` (the account must be locked); returns points expired."""
    due = conn.execute(
        select(point_lots.c.id, point_lots.c.remaining)
        .where(
            point_lots.c.account_id == account,
            point_lots.c.remaining > 0,
            point_lots.c.expires_at <= at,
        )
        .order_by(point_lots.c.id)
    ).all()
    total = 0
    for lot in due:
        remaining = int(lot.remaining)
        request = _Request("expire", f"expire:lot:{lot.id}", remaining, at, None, None, None, {"lot": lot.id})
        txn, replay = _open(conn, workspace_id, request)
        if replay:
            continue  # expired before; refunds never revive an expired lot
        books = books or acc.system_accounts(conn, workspace_id, at)
        conn.execute(update(point_lots).where(point_lots.c.id == lot.id).values(remaining=0))
        conn.execute(
            insert(lot_consumptions).values(transaction_id=txn, lot_id=lot.id, amount=remaining, refunded=0)
        )
        acc.add_to_balance(conn, account, -remaining, at)
        _entries(conn, txn, [(account, -remaining), (books.expired, remaining)])
        total += remaining
    return total


def retrying(operation: Callable[[], T], attempts: int = 5) -> T:
    """Re-run a transaction PostgreSQL aborted to break a deadlock or serialisation conflict."""
    for attempt in range(attempts):
        try:
            return operation()
        except OperationalError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in ("40P01", "40001") or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
