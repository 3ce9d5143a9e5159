"""`qunyun ledger verify`: prove the cached balances from the append-only entries.

Checks, per workspace:
  - every transaction's entries sum to zero (double entry);
  - every member/squad account: cached balance = sum of its entries = points
    left in its lots, and never below zero;
  - every lot: amount − remaining = what spends, transfers and expiries took
    from it minus what refunds gave back.
`fix=True` rewrites cached balances from the entries (the entries are the
truth); the other problems need a person and are only reported.
"""

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select, update

from qunyun.store.engage_tables import (
    ledger_accounts,
    ledger_entries,
    ledger_transactions,
    lot_consumptions,
    point_lots,
)


@dataclass
class VerifyReport:
    transactions: int = 0
    accounts: int = 0
    lots: int = 0
    points_held: int = 0
    problems: list[str] = field(default_factory=list)
    fixed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "transactions": self.transactions,
            "accounts": self.accounts,
            "lots": self.lots,
            "points_held": self.points_held,
            "problems": self.problems,
            "fixed": self.fixed,
        }


def verify_ledger(engine: Engine, workspace_id: int, *, fix: bool = False) -> VerifyReport:
    report = VerifyReport()
    with engine.begin() as conn:
        _unbalanced(conn, workspace_id, report)
        _balances(conn, workspace_id, report, fix)
        _lots(conn, workspace_id, report)
    return report


def _unbalanced(conn: Connection, workspace_id: int, report: VerifyReport) -> None:
    sums = (
        select(
            ledger_transactions.c.idempotency_key,
            func.coalesce(func.sum(ledger_entries.c.amount), 0).label("net"),
        )
        .select_from(ledger_transactions)
        .outerjoin(ledger_entries, ledger_entries.c.transaction_id == ledger_transactions.c.id)
        .where(ledger_transactions.c.workspace_id == workspace_id)
        .group_by(ledger_transactions.c.id, ledger_transactions.c.idempotency_key)
        .subquery()
    )
    report.transactions = int(conn.execute(select(func.count()).select_from(sums)).scalar_one())
    for key, net in conn.execute(select(sums.c.idempotency_key, sums.c.net).where(sums.c.net != 0).limit(20)):
        report.problems.append(f"transaction {key!r}: entries sum to {net}, not 0")


def _balances(conn: Connection, workspace_id: int, report: VerifyReport, fix: bool) -> None:
    entry_sums = (
        select(ledger_entries.c.account_id, func.sum(ledger_entries.c.amount).label("total"))
        .group_by(ledger_entries.c.account_id)
        .subquery()
    )
    lot_sums = (
        select(point_lots.c.account_id, func.sum(point_lots.c.remaining).label("total"))
        .group_by(point_lots.c.account_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            ledger_accounts.c.id,
            ledger_accounts.c.kind,
            ledger_accounts.c.owner_id,
            ledger_accounts.c.balance,
            func.coalesce(entry_sums.c.total, 0),
            func.coalesce(lot_sums.c.total, 0),
        )
        .outerjoin(entry_sums, entry_sums.c.account_id == ledger_accounts.c.id)
        .outerjoin(lot_sums, lot_sums.c.account_id == ledger_accounts.c.id)
        .where(ledger_accounts.c.workspace_id == workspace_id, ledger_accounts.c.kind != "system")
    ).all()
    report.accounts = len(rows)
    for account, kind, owner, cached, from_entries, in_lots in rows:
        report.points_held += int(from_entries)
        name = f"{kind} {owner}"
        if from_entries < 0:
            report.problems.append(f"{name}: entries sum to {from_entries}, below zero")
        if in_lots != from_entries:
            report.problems.append(f"{name}: lots hold {in_lots}, entries say {from_entries}")
        if cached != from_entries:
            if fix:
                conn.execute(
                    update(ledger_accounts)
                    .where(ledger_accounts.c.id == account)
                    .values(balance=from_entries)
                )
                report.fixed += 1
            else:
                report.problems.append(f"{name}: cached balance {cached}, entries say {from_entries}")


def _lots(conn: Connection, workspace_id: int, report: VerifyReport) -> None:
    taken = (
        select(
            lot_consumptions.c.lot_id,
            func.sum(lot_consumptions.c.amount - lot_consumptions.c.refunded).label("net"),
        )
        .group_by(lot_consumptions.c.lot_id)
        .subquery()
    )
    rows = conn.execute(
        select(point_lots.c.id, point_lots.c.amount, point_lots.c.remaining, func.coalesce(taken.c.net, 0))
        .join(ledger_accounts, ledger_accounts.c.id == point_lots.c.account_id)
        .outerjoin(taken, taken.c.lot_id == point_lots.c.id)
        .where(ledger_accounts.c.workspace_id == workspace_id)
    ).all()
    report.lots = len(rows)
    for lot, amount, remaining, net in rows:
        if amount - remaining != net:
            report.problems.append(f"lot {lot}: {amount - remaining} points gone, consumptions say {net}")
