"""Points paid from activities by `qunyun refresh`: first messages and survey answers, once."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select, update

from conftest import T0
from helpers import row, run_import, write_csv
from qunyun.domain import FixedClock
from qunyun.engage.earn_pass import award_activity_points
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store.tables import activities, identities, members


def member_of(engine: Engine, nickname: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(identities.select().where(identities.c.nickname == nickname)).one().member_id)


def test_first_messages_and_answers_pay_once(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    at = "2026-06-0{}T10:00:00+08:00"
    old = [row(at.format(1), "veteran", "message", "老成员"), row(at.format(1), "boss", "message", "通知")]
    run_import(engine, workspace_id, write_csv(tmp_path / "old.csv", old))
    with engine.begin() as conn:
        conn.execute(
            update(members).where(members.c.id == member_of(engine, "nick-boss")).values(is_staff=True)
        )
    clock = FixedClock(T0)
    ledger = Ledger(engine, workspace_id, clock, PointsPolicy(earn={"first_message": 10, "survey_answer": 5}))
    assert award_activity_points(ledger).started_fresh  # history is not paid for
    new = [
        row(at.format(2), "veteran", "message", "又来了"),
        row(at.format(2), "newbie", "message", "大家好"),
        row(at.format(3), "newbie", "reply", "谢谢"),
        row(at.format(3), "boss", "message", "第二条通知"),
        row(at.format(4), "newbie", "survey_answer", "nps 9"),
        row(at.format(4), "veteran", "poll_vote", "A"),
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "new.csv", new))
    report = award_activity_points(ledger)
    assert (report.activities, report.first_messages, report.survey_answers) == (5, 1, 2)
    assert ledger.balance(member_of(engine, "nick-newbie")) == 15
    assert ledger.balance(member_of(engine, "nick-veteran")) == 5
    assert ledger.balance(member_of(engine, "nick-boss")) == 0
    again = award_activity_points(ledger)  # on PostgreSQL the rows are read again until settled
    assert (again.first_messages, again.survey_answers) == (0, 0)
    clock.advance(timedelta(minutes=30))
    award_activity_points(ledger)
    assert award_activity_points(ledger).activities == 0
    assert award_activity_points(ledger, history=True).activities == 0  # the cursor, not the flag, rules now


def test_a_message_committed_late_with_a_lower_id_is_still_paid(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    """PostgreSQL hands out ids at insert and shows rows at commit: a pass can see id 7 before
    id 6 exists. The cursor waits until rows have settled, so id 6 is read when it appears."""
    clock = FixedClock(T0 + timedelta(minutes=2))
    ledger = Ledger(engine, workspace_id, clock, PointsPolicy(earn={"first_message": 10}))
    award_activity_points(ledger, settle=timedelta(minutes=10))  # starts at the newest activity
    at = "2026-06-02T10:00:00+08:00"
    writers = [row(at, "early", "message", "我先写的"), row(at, "later", "message", "我后写的")]
    run_import(engine, workspace_id, write_csv(tmp_path / "new.csv", writers))  # ingested at T0
    with engine.begin() as conn:  # the first row's transaction has not committed yet
        in_flight = conn.execute(select(activities).order_by(activities.c.id).limit(1)).one()._asdict()
        conn.execute(delete(activities).where(activities.c.id == in_flight["id"]))
    first = award_activity_points(ledger, settle=timedelta(minutes=10))
    assert first.first_messages == 1  # "later" is paid at once: awards are keyed, cursor is not
    with engine.begin() as conn:
        conn.execute(insert(activities).values(**in_flight))  # now it commits, with its lower id
    clock.advance(timedelta(minutes=30))
    second = award_activity_points(ledger, settle=timedelta(minutes=10))
    assert (second.activities, second.first_messages) == (2, 1)  # "later" read again, not paid again
    assert ledger.balance(member_of(engine, "nick-early")) == 10
    assert ledger.balance(member_of(engine, "nick-later")) == 10
    assert award_activity_points(ledger, settle=timedelta(minutes=10)).activities == 0  # cursor moved on


def test_with_no_activity_rule_the_cursor_moves_without_reading(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    clock = FixedClock(T0)
    checkin_only = Ledger(engine, workspace_id, clock, PointsPolicy(earn={"checkin": 5}))
    award_activity_points(checkin_only)
    at = "2026-06-02T10:00:00+08:00"
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", [row(at, "quiet", "message", "第一句")]))
    passed = award_activity_points(checkin_only, settle=timedelta(0))
    assert passed.activities == 0
    # The rule switched on later pays from here on, not for what the cursor already passed.
    paying = Ledger(engine, workspace_id, clock, PointsPolicy(earn={"first_message": 10}))
    later = [row(at, "quiet", "message", "第二句"), row(at, "fresh", "message", "你好")]
    run_import(engine, workspace_id, write_csv(tmp_path / "b.csv", later))
    report = award_activity_points(paying, settle=timedelta(0))
    assert (report.activities, report.first_messages) == (2, 1)
    assert paying.balance(member_of(engine, "nick-fresh")) == 10
    assert paying.balance(member_of(engine, "nick-quiet")) == 0  # wrote before the rule: a veteran
