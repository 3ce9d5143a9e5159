"""`qunyun topics` on a hand-made community: per-topic messages and members this week vs before,
staff left out, rising terms; on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, update

from helpers import row, run_import, write_csv
from qunyun.lifecycle.topics import community_topics
from qunyun.nlp.topics import TopicLexicon
from qunyun.store.tables import identities, members

AS_OF = datetime(2026, 6, 29, 0, 0, tzinfo=UTC)  # the week shown: 06-22 .. 06-29


def test_topic_participation_and_hot_terms(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    rows = [
        # four weeks before: one 摄影 message a week by u1
        *[row(f"2026-06-{day:02d}T10:00:00+00:00", "u1", "message", "周末去拍照") for day in (1, 8, 15)],
        row("2026-05-26T10:00:00+00:00", "u1", "message", "新买的镜头"),
        # the week shown: 露营 everywhere, 摄影 by two members, staff talking about 优惠
        *[
            row(f"2026-06-2{d}T09:00:00+00:00", f"u{d}", "message", f"露营装备清单第{d}版，大家看看")
            for d in range(2, 8)
        ],
        row("2026-06-23T12:00:00+00:00", "u1", "reply", "露营的时候拍照超好看"),
        row("2026-06-24T12:00:00+00:00", "u2", "message", "这个镜头适合拍星空吗"),
        row("2026-06-25T12:00:00+00:00", "staff1", "message", "本周优惠券限时领取"),
        row("2026-06-25T13:00:00+00:00", "u3", "join"),
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "t.csv", rows))
    with engine.begin() as conn:
        staff = conn.execute(identities.select().where(identities.c.external_id == "staff1")).one()
        conn.execute(update(members).where(members.c.id == staff.member_id).values(is_staff=True))
        report = community_topics(conn, workspace_id, AS_OF, TopicLexicon.default(), "g1", weeks=4)
    by_topic = {t["topic"]: t for t in report["topics"]}
    assert report["speakers"] == 7  # u2..u7 wrote, u1 replied; staff1 is staff
    assert by_topic["旅行"]["messages"] == 7  # six 露营 lists and u1's reply
    assert by_topic["摄影"]["messages"] == 2
    assert by_topic["摄影"]["members"] == 2
    assert by_topic["摄影"]["baseline_messages"] == 1.0  # four weeks, one a week
    assert by_topic["优惠活动"]["messages"] == 0  # staff are not members' talk
    assert report["hot_terms"][0]["term"] == "露营"
    assert report["hot_terms"][0]["count"] == 7
