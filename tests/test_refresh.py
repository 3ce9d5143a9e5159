"""The refresh action on a hand-made community, on both databases, and their parity."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from conftest import TEMPLATE, admin_conninfo
from helpers import row, run_import, write_csv
from qunyun.analytics import ActivityMirror, FactsSource, MirroredFacts
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.errors import LifecycleError
from qunyun.lifecycle import refresh
from qunyun.lifecycle.views import StateFilter, cleanup_list, distribution
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.tables import identities, member_state, segment_transitions

AS_OF = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)


def at(days_ago: float) -> str:
    return (AS_OF - timedelta(days=days_ago)).isoformat()


# member → expected (segment, stage) at AS_OF, worked out by hand from docs/lifecycle.md
EXPECTED = {
    "newbie": ("new", "new"),  # joined 10 days ago
    "chatty": ("active", "mature"),  # 200 days in, 6 messages this month
    "quiet": ("silent", "churning"),  # last message 45 days ago, still reads
    "lurker": ("silent", "churning"),  # never wrote, reads
    "gone": ("churned", "churning"),  # no sign of life for 120 days
    "leaver": ("churned", "churning"),  # left 5 days ago
    "returner": ("active", "growing"),  # left, came back, spoke
    "buyer": ("silent", "churning"),  # repeat buyer, but no message in 40 days
}


def community_rows() -> list[dict[str, str]]:
    rows = [row(at(10), "newbie", "join")]
    rows += [row(at(200), "chatty", "join")] + [
        row(at(d), "chatty", "message", f"聊天{d}") for d in range(1, 13, 2)
    ]
    rows += [
        row(at(150), "quiet", "join"),
        row(at(45), "quiet", "message", "hi"),
        row(at(3), "quiet", "view"),
    ]
    rows += [row(at(100), "lurker", "join"), row(at(20), "lurker", "view")]
    rows += [row(at(300), "gone", "join"), row(at(120), "gone", "message", "bye")]
    rows += [
        row(at(90), "leaver", "join"),
        row(at(30), "leaver", "message", "x"),
        row(at(5), "leaver", "leave"),
    ]
    rows += [
        row(at(100), "returner", "join"),
        row(at(50), "returner", "leave"),
        row(at(8), "returner", "join"),
        row(at(2), "returner", "message", "我回来了"),
    ]
    rows += [row(at(180), "buyer", "join"), row(at(40), "buyer", "message", "下单了")]
    rows += [row(at(d), "buyer", "purchase", amount="199", reference_id=f"o{d}") for d in (100, 60)]
    return rows


def _states(engine: Engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        q = select(identities.c.external_id, member_state.c.segment, member_state.c.stage).join(
            identities, identities.c.member_id == member_state.c.member_id
        )
        return {r.external_id: (r.segment, r.stage) for r in conn.execute(q)}


def facts_for(engine: Engine, workspace_id: int, tmp_path: Path) -> FactsSource:
    mirror = ActivityMirror(engine, tmp_path / "mirror.duckdb", FixedClock(AS_OF + timedelta(days=365)))
    return MirroredFacts(mirror, workspace_id)


def build(engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / "c.csv", community_rows()))
    refresh(
        engine, settings, workspace_id, AS_OF, FixedClock(AS_OF), facts_for(engine, workspace_id, tmp_path)
    )


def test_refresh_puts_every_member_where_the_rules_say(
    engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings
) -> None:
    build(engine, workspace_id, tmp_path, settings)
    assert _states(engine) == EXPECTED
    with engine.connect() as conn:
        dist = distribution(conn, StateFilter(workspace_id))
    assert dist["segments"] == {"new": 1, "active": 2, "silent": 3, "churned": 2}


def test_transitions_carry_rule_and_facts_and_replays_are_idempotent(
    engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings
) -> None:
    build(engine, workspace_id, tmp_path, settings)
    refresh(
        engine, settings, workspace_id, AS_OF, FixedClock(AS_OF), facts_for(engine, workspace_id, tmp_path)
    )  # same as-of again: nothing new
    with engine.connect() as conn:
        rows = conn.execute(
            select(segment_transitions).where(segment_transitions.c.dimension == "segment")
        ).all()
    assert len(rows) == len(EXPECTED)
    quiet = next(r for r in rows if r.to_value == "silent" and r.facts["days_since_message"] == 45.0)
    assert (quiet.from_value, quiet.rule) == (None, "no_recent_message")


def test_later_refresh_records_the_move_and_history_cannot_go_back(
    engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings
) -> None:
    build(engine, workspace_id, tmp_path, settings)
    later = AS_OF + timedelta(days=40)
    report = refresh(
        engine, settings, workspace_id, later, FixedClock(later), facts_for(engine, workspace_id, tmp_path)
    )
    states = _states(engine)
    assert states["newbie"][0] == "silent"  # 50 days in, never spoke
    assert states["chatty"][0] == "silent"  # last message 41 days ago (beyond 30 + 3 grace)
    with engine.connect() as conn:
        moves = conn.execute(
            select(segment_transitions.c.from_value, segment_transitions.c.to_value).where(
                segment_transitions.c.at == later, segment_transitions.c.dimension == "segment"
            )
        ).all()
    assert ("active", "silent") in moves
    assert ("new", "silent") in moves
    assert report.transitions >= 2
    source = facts_for(engine, workspace_id, tmp_path)
    synced = source.prepare().seq
    with pytest.raises(LifecycleError) as caught:
        refresh(engine, settings, workspace_id, AS_OF, FixedClock(AS_OF), source)
    assert caught.value.code == "refresh.backwards"
    assert source.prepare().seq == synced + 1  # the refused refresh did not sync the mirror first


def test_cleanup_list_finds_long_quiet_non_buyers(
    engine: Engine, workspace_id: int, tmp_path: Path, settings: Settings
) -> None:
    build(engine, workspace_id, tmp_path, settings)
    with engine.connect() as conn:
        listed = cleanup_list(conn, workspace_id, AS_OF, settings.cleanup)
        names = {
            conn.execute(
                select(identities.c.external_id).where(identities.c.member_id == r["member_id"])
            ).scalar_one()
            for r in listed
        }
    # In the group ≥ 90 days, nothing said or bought for 90 days: "gone" and "lurker".
    # "buyer" spent within 100 days but 60 days ago → protected; "quiet" spoke 45 days ago.
    assert names == {"gone", "lurker"}


def _dump(url: str, tmp_path: Path, settings: Settings) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    with engine.begin() as conn:
        ws = ensure_workspace(conn, "default", AS_OF)
    build(engine, ws, tmp_path, settings)
    with engine.connect() as conn:
        q = select(
            identities.c.external_id,
            *[c for c in member_state.c if c.name not in ("member_id", "community_id")],
        )
        rows = sorted(
            tuple(r)
            for r in conn.execute(q.join(identities, identities.c.member_id == member_state.c.member_id))
        )
    engine.dispose()
    return rows


def test_sqlite_and_postgresql_agree(pg_template: str, tmp_path: Path, settings: Settings) -> None:
    """The same fixture gives the same member_state, column for column, on both databases."""
    with psycopg.connect(admin_conninfo(), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS parity WITH (FORCE)")
        admin.execute(f"CREATE DATABASE parity TEMPLATE {TEMPLATE}")
    pg = make_url(pg_template).set(database="parity").render_as_string(hide_password=False)
    lite = f"sqlite:///{tmp_path / 'lite.db'}"
    migrate(make_engine(lite))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _dump(lite, tmp_path / "a", settings) == _dump(pg, tmp_path / "b", settings)
