"""Points paid from activities by `qunyun refresh`: first messages and survey answers, once."""

from pathlib import Path

from sqlalchemy import Engine, update

from conftest import T0
from helpers import row, run_import, write_csv
from qunyun.domain import FixedClock
from qunyun.engage.earn_pass import award_activity_points
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store.tables import identities, members


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
    ledger = Ledger(
        engine, workspace_id, FixedClock(T0), PointsPolicy(earn={"first_message": 10, "survey_answer": 5})
    )
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
    again = award_activity_points(ledger)
    assert (again.activities, again.first_messages, again.survey_answers) == (0, 0, 0)
    assert award_activity_points(ledger, history=True).activities == 0  # the cursor, not the flag, rules now
