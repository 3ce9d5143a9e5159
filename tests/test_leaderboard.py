"""Leaderboards: weighted counts, acknowledgements, staff left out, reply-graph centrality."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, update

from helpers import row, run_import, write_csv
from qunyun.engage.leaderboard import ScoreRule, is_acknowledgement, leaderboard, month_bounds, pagerank
from qunyun.store.tables import identities, members

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_pagerank_of_two_nodes_matches_the_hand_solution() -> None:
    # a → b, b dangling, d = 0.85: r_b = 0.13875 / 0.21375, r_a = 1 − r_b.
    ranks = pagerank({(1, 2): 1})
    assert ranks[2] == pytest.approx(0.13875 / 0.21375, abs=1e-9)
    assert ranks[1] == pytest.approx(1 - 0.13875 / 0.21375, abs=1e-9)
    assert pagerank({}) == {}


@pytest.mark.parametrize(
    ("text", "ack"),
    [("收到", True), ("谢谢大家！", True), ("+1", True), ("👍👍", True), ("[微笑]", True),
     ("好的，收到。", True), ("OK thanks", True), ("收到，明天几点开会？", False), ("好书推荐", False),
     ("", False), ("123", False)],
)  # fmt: skip
def test_bare_acknowledgements(text: str, ack: bool) -> None:
    assert is_acknowledgement(text) is ack


def test_month_bounds_are_local_midnights() -> None:
    start, end = month_bounds("2026-12", SHANGHAI)
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")


@pytest.fixture
def community(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    at = "2026-06-10T10:{:02d}:00+08:00"
    rows = []
    n = 0
    for i in range(3):  # the starter's three messages, each answered by three members
        rows.append(row(at.format(n), "starter", "message", f"话题{i}", reference_id=f"m{i}"))
        n += 1
        for r in ("r1", "r2", "r3"):
            rows.append(
                row(at.format(n), r, "reply", "同意，说得好", reference_id=f"{r}-{i}", reply_to=f"m{i}")
            )
            n += 1
    for i in range(10):
        rows.append(row(at.format(n), "poster", "message", f"分享第{i}条", reference_id=f"p{i}"))
        n += 1
    for i in range(3):
        rows.append(row(at.format(n), "poster", "message", "收到", reference_id=f"ack{i}"))
        n += 1
    rows.append(row("2026-06-12T10:00:00+08:00", "staff", "message", "公告" * 3, reference_id="s1"))
    later = "2026-06-12T11:00:00+08:00"
    rows += [row(later, "staff", "message", "公告", reference_id=f"s{i}") for i in range(2, 40)]
    rows.append(row("2026-07-01T10:00:00+08:00", "poster", "message", "七月的", reference_id="july"))
    run_import(engine, workspace_id, write_csv(tmp_path / "g.csv", rows))
    with engine.begin() as conn:
        staff = identities.select().where(identities.c.nickname == "nick-staff")
        staff_member = conn.execute(staff).one().member_id
        conn.execute(update(members).where(members.c.id == staff_member).values(is_staff=True))


def names(engine: Engine, workspace_id: int, rule: ScoreRule) -> list[tuple[str | None, float]]:
    return [(s.name, s.score) for s in leaderboard(engine, workspace_id, "2026-06", SHANGHAI, rule=rule)]


@pytest.mark.usefixtures("community")
def test_plain_scores_count_weighted_activity(engine: Engine, workspace_id: int) -> None:
    board = names(engine, workspace_id, ScoreRule())
    assert board[0] == ("nick-poster", 10.0)  # 13 messages, 3 of them bare 收到 weighing 0
    assert sorted(board[1:]) == [("nick-r1", 6.0), ("nick-r2", 6.0), ("nick-r3", 6.0), ("nick-starter", 3.0)]
    assert "nick-staff" not in dict(board)


@pytest.mark.usefixtures("community")
def test_centrality_ranks_the_member_who_starts_conversations_first(
    engine: Engine, workspace_id: int
) -> None:
    standings = leaderboard(engine, workspace_id, "2026-06", SHANGHAI, rule=ScoreRule(centrality_weight=1.0))
    assert [s.name for s in standings][:2] == ["nick-starter", "nick-poster"]
    starter = standings[0]
    assert starter.counts == {"message": 3}
    assert starter.centrality > 2.0  # scaled PageRank: the graph's four members average 1
    assert standings[1].centrality == 0.0


def test_reply_edges_reach_older_messages_in_the_same_community_only(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    """A July reply to a June message is a July edge; a reply naming a message id that exists only in
    another group, or nowhere, is no edge (the target is found by its reference, not joined by id)."""
    rows = [
        row("2026-06-20T10:00:00+08:00", "author", "message", "六月的话题", reference_id="old"),
        row("2026-06-20T10:00:00+08:00", "elsewhere", "message", "别的群", reference_id="x", community="g2"),
        row("2026-07-02T10:00:00+08:00", "fan", "reply", "还记得这个", reference_id="f1", reply_to="old"),
        row("2026-07-02T10:01:00+08:00", "lost", "reply", "回复", reference_id="l1", reply_to="x"),
        row("2026-07-02T10:02:00+08:00", "lost", "reply", "回复", reference_id="l2", reply_to="gone"),
        row("2026-07-03T10:00:00+08:00", "author", "message", "七月也在", reference_id="new"),
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "r.csv", rows))
    july = leaderboard(engine, workspace_id, "2026-07", SHANGHAI, rule=ScoreRule(centrality_weight=1.0))
    centrality = {s.name: s.centrality for s in july}
    # The one edge fan → author; PageRank of that two-node graph (hand-solved in the test above),
    # scaled so its two members average 1.
    author = 0.13875 / 0.21375
    assert centrality["nick-author"] == pytest.approx(2 * author, abs=1e-3)
    assert centrality["nick-fan"] == pytest.approx(2 * (1 - author), abs=1e-3)
    assert centrality["nick-lost"] == 0.0
