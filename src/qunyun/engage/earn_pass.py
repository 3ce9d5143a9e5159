"""Points for what members do, from the activity table: run by `qunyun refresh`.

Two earn rules are paid from activities rather than by an action of ours:
`first_message` (once per member, their first message or reply) and
`survey_answer` (each survey answer or poll vote). The pass reads the
activities of the kinds an enabled rule pays for after its cursor in id order
(with neither rule on, it only moves the cursor: a rule switched on later pays
from then on); each batch's points and the cursor advance commit together,
and every award has a deterministic key (`first_message:<member>`,
`survey_answer:<activity id>`), so a crash or a rerun pays nothing twice. Staff and bots earn nothing.

On PostgreSQL a transaction that took a lower id may commit after one with a
higher id, so the cursor only moves past rows ingested `settle` ago (10
minutes by default, as for the analytics mirror); rows after the first
unsettled one are paid now and read again next time, which the keys make
harmless. Without this, a late-committing message would be skipped for good.

The first pass on a database starts at the newest activity without paying for
history (an operator adopting Qunyun on old groups does not owe points for
years of messages) unless `history=True`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Subquery, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.engage import ledger
from qunyun.engage.accounts import Owner, SystemAccounts
from qunyun.engage.points import Ledger
from qunyun.store.engage_tables import ledger_transactions
from qunyun.store.tables import activities, connector_cursors, identities, members

CURSOR = "engage.earn"
BATCH = 20_000
MESSAGE_KINDS = ("message", "reply")
ANSWER_KINDS = ("survey_answer", "poll_vote")
SETTLE = timedelta(minutes=10)


@dataclass
class EarnReport:
    activities: int = 0
    first_messages: int = 0
    survey_answers: int = 0
    started_fresh: bool = False


def _cursor(conn: Connection, workspace_id: int) -> int | None:
    value = conn.execute(
        select(connector_cursors.c.cursor).where(
            connector_cursors.c.workspace_id == workspace_id, connector_cursors.c.connector == CURSOR
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def _save(conn: Connection, workspace_id: int, last_id: int, at: datetime) -> None:
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert_fn(connector_cursors).values(
        workspace_id=workspace_id, connector=CURSOR, cursor=str(last_id), updated_at=at
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "connector"], set_={"cursor": str(last_id), "updated_at": at}
        )
    )


def award_activity_points(
    points: Ledger, *, history: bool = False, settle: timedelta | None = None
) -> EarnReport:
    """Pay the earn rules for activities after the cursor; `settle` defaults to `SETTLE` on
    PostgreSQL and to nothing on SQLite (one writer: ids commit in order)."""
    report = EarnReport()
    rules = points.policy.earn or {}
    books = points.books()
    workspace_id = points.workspace_id
    if settle is None:
        settle = SETTLE if points.engine.dialect.name == "postgresql" else timedelta(0)
    # Only the kinds some rule pays for are read: with neither rule on, the cursor just moves
    # (reading 250k new rows for nothing cost a refresh ~2.8 s).
    paid_kinds = (MESSAGE_KINDS if rules.get("first_message", 0) > 0 else ()) + (
        ANSWER_KINDS if rules.get("survey_answer", 0) > 0 else ()
    )
    while True:
        at = points.clock.now()
        with points.engine.begin() as conn:
            after = _cursor(conn, workspace_id)
            if after is None and not history:
                newest = conn.execute(select(func.coalesce(func.max(activities.c.id), 0))).scalar_one()
                _save(conn, workspace_id, int(newest), at)
                report.started_fresh = True
                return report
            # The next BATCH activities by id first, then their members: joined the other way
            # round, SQLite walks every identity of the workspace even when nothing is new.
            query = (
                select(activities.c.id, activities.c.kind, activities.c.identity_id, activities.c.ingested_at)
                .where(activities.c.id > (after or 0))
                .order_by(activities.c.id)
            )
            if not paid_kinds:
                _, settled = _settled_prefix(conn, query.subquery(), at - settle)
                if settled is not None:
                    _save(conn, workspace_id, settled, at)
                return report
            window = query.where(activities.c.kind.in_(paid_kinds)).limit(BATCH).subquery()
            scanned, settled = _settled_prefix(conn, window, at - settle)
            if scanned is None:
                return report
            rows = conn.execute(
                select(window.c.id, window.c.kind, identities.c.member_id)
                .join(identities, identities.c.id == window.c.identity_id)
                .join(members, members.c.id == identities.c.member_id)
                .where(identities.c.workspace_id == workspace_id)
                .where(members.c.is_staff.is_(False), members.c.is_bot.is_(False))
                .order_by(window.c.id)
            ).all()
            report.activities += len(rows)
            _pay(conn, points, [(int(i), str(k), int(m)) for i, k, m in rows], after or 0, at, books, report)
            _save(conn, workspace_id, settled if settled is not None else (after or 0), at)
            if settled != scanned:
                return report  # the unsettled tail is read again by the next pass


def _pay(
    conn: Connection,
    points: Ledger,
    rows: list[tuple[int, str, int]],
    after: int,
    at: datetime,
    books: SystemAccounts,
    report: EarnReport,
) -> None:
    """The earn rules for one batch of (activity id, kind, member)."""
    rules = points.policy.earn or {}
    writers = sorted({m for _, kind, m in rows if kind in MESSAGE_KINDS})
    if rules.get("first_message", 0) > 0 and writers:
        newcomers = _first_time_writers(conn, writers, after)
        report.first_messages += _first_messages(conn, points, newcomers, rules["first_message"], at, books)
    if rules.get("survey_answer", 0) <= 0:
        return
    for activity_id, kind, member in rows:
        if kind in ANSWER_KINDS:
            posted = ledger.earn(
                conn, points.workspace_id, Owner.member(member), rules["survey_answer"],
                key=f"survey_answer:{activity_id}", at=at, validity=points.policy.validity,
                rule="survey_answer", books=books,
            )  # fmt: skip
            report.survey_answers += 0 if posted.replayed else 1


def _settled_prefix(conn: Connection, window: Subquery, cutoff: datetime) -> tuple[int | None, int | None]:
    """(the window's last id, the last id before its first row ingested after `cutoff`)."""
    last, first_unsettled = conn.execute(
        select(func.max(window.c.id), func.min(case((window.c.ingested_at > cutoff, window.c.id))))
    ).one()
    if last is None or first_unsettled is None:
        return last, last
    settled = conn.execute(select(func.max(window.c.id)).where(window.c.id < first_unsettled)).scalar()
    return int(last), None if settled is None else int(settled)


def _first_time_writers(conn: Connection, writers: list[int], after: int) -> list[int]:
    """Those whose first message ever comes after the cursor (not a veteran writing again)."""
    firsts = conn.execute(
        select(identities.c.member_id, func.min(activities.c.id))
        .select_from(activities)
        .join(identities, identities.c.id == activities.c.identity_id)
        .where(identities.c.member_id.in_(writers), activities.c.kind.in_(MESSAGE_KINDS))
        .group_by(identities.c.member_id)
    ).all()
    return [int(member) for member, first in firsts if int(first) > after]


def _first_messages(
    conn: Connection, points: Ledger, writers: list[int], amount: int, at: datetime, books: SystemAccounts
) -> int:
    keys = {f"first_message:{m}": m for m in writers}
    paid = set(
        conn.execute(
            select(ledger_transactions.c.idempotency_key).where(
                ledger_transactions.c.workspace_id == points.workspace_id,
                ledger_transactions.c.idempotency_key.in_(list(keys)),
            )
        ).scalars()
    )
    fresh = 0
    for key, member in keys.items():
        if key in paid:
            continue
        ledger.earn(
            conn, points.workspace_id, Owner.member(member), amount, key=key, at=at,
            validity=points.policy.validity, rule="first_message", books=books,
        )  # fmt: skip
        fresh += 1
    return fresh
