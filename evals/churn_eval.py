"""Who is really gone? Rule-based segments vs the lifecycle models, on the simulator's truth.

The simulator knows which members dropped out (`alive_at_end`). This script simulates a
community, imports it, refreshes the rules' segments and fits the models exactly as
`qunyun refresh` does, then prints side by side:

1. precision and recall of "really gone" for the rules (churned; silent or churned) and for
   the model-based labels (churned, or silent with P(alive) below models.likely_gone_p_alive);
2. ROC AUC of P(alive) — and of plain recency, for reference — for "still alive at the end";
3. a holdout check as in Fader, Hardie & Lee (2005): fit on a calibration period, predict
   each member's active days in the next 30 days, compare with what happened, overall and
   by number of repeat active days in calibration.

    .venv/bin/python evals/churn_eval.py [--members 5000] [--days 180] [--seed 7]
"""

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from qunyun.analytics import ActivityMirror, AnalyticsEngine, MirroredFacts
from qunyun.config import load_settings
from qunyun.domain import MESSAGE_KINDS, FixedClock
from qunyun.ingest import FORMATS, ImportOptions, import_source
from qunyun.lifecycle import refresh
from qunyun.lifecycle.models import bgnbd
from qunyun.lifecycle.science import fit_and_score, summaries, window
from qunyun.sim import SimConfig, Simulator, write_activities_csv
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.tables import identities, member_scores, member_state


def _precision_recall(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hits = float((predicted & truth).sum())
    return hits / max(float(predicted.sum()), 1.0), hits / max(float(truth.sum()), 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qunyun-eval-"))
    sim = Simulator(SimConfig(members=args.members, days=args.days, seed=args.seed))
    csv_path = work / "community.csv"
    write_activities_csv(sim, csv_path)
    truth = {t.member: t.alive_at_end for t in sim.members()}
    settings = load_settings(None, environ={"QUNYUN_PRIVACY__KEY_FILE": str(work / "key")})
    clock = FixedClock(sim.end + timedelta(days=365))
    engine = make_engine(f"sqlite:///{work / 'eval.db'}")
    migrate(engine)
    with engine.begin() as conn:
        workspace = ensure_workspace(conn, "default", sim.end)
    options = ImportOptions(workspace_id=workspace, rejects_path=work / "rejects.jsonl")
    import_source(engine, clock, FORMATS["csv"](csv_path), options, fmt="csv")
    mirror = ActivityMirror(engine, work / "mirror.duckdb", clock)
    refresh(engine, settings, workspace, sim.end, clock, MirroredFacts(mirror, workspace))
    analytics = AnalyticsEngine.on_mirror(mirror)
    [outcome] = fit_and_score(analytics, engine, settings, workspace, sim.end, clock)
    print(
        f"simulated {args.members:,} members over {args.days} days (seed {args.seed}); "
        f"models chose: {outcome.chosen}"
    )
    _gone(engine, truth, settings.models.likely_gone_p_alive)
    _holdout(analytics, settings, workspace, sim.end)


def _gone(engine: object, truth: dict[str, bool], likely_gone: float) -> None:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            select(identities.c.external_id, member_state.c.segment, member_scores.c.p_alive)
            .join(identities, identities.c.member_id == member_state.c.member_id)
            .join(
                member_scores,
                (member_scores.c.member_id == member_state.c.member_id)
                & (member_scores.c.community_id == member_state.c.community_id),
            )
            .where(member_scores.c.p_alive.is_not(None))
        ).all()
    gone = np.array([not truth[r.external_id] for r in rows])
    segment = np.array([r.segment for r in rows])
    alive = np.array([r.p_alive for r in rows])
    print(f"\nmembers with a message and a model score: {len(rows):,} ({int(gone.sum()):,} really gone)")
    print(f"{'predictor of really gone':<44} {'precision':>9} {'recall':>7}")
    candidates = {
        "rules: churned": segment == "churned",
        "rules: silent or churned": np.isin(segment, ["silent", "churned"]),
        f"models: churned, or silent with P(alive)<{likely_gone}": (segment == "churned")
        | ((segment == "silent") & (alive < likely_gone)),
        f"models: P(alive) < {likely_gone}": alive < likely_gone,
    }
    for name, predicted in candidates.items():
        precision, recall = _precision_recall(predicted, gone)
        print(f"{name:<44} {precision:9.3f} {recall:7.3f}")
    print(f"\nAUC of P(alive) for 'still alive at the end': {roc_auc_score(~gone, alive):.3f}")


def _holdout(analytics: AnalyticsEngine, settings: object, workspace: int, end: object) -> None:
    horizon = 30
    calibration_end = end - timedelta(days=horizon)  # type: ignore[operator]
    before = summaries(analytics, workspace, calibration_end, MESSAGE_KINDS)
    after = summaries(analytics, workspace, end, MESSAGE_KINDS)  # type: ignore[arg-type]
    print(f"\nholdout: calibrate up to {calibration_end:%Y-%m-%d}, predict active days in the next {horizon}")
    for community, members in before.items():
        test = window(members, after.get(community))
        assert test is not None
        for modified in (False, True):
            name = "MBG/NBD" if modified else "BG/NBD"
            fitted = bgnbd.fit(members.summary, modified=modified).params
            predicted = bgnbd.expected_events(fitted, members.summary, float(horizon), modified=modified)
            actual = test.future_days
            print(
                f"  {name}: predicted {predicted.sum():,.0f} active days, actual {actual.sum():,.0f}; "
                f"mean absolute error per member {np.abs(predicted - actual).mean():.3f}; "
                f"AUC for 'active again' {roc_auc_score(actual > 0, predicted):.3f}"
            )
            print(f"    {'repeat days in calibration':<28} {'members':>8} {'predicted':>10} {'actual':>8}")
            x = members.summary.x
            for low, high in ((0, 0), (1, 1), (2, 3), (4, 7), (8, 15), (16, 10**9)):
                mask = (x >= low) & (x <= high)
                if mask.any():
                    label = f"{low}" if low == high else (f"{low}+" if high > 10**8 else f"{low}-{high}")
                    print(
                        f"    {label:<28} {int(mask.sum()):>8,} {predicted[mask].mean():>10.2f} "
                        f"{actual[mask].mean():>8.2f}"
                    )


if __name__ == "__main__":
    main()
