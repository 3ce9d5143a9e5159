"""Backtest, fit and score per community; what operators see (outlook labels, sorting)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from helpers import row, run_import, write_csv
from qunyun.analytics import ActivityMirror, AnalyticsEngine, MirroredFacts
from qunyun.config import ModelsConfig, Settings
from qunyun.domain import FixedClock, Segment
from qunyun.lifecycle import refresh
from qunyun.lifecycle.model_views import MemberScore, latest_fits, outlook
from qunyun.lifecycle.models import backtest
from qunyun.lifecycle.models.summary import Summary
from qunyun.lifecycle.science import fit_and_score
from qunyun.lifecycle.views import StateFilter, list_members, silent_worth_waking
from qunyun.sim import SimConfig, Simulator, write_activities_csv
from qunyun.store.tables import member_scores, member_state, model_backtests

START = datetime(2026, 3, 1, tzinfo=UTC)
CLOCK = FixedClock(datetime(2027, 1, 1, tzinfo=UTC))


def _mirror(engine: Engine, tmp_path: Path) -> ActivityMirror:
    mirror = ActivityMirror(engine, tmp_path / "mirror.duckdb", CLOCK)
    mirror.sync()
    return mirror


def test_a_simulated_community_gets_backtested_fitted_and_scored(
    engine: Engine, workspace_id: int, settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "sim.csv"
    sim = Simulator(SimConfig(members=400, days=150, seed=21, start=START))
    write_activities_csv(sim, source)
    run_import(engine, workspace_id, source)
    mirror = _mirror(engine, tmp_path)
    refresh(engine, settings, workspace_id, sim.end, CLOCK, MirroredFacts(mirror, workspace_id))
    analytics = AnalyticsEngine.on_mirror(mirror)
    [outcome] = fit_and_score(analytics, engine, settings, workspace_id, sim.end, CLOCK)
    assert outcome.backtest is not None
    scores = outcome.backtest.scores
    assert set(scores) == {"bgnbd", "mbgnbd", "pareto", "recency", "frequency", "classifier"}
    assert all(
        s.auc is not None and 0.5 < s.auc <= 1.0 for s in scores.values() if s is not scores["frequency"]
    )
    # the models predict counts: their total over the horizon is near what happened
    for name in ("bgnbd", "mbgnbd", "pareto"):
        s = scores[name]
        assert s.predicted_total == pytest.approx(s.actual_total, rel=0.35), name
    assert outcome.chosen in {"bgnbd", "mbgnbd", "pareto", "classifier", "rules"}
    with engine.connect() as conn:
        fits = {f["target"]: f for f in latest_fits(conn, workspace_id)}
        stored = conn.execute(select(member_scores)).all()
        runs = conn.execute(select(model_backtests.c.winner, model_backtests.c.results)).all()
    assert fits["activity"]["model"] == outcome.chosen
    assert fits["activity"]["diagnostics"]["backtest"]["scores"]["recency"]["auc"] is not None
    assert len(runs) == 1
    assert stored, "members were scored"
    if outcome.chosen != "rules":
        alive = np.array([r.p_alive for r in stored if r.p_alive is not None])
        assert alive.size > 100
        assert ((alive >= 0) & (alive <= 1)).all()
    buyers = [r for r in stored if r.clv_minor is not None]
    assert buyers, "purchases were modelled"
    assert all(r.clv_minor >= 0 and r.expected_spend_minor > 0 for r in buyers)
    assert {"purchase", "spend"} <= set(fits)
    # Refit a week later: every score row carries the new as-of, none is left stale.
    later = sim.end + timedelta(days=7)
    fit_and_score(analytics, engine, settings, workspace_id, later, CLOCK)
    with engine.connect() as conn:
        as_ofs = set(conn.execute(select(member_scores.c.as_of)).scalars())
        fits_now = latest_fits(conn, workspace_id)
    assert as_ofs == {later}
    assert {f["as_of"] for f in fits_now} == {later}
    _wake_up_list_is_ranked_by_value(engine, workspace_id)


def _wake_up_list_is_ranked_by_value(engine: Engine, workspace_id: int) -> None:
    """Three silent members given hand-made scores come first, by P(alive) x value."""
    with engine.begin() as conn:
        silent = conn.execute(
            select(member_state.c.community_id, member_state.c.member_id)
            .where(
                member_state.c.segment == "silent",
                member_state.c.is_member.is_(True),
                member_state.c.messages_total > 0,
            )
            .order_by(member_state.c.member_id)
            .limit(3)
        ).all()
        assert len(silent) == 3
        conn.execute(update(member_scores).values(p_alive=None))
        # value: 0.9 x 100 = 90; 0.5 x 1000 = 500; 0.2 x 3 expected active days = 0.6
        for (community, member), (alive, clv, expected) in zip(
            silent, [(0.9, 100.0, 1.0), (0.5, 1000.0, 1.0), (0.2, None, 3.0)], strict=True
        ):
            conn.execute(
                update(member_scores)
                .where(member_scores.c.community_id == community, member_scores.c.member_id == member)
                .values(p_alive=alive, clv_minor=clv, expected_activity_30d=expected)
            )
        waking = silent_worth_waking(conn, workspace_id, 10)
        listed = list_members(conn, StateFilter(workspace_id, segment=Segment.SILENT), 10, by_value=True)
    expected_order = [silent[1][1], silent[0][1], silent[2][1]]
    assert [r["member_id"] for r in waking[:3]] == expected_order
    assert [r["member_id"] for r in listed[:3]] == expected_order
    assert all(r["p_alive"] is None for r in waking[3:])


def test_a_tiny_community_stays_on_the_rules(
    engine: Engine, workspace_id: int, settings: Settings, tmp_path: Path
) -> None:
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [
        row((as_of - timedelta(days=d)).isoformat(), f"m{i}", "message", f"hi {d}")
        for i in range(5)
        for d in range(5 + i, 60, 7)
    ]
    run_import(engine, workspace_id, write_csv(tmp_path / "tiny.csv", rows))
    analytics = AnalyticsEngine.on_mirror(_mirror(engine, tmp_path))
    [outcome] = fit_and_score(analytics, engine, settings, workspace_id, as_of, CLOCK)
    assert (outcome.chosen, outcome.status, outcome.backtest) == ("rules", "too_few", None)
    with engine.connect() as conn:
        fits = latest_fits(conn, workspace_id)
        alive = conn.execute(select(member_scores.c.p_alive)).scalars().all()
    assert [(f["target"], f["model"], f["status"]) for f in fits] == [("activity", "rules", "too_few")]
    assert alive
    assert all(p is None for p in alive)


def _window(x: list[float], t_x: list[float], T: list[float], future: list[float]) -> backtest.Window:
    return backtest.Window(Summary.of(x, t_x, T), np.array(future, dtype=float))


def test_backtest_ranks_by_auc_and_keeps_the_rules_when_nothing_beats_them() -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = rng.poisson(3, n).astype(float)
    T = np.full(n, 100.0)
    t_x = np.where(x > 0, rng.uniform(0, 100, n), 0.0)
    # who comes back is decided by recency alone: the recency rule is perfect
    future = np.where(T - t_x < 20, 2.0, 0.0)
    test = _window(list(x), list(t_x), list(T), list(future))
    result = backtest.run(test, None, 30.0, min_auc_gain=0.0)
    assert result.scores["recency"].auc == pytest.approx(1.0)
    assert result.chosen == "rules"  # no model can beat a perfect rule
    assert result.margin is not None
    assert result.margin <= 0
    assert result.came_back == int((future > 0).sum())


@pytest.mark.parametrize(
    ("segment", "p_alive", "expected", "past", "label"),
    [
        (Segment.SILENT, 0.7, 0.5, 1.0, "worth waking"),
        (Segment.SILENT, 0.1, 0.1, 1.0, "churned (likely)"),
        (Segment.SILENT, 0.3, 0.1, 1.0, None),
        (Segment.ACTIVE, 0.9, 0.4, 1.0, "at risk"),  # expected below half the past rate
        (Segment.ACTIVE, 0.9, 0.8, 1.0, None),
        (Segment.CHURNED, 0.9, 0.8, 1.0, None),
    ],
)
def test_outlook_labels(
    segment: Segment, p_alive: float, expected: float, past: float, label: str | None
) -> None:
    score = MemberScore("bgnbd", p_alive, expected, past, None, None, None, None)
    assert outlook(segment, score, ModelsConfig()) == label
    assert outlook(segment, None, ModelsConfig()) is None


def test_a_fit_that_fails_leaves_the_community_on_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from qunyun.lifecycle import science

    def explode(*_args: object) -> object:
        raise FloatingPointError("overflow in 2F1")

    monkeypatch.setattr(science, "_activity_scores", explode)
    members = science.Members(np.array([1.0, 2.0]), Summary.of([1, 0], [3, 0], [10, 10]), np.zeros(2))
    outcome = science.CommunityModels(1, 2, "pareto", "ok")
    rows: dict[int, dict[str, object]] = {}
    science._score_activity(outcome, members, None, rows)
    assert (outcome.chosen, outcome.status, rows) == ("rules", "failed", {})
    assert outcome.activity_fit == {"failed": "pareto: overflow in 2F1"}
