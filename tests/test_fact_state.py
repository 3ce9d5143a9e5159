"""The maintained member facts equal the grouped scan (facts.member_facts), step after step.

A second implementation is the expectation here: the scan is the definition
(hand-checked in test_analytics_facts.py, the same on Spark), and every
maintained answer — after rebuilds, shifts of a few hours to weeks, late
rows, an unsettled tail, merges, a re-based bit range — must equal it member
by member, including active days. The window edges a refresh reads with the
facts are not maintained; they are checked here against a plain Python recount.
"""

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from helpers import mirrored
from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.analytics.facts import FactWindows, MirroredFacts, iter_member_facts, window_edges
from qunyun.domain import INTERACTION_KINDS, OLDEST_KEPT, ActivityKind, FixedClock, MemberFacts
from test_refresh import AS_OF, community_rows

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
KINDS = [k.value for k in ActivityKind]
# Members 1-20; identities 1-20 are theirs, 21-25 second identities of members 1-5.
IDENTITIES = {i: i for i in range(1, 21)} | {20 + i: i for i in range(1, 6)}


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


class History:
    """A mirror filled by hand: activities, identities and the settled watermark."""

    def __init__(self, tmp_path: Path, seed: int) -> None:
        self.random = random.Random(seed)
        self.mirror = ActivityMirror(create_engine("sqlite://"), tmp_path / f"m{seed}.duckdb", FixedClock(T0))
        duck = self.mirror.duck
        duck.execute("INSERT INTO communities VALUES (1, 1, 'wechat', 'g1', 'g1', 'Asia/Shanghai')")
        duck.execute("INSERT INTO communities VALUES (2, 1, 'wechat', 'g2', 'g2', 'Asia/Shanghai')")
        duck.execute("INSERT INTO communities VALUES (3, 2, 'wechat', 'g3', 'g3', 'Asia/Shanghai')")
        duck.execute("INSERT INTO mirror_state VALUES ('generation', 'g'), ('seq', '1')")
        for identity, member in IDENTITIES.items():
            duck.execute(
                "INSERT INTO identities VALUES (?, 1, ?, 'wechat', ?)", [identity, member, str(identity)]
            )
        for member in set(IDENTITIES.values()):
            duck.execute("INSERT INTO members VALUES (?, 1, false, false, NULL)", [member])
        self.next_id = 1

    def add(self, count: int, low: datetime, high: datetime) -> None:
        span = (high - low).total_seconds()
        for _ in range(count):
            at = low + timedelta(seconds=self.random.uniform(0, span))
            kind = self.random.choice(KINDS)
            amount = self.random.choice([None, 1990, 50]) if kind == "purchase" else None
            self.mirror.duck.execute(
                "INSERT INTO activities (id, community_id, identity_id, kind, occurred_at, amount_minor)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    self.next_id,
                    self.random.choice([1, 1, 2, 3]),
                    self.random.choice(list(IDENTITIES)),
                    kind,
                    _naive(at),
                    amount,
                ],
            )
            self.next_id += 1

    def settle(self, unsettled: int = 0) -> None:
        watermark = self.next_id - 1 - unsettled
        self.mirror.duck.execute(
            "INSERT OR REPLACE INTO mirror_state VALUES ('watermark', ?)", [str(watermark)]
        )

    def move_identity(self, identity: int, member: int) -> None:
        """A merge as the mirror's sync records it: a new sync number, both members in member_changes."""
        duck = self.mirror.duck
        seq = self.mirror.checkpoint().seq + 1
        before = duck.execute("SELECT member_id FROM identities WHERE id = ?", [identity]).fetchone()
        assert before is not None
        duck.execute("UPDATE identities SET member_id = ? WHERE id = ?", [member, identity])
        duck.execute("INSERT INTO member_changes VALUES (?, ?), (?, ?)", [seq, before[0], seq, member])
        duck.execute("INSERT OR REPLACE INTO mirror_state VALUES ('seq', ?)", [str(seq)])


def _scanned(mirror: ActivityMirror, workspace_id: int, as_of: datetime) -> list[MemberFacts]:
    engine = AnalyticsEngine.on_mirror(mirror)
    return [f for chunk in iter_member_facts(engine, workspace_id, as_of) for f in chunk]


def _maintained(source: MirroredFacts, as_of: datetime, members: set[int] | None = None) -> list[MemberFacts]:
    return [f for chunk in source.facts(as_of, members) for f in chunk]


@pytest.mark.parametrize(("seed", "patch_share"), [(1, 0.1), (2, 0.1), (3, 0.0), (4, 1.0), (5, 1.0)])
def test_maintained_facts_equal_the_scan_step_after_step(
    tmp_path: Path, seed: int, patch_share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps rewrite the table or patch the members they touch (share 0: always rewrite; 1:
    always patch unless the bit base moves)."""
    monkeypatch.setattr("qunyun.analytics.fact_state._PATCH_SHARE", patch_share)
    history = History(tmp_path, seed)
    source = MirroredFacts(history.mirror, 1)
    history.add(1500, T0 - timedelta(days=200), T0)
    history.settle()
    as_of = T0
    # (hours forward, new rows, late rows, unsettled tail): hours, a day, a week, the same
    # instant again, more than the longest step (a rebuild), then daily steps across a re-base.
    steps = [(0, 0, 0, 0), (5, 40, 0, 0), (26, 80, 10, 3), (24 * 7, 200, 20, 0), (0, 0, 0, 5)]
    steps += [(24 * 40, 300, 10, 0)] + [(24, 60, 5, 2)] * 3 + [(24 * 30, 200, 0, 0), (24 * 12, 90, 4, 0)]
    for number, (hours, new, late, tail) in enumerate(steps):
        previous = as_of
        as_of = as_of + timedelta(hours=hours)
        history.add(new, previous, as_of)
        history.add(late, as_of - timedelta(days=150), as_of - timedelta(days=20))
        history.settle(unsettled=tail)
        if number == 6:
            history.move_identity(22, 7)  # a merge: member 2's second identity now belongs to 7
        expected = _scanned(history.mirror, 1, as_of)
        assert source.maintained_facts(as_of) is not None  # not the scan's fallback
        assert _maintained(source, as_of) == expected, f"step {number}"
        assert len(expected) > 15
    # other workspace, and a subset of members as an incremental refresh asks for them
    assert _maintained(source, as_of) == _scanned(history.mirror, 1, as_of)
    other = MirroredFacts(history.mirror, 2)
    assert _maintained(other, as_of) == _scanned(history.mirror, 2, as_of)
    subset = {1, 7, 13}
    assert _maintained(source, as_of, subset) == [f for f in expected if f.member_id in subset]
    # single memberships are filtered in the read itself, not only after it
    pairs = {(1, 4), (2, 9)}
    state = source.maintained_facts(as_of, frozenset({13}), memberships=pairs)
    assert state is not None
    read = state.read_all().to_pydict()
    keys = set(zip(read["community_id"], read["member_id"], strict=True))
    assert keys == pairs | {(f.community_id, 13) for f in expected if f.member_id == 13}


def test_a_row_after_the_as_of_falls_back_to_the_scan(tmp_path: Path) -> None:
    history = History(tmp_path, 9)
    history.add(400, T0 - timedelta(days=100), T0 + timedelta(days=2))
    history.settle()
    source = MirroredFacts(history.mirror, 1)
    assert source.maintained_facts(T0) is None  # history replayed: only the scan can be exact
    assert _maintained(source, T0) == _scanned(history.mirror, 1, T0)
    later = T0 + timedelta(days=3)
    assert source.maintained_facts(later) is not None
    assert _maintained(source, later) == _scanned(history.mirror, 1, later)
    # going back in time rebuilds the state rather than shifting it backwards
    history.add(5, T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1))
    history.settle()
    back = T0 + timedelta(days=2, hours=2)
    assert _maintained(source, back) == _scanned(history.mirror, 1, back)


def test_other_windows_and_zones_are_kept_apart(tmp_path: Path) -> None:
    history = History(tmp_path, 5)
    history.add(800, T0 - timedelta(days=150), T0)
    history.settle()
    shanghai = MirroredFacts(history.mirror, 1)
    new_york = MirroredFacts(
        history.mirror, 1, FactWindows(recent_days=14, baseline_days=60, local_offset_hours=-5)
    )
    engine = AnalyticsEngine.on_mirror(history.mirror)
    for as_of in (T0, T0 + timedelta(days=1, hours=3)):
        assert _maintained(shanghai, as_of) == _scanned(history.mirror, 1, as_of)
        expected = [f for chunk in iter_member_facts(engine, 1, as_of, new_york.windows) for f in chunk]
        assert _maintained(new_york, as_of) == expected


def test_the_hand_made_community_through_the_maintained_state(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    mirror = mirrored(engine, workspace_id, tmp_path, community_rows())
    source = MirroredFacts(mirror, workspace_id)
    facts = _maintained(source, AS_OF)
    assert facts == _scanned(mirror, workspace_id, AS_OF)
    chatty = next(f for f in facts if f.messages_total == 6)
    # six messages at 1, 3, ..., 11 days ago (test_analytics_facts.py computes the same by hand)
    assert (chatty.messages_7d, chatty.messages_30d, chatty.active_days_30d) == (3, 6, 6)


def test_window_edges_equal_a_python_recount(tmp_path: Path) -> None:
    history = History(tmp_path, 7)
    history.add(3000, T0 - timedelta(days=150), T0)
    history.settle()
    history.move_identity(22, 7)
    as_of = T0 - timedelta(hours=5)  # the rows of the last five hours are after it
    end = _naive(as_of)
    rows = history.mirror.duck.execute(
        "SELECT a.community_id, i.member_id, a.kind, a.occurred_at"
        " FROM activities a JOIN identities i ON a.identity_id = i.id WHERE a.community_id IN (1, 2)"
    ).fetchall()
    recent: dict[tuple[int, int], list[datetime]] = {}
    baseline: dict[tuple[int, int], list[datetime]] = {}
    for community, member, kind, at in rows:
        if ActivityKind(kind) not in INTERACTION_KINDS or at > end:
            continue
        if at > end - timedelta(days=30):
            recent.setdefault((community, member), []).append(at)
        elif at > end - timedelta(days=120):
            baseline.setdefault((community, member), []).append(at)
    expected = {
        key: (sorted(recent.get(key, []))[:OLDEST_KEPT], sorted(baseline.get(key, []))[:OLDEST_KEPT])
        for key in recent.keys() | baseline.keys()
    }
    edges = window_edges(AnalyticsEngine.on_mirror(history.mirror), 1, as_of).to_pyarrow().to_pylist()
    got = {
        (r["community_id"], r["member_id"]): (r["oldest_interactions_30d"], r["oldest_interactions_prev"])
        for r in edges
    }
    assert got == expected
    assert max(len(v[0]) for v in expected.values()) == OLDEST_KEPT  # the cut is exercised
    assert max(len(v[1]) for v in expected.values()) == OLDEST_KEPT


def test_a_state_of_another_layout_is_rebuilt(tmp_path: Path) -> None:
    history = History(tmp_path, 11)
    history.add(600, T0 - timedelta(days=130), T0)
    history.settle()
    source = MirroredFacts(history.mirror, 1)
    assert _maintained(source, T0) == _scanned(history.mirror, 1, T0)
    duck = history.mirror.duck
    # as an older version left it: an extra column, and no layout in its metadata
    duck.execute("ALTER TABLE fact_state ADD COLUMN first_interaction_30d_at TIMESTAMP")
    duck.execute("UPDATE fact_state SET messages_30d = messages_30d + 7")
    raw = json.loads(duck.execute("SELECT value FROM mirror_state WHERE key = 'fact_state'").fetchone()[0])
    del raw["layout"]
    duck.execute("UPDATE mirror_state SET value = ? WHERE key = 'fact_state'", [json.dumps(raw)])
    later = T0 + timedelta(days=1)
    assert _maintained(source, later) == _scanned(history.mirror, 1, later)
