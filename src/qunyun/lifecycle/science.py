"""Fit, backtest and score the lifecycle models per community, and store what came out.

For each community: a backtest on its own history picks what ranks "active again soon" best
(lifecycle/models/backtest.py); if a model or the learned classifier beats the rules, it is
fitted on the full history and every member gets P(alive) (or the classifier's probability)
and expected activity; otherwise the community stays on the rules, and the stored fit says
why. Purchases get BG/NBD (repeat buying) and Gamma-Gamma (spend) for CLV when there are
enough buyers. Runs from `qunyun refresh` every `models.refit_days`, or `qunyun models fit`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, insert, select

from qunyun.analytics import AnalyticsEngine
from qunyun.analytics.rfm import event_summary
from qunyun.config import ModelsConfig, Settings
from qunyun.domain import MESSAGE_KINDS, ActivityKind, Clock
from qunyun.errors import ModelError
from qunyun.lifecycle.models import backtest, bgnbd, gamma_gamma, pareto
from qunyun.lifecycle.models.backtest import BacktestResult, Window
from qunyun.lifecycle.models.fitting import FitResult
from qunyun.lifecycle.models.summary import Floats, Summary
from qunyun.store.bulk import upsert_rows
from qunyun.store.tables import member_scores, model_backtests, model_fits
from qunyun.store.types import encode_utc

DAYS_PER_MONTH = 30.4375
_MIN_REPEAT_BUYERS = 10


@dataclass(frozen=True)
class Members:
    """One community's members with at least one event, as arrays aligned with `summary`."""

    ids: Floats
    summary: Summary
    repeat_spend: Floats


def summaries(
    engine: AnalyticsEngine, workspace_id: int, at: datetime, kinds: Iterable[ActivityKind]
) -> dict[int, Members]:
    """Per community, the members whose first event is before `at`'s local day (T > 0)."""
    table = event_summary(engine, workspace_id, at, kinds).to_pyarrow()
    columns = {name: table.column(name).to_numpy().astype(np.float64) for name in table.column_names}
    out: dict[int, Members] = {}
    for community in np.unique(columns["community_id"]):
        keep = (columns["community_id"] == community) & (columns["T"] > 0)
        if keep.any():
            out[int(community)] = Members(
                columns["member_id"][keep],
                Summary.of(columns["x"][keep], columns["t_x"][keep], columns["T"][keep]),
                columns["repeat_spend_minor"][keep],
            )
    return out


def _event_days(members: Members, ids: Floats) -> Floats:
    """Event days so far of each member in `ids` (0 for those without any)."""
    lookup = dict(zip(members.ids.tolist(), (members.summary.x + 1).tolist(), strict=True))
    return np.array([lookup.get(i, 0.0) for i in ids.tolist()])


def window(before: Members | None, after: Members | None) -> Window | None:
    """Members at a cutoff and the event days each added by the end of the horizon."""
    if before is None:
        return None
    added = (_event_days(after, before.ids) if after else before.summary.x + 1) - (before.summary.x + 1)
    return Window(before.summary, np.maximum(added, 0.0))


@dataclass
class CommunityModels:
    community_id: int
    members: int
    chosen: str
    status: str
    backtest: BacktestResult | None = None
    activity_params: dict[str, float] = field(default_factory=dict)
    activity_fit: dict[str, Any] = field(default_factory=dict)
    purchase_fit: dict[str, Any] = field(default_factory=dict)
    spend_fit: dict[str, Any] = field(default_factory=dict)
    purchase_params: dict[str, float] = field(default_factory=dict)
    spend_params: dict[str, float] = field(default_factory=dict)


def local_midnight(at: datetime, settings: Settings) -> datetime:
    local = at.astimezone(settings.zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


MessageSummaries = Callable[[datetime], dict[int, Members]]


def message_summaries(engine: AnalyticsEngine, workspace_id: int) -> MessageSummaries:
    """Per-community message summaries at an instant, each instant computed once."""

    @cache
    def at(when: datetime) -> dict[int, Members]:
        return summaries(engine, workspace_id, when, MESSAGE_KINDS)

    return at


def run_backtests(
    engine: AnalyticsEngine,
    settings: Settings,
    workspace_id: int,
    cutoff: datetime,
    horizon_days: int,
    summaries_at: MessageSummaries | None = None,
) -> dict[int, BacktestResult]:
    """Backtest every community at `cutoff` (made a local midnight) with the given horizon."""
    summaries_at = summaries_at or message_summaries(engine, workspace_id)
    cutoff = local_midnight(cutoff, settings)
    horizon = timedelta(days=horizon_days)
    at = {
        name: summaries_at(when)
        for name, when in (("earlier", cutoff - horizon), ("cutoff", cutoff), ("end", cutoff + horizon))
    }
    results = {}
    for community, members in at["cutoff"].items():
        test = window(members, at["end"].get(community))
        earlier = window(at["earlier"].get(community), members)
        if test is None or len(members.summary) < settings.models.min_members:
            continue
        results[community] = backtest.run(test, earlier, float(horizon_days), settings.models.min_auc_gain)
    return results


@dataclass(frozen=True)
class ActivityScores:
    alive: Floats  # P(alive), or the classifier's P(active within the horizon)
    expected_30d: Floats | None
    params: dict[str, float]
    fit: dict[str, Any]  # log-likelihood and optimiser diagnostics


def _diagnostics(fit: FitResult, triples: int) -> dict[str, Any]:
    return {
        "log_likelihood": fit.log_likelihood,
        "converged": fit.converged,
        "iterations": fit.iterations,
        "gradient_norm": fit.gradient_norm,
        "message": fit.message,
        "triples": triples,
    }


def _activity_scores(chosen: str, fit_on: Members, earlier: Window | None) -> ActivityScores:
    """Scores of every member under the `chosen` predictor, fitted on the full history."""
    s = fit_on.summary
    if chosen == "pareto":
        fitted_p = pareto.fit(s)
        p = fitted_p.params
        return ActivityScores(
            pareto.p_alive(p, s),
            pareto.expected_events(p, s, 30.0),
            p.as_dict(),
            _diagnostics(fitted_p.fit, fitted_p.triples),
        )
    if chosen in ("bgnbd", "mbgnbd"):
        modified = chosen == "mbgnbd"
        fitted = bgnbd.fit(s, modified=modified)
        b = fitted.params
        return ActivityScores(
            bgnbd.p_alive(b, s, modified=modified),
            bgnbd.expected_events(b, s, 30.0, modified=modified),
            b.as_dict(),
            _diagnostics(fitted.fit, fitted.triples),
        )
    classifier = backtest.train_classifier(earlier) if earlier is not None else None
    if classifier is None:
        raise ValueError("the classifier has nothing to learn from")
    return ActivityScores(
        classifier.predict_proba(backtest.features(s))[:, 1],
        None,
        {},
        {"trained_on": len(earlier.summary) if earlier else 0},
    )


def _clv(params: bgnbd.BgNbdParams, s: Summary, spend: Floats, config: ModelsConfig) -> Floats:
    """Margin x E[spend per purchase] x discounted expected purchases, month by month."""
    monthly = (1.0 + config.annual_discount_rate) ** (1.0 / 12.0) - 1.0
    total = np.zeros(len(s))
    previous = np.zeros(len(s))
    for month in range(1, config.clv_months + 1):
        cumulative = bgnbd.expected_events(params, s, month * DAYS_PER_MONTH)
        total += (cumulative - previous) / (1.0 + monthly) ** month
        previous = cumulative
    result: Floats = config.margin * spend * total
    return result


@dataclass(frozen=True)
class Scored:
    rows: list[tuple[Any, ...]]
    outcome: CommunityModels


def fit_and_score(
    analytics: AnalyticsEngine,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    as_of: datetime,
    clock: Clock,
) -> list[CommunityModels]:
    """Backtest, fit and score every community as of `as_of`; store fits, backtests, scores."""
    config = settings.models
    horizon = config.horizon_days
    cutoff = local_midnight(as_of, settings) - timedelta(days=horizon)
    summaries_at = message_summaries(analytics, workspace_id)  # the cutoff's is needed twice
    tests = run_backtests(analytics, settings, workspace_id, cutoff, horizon, summaries_at)
    activity = summaries_at(as_of)
    purchases = summaries(analytics, workspace_id, as_of, [ActivityKind.PURCHASE])
    at_cutoff = summaries_at(cutoff)
    outcomes = []
    for community in sorted(set(activity) | set(purchases)):
        members = activity.get(community)
        result = tests.get(community)
        outcome = CommunityModels(
            community, 0 if members is None else len(members.summary), "rules", "too_few"
        )
        outcome.backtest = result
        score_rows: dict[int, dict[str, Any]] = {}
        if members is not None and result is not None:
            outcome.chosen = result.chosen
            outcome.status = "rules_win" if result.chosen == "rules" else "ok"
            if result.chosen != "rules":
                _score_activity(outcome, members, window(at_cutoff.get(community), members), score_rows)
        if members is not None:
            past = (members.summary.x + 1) / members.summary.T * 30.0
            for i, member in enumerate(members.ids.tolist()):
                score_rows.setdefault(int(member), {})["past_activity_30d"] = float(past[i])
        _score_purchases(purchases.get(community), config, outcome, score_rows)
        outcomes.append(outcome)
        _store(engine, workspace_id, community, as_of, clock, cutoff, outcome, score_rows)
    return outcomes


def _score_activity(
    outcome: CommunityModels, members: Members, learn_from: Window | None, rows: dict[int, dict[str, Any]]
) -> None:
    """Scores under the backtest's choice; a fit that fails numerically leaves the community on
    the rules (status `failed`, the reason in the diagnostics) instead of failing the refresh."""
    try:
        scores = _activity_scores(outcome.chosen, members, learn_from)
    except (ArithmeticError, ValueError, ModelError) as exc:
        outcome.activity_fit = {"failed": f"{outcome.chosen}: {exc}"}
        outcome.chosen, outcome.status = "rules", "failed"
        return
    outcome.activity_params, outcome.activity_fit = scores.params, scores.fit
    expected = scores.expected_30d
    for i, member in enumerate(members.ids.tolist()):
        rows[int(member)] = {
            "p_alive": float(scores.alive[i]),
            "expected_activity_30d": None if expected is None else float(expected[i]),
        }


def _score_purchases(
    buyers: Members | None, config: ModelsConfig, outcome: CommunityModels, rows: dict[int, dict[str, Any]]
) -> None:
    if buyers is None or len(buyers.summary) < config.min_members:
        return
    s = buyers.summary
    try:
        fitted = bgnbd.fit(s)
    except (ArithmeticError, ValueError, ModelError) as exc:
        outcome.purchase_fit = {"failed": str(exc)}
        return
    outcome.purchase_params = fitted.params.as_dict()
    outcome.purchase_fit = _diagnostics(fitted.fit, fitted.triples)
    horizon = config.clv_months * DAYS_PER_MONTH
    alive = bgnbd.p_alive(fitted.params, s)
    expected = bgnbd.expected_events(fitted.params, s, horizon)
    repeat = (s.x > 0) & (buyers.repeat_spend > 0)
    spend = np.full(len(s), np.nan)
    if int(repeat.sum()) >= _MIN_REPEAT_BUYERS:
        gg = gamma_gamma.fit(s.x[repeat], buyers.repeat_spend[repeat])
        outcome.spend_params = gg.params.as_dict()
        outcome.spend_fit = _diagnostics(gg.fit, gg.buyers)
        spend = gamma_gamma.expected_mean_value(gg.params, s.x, np.where(repeat, buyers.repeat_spend, 0.0))
    clv = _clv(fitted.params, s, spend, config)
    for i, member in enumerate(buyers.ids.tolist()):
        row = rows.setdefault(int(member), {})
        row["p_alive_purchase"] = float(alive[i])
        row["expected_purchases"] = float(expected[i])
        row["expected_spend_minor"] = None if np.isnan(spend[i]) else float(spend[i])
        row["clv_minor"] = None if np.isnan(clv[i]) else float(clv[i])


_SCORE_COLUMNS = (
    "community_id",
    "member_id",
    "as_of",
    "activity_model",
    "p_alive",
    "expected_activity_30d",
    "past_activity_30d",
    "p_alive_purchase",
    "expected_purchases",
    "expected_spend_minor",
    "clv_minor",
)


def _store(
    engine: Engine,
    workspace_id: int,
    community: int,
    as_of: datetime,
    clock: Clock,
    cutoff: datetime,
    outcome: CommunityModels,
    rows: dict[int, dict[str, Any]],
) -> None:
    """One transaction per community: its fits, its backtest and all its members' scores."""
    now = clock.now()
    with engine.begin() as conn:
        dialect = conn.dialect.name
        bound = [
            (
                community,
                member,
                encode_utc(as_of, dialect),
                outcome.chosen,
                *[values.get(column) for column in _SCORE_COLUMNS[4:]],
            )
            for member, values in sorted(rows.items())
        ]
        upsert_rows(conn, member_scores, _SCORE_COLUMNS, ("community_id", "member_id"), bound)
        # Members scored before but not now (no event any more, now staff): no stale scores.
        conn.execute(
            delete(member_scores).where(
                member_scores.c.community_id == community, member_scores.c.as_of != as_of
            )
        )
        _record_fits(conn, workspace_id, community, as_of, now, outcome)
        if outcome.backtest is not None:
            conn.execute(
                insert(model_backtests).values(
                    workspace_id=workspace_id,
                    community_id=community,
                    cutoff=cutoff,
                    horizon_days=int((as_of - cutoff).days),
                    ran_at=now,
                    winner=outcome.backtest.winner,
                    results=outcome.backtest.as_json(),
                )
            )


def _record_fits(
    conn: Connection,
    workspace_id: int,
    community: int,
    as_of: datetime,
    now: datetime,
    outcome: CommunityModels,
) -> None:
    base = {"workspace_id": workspace_id, "community_id": community, "as_of": as_of, "fitted_at": now}
    why = {"backtest": outcome.backtest.as_json() if outcome.backtest else None, **outcome.activity_fit}
    conn.execute(
        insert(model_fits).values(
            **base,
            target="activity",
            model=outcome.chosen,
            status=outcome.status,
            params=outcome.activity_params,
            log_likelihood=outcome.activity_fit.get("log_likelihood"),
            members=outcome.members,
            diagnostics=why,
        )
    )
    for target, model, params, fit in (
        ("purchase", "bgnbd", outcome.purchase_params, outcome.purchase_fit),
        ("spend", "gamma_gamma", outcome.spend_params, outcome.spend_fit),
    ):
        if params:
            conn.execute(
                insert(model_fits).values(
                    **base,
                    target=target,
                    model=model,
                    status="ok",
                    params=params,
                    log_likelihood=fit.get("log_likelihood"),
                    members=int(fit.get("triples", 0)) if target == "spend" else 0,
                    diagnostics=fit,
                )
            )


def last_fit_at(conn: Connection, workspace_id: int) -> datetime | None:
    value: datetime | None = conn.execute(
        select(model_fits.c.as_of)
        .where(model_fits.c.workspace_id == workspace_id)
        .order_by(model_fits.c.as_of.desc())
        .limit(1)
    ).scalar()
    return value
