"""Which predictor of "active again soon" to trust, decided on the community's own history.

Probabilistic models can lose to plain rules: BG/NBD calls every one-time member alive, and
one-time members are most of a community. So each candidate is scored on a split in time:
summaries up to a cutoff, outcome = event days in the `horizon` after it.

Candidates: BG/NBD, MBG/NBD, Pareto/NBD (ranked by expected events in the horizon; the AUC
of their P(alive) is reported too), a recency rule (fewer days since the last event is
better), a frequency rule (more repeat events is better), and a learned classifier
(scikit-learn gradient boosting on x, t_x, T, recency and rate) trained one horizon earlier:
features at cutoff - horizon, labels from (cutoff - horizon, cutoff]. ROC AUC for "any event
in the horizon", and predicted vs actual event days for the models that predict counts.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from qunyun.lifecycle.models import bgnbd, pareto
from qunyun.lifecycle.models.summary import Floats, Summary

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

# scikit-learn is imported where it is used: importing it costs ~4 s, and every CLI command
# (a daily `qunyun refresh` included) would pay that at start-up.

MODELS = ("bgnbd", "mbgnbd", "pareto")
RULES = ("recency", "frequency")
LEARNED = "classifier"


@dataclass(frozen=True)
class Window:
    """Members with at least one event before a cutoff, and what they did in the horizon."""

    summary: Summary
    future_days: Floats  # event days in (cutoff, cutoff + horizon]

    @property
    def came_back(self) -> Floats:
        result: Floats = (self.future_days > 0).astype(np.float64)
        return result


@dataclass(frozen=True)
class Score:
    auc: float | None
    auc_p_alive: float | None = None
    predicted_total: float | None = None
    actual_total: float | None = None
    mean_abs_error: float | None = None


@dataclass(frozen=True)
class BacktestResult:
    members: int
    came_back: int
    scores: dict[str, Score]
    winner: str  # the best candidate overall
    chosen: str  # what refresh uses: a model or the classifier if it beats the rules, else "rules"
    margin: float | None  # chosen AUC minus the best rule's AUC

    def as_json(self) -> dict[str, object]:
        return {
            "members": self.members,
            "came_back": self.came_back,
            "winner": self.winner,
            "chosen": self.chosen,
            "margin_over_rules": self.margin,
            "scores": {name: asdict(score) for name, score in self.scores.items()},
        }


def _auc(truth: Floats, score: Floats) -> float | None:
    from sklearn.metrics import roc_auc_score

    if truth.min() == truth.max():
        return None  # everyone (or no one) came back: ranking has nothing to separate
    return float(roc_auc_score(truth, score))


def features(summary: Summary) -> Floats:
    recency = summary.T - summary.t_x
    result: Floats = np.column_stack(
        [summary.x, summary.t_x, summary.T, recency, summary.x / np.maximum(summary.T, 1.0)]
    )
    return result


def train_classifier(window: Window, seed: int = 0) -> "HistGradientBoostingClassifier | None":
    """Gradient boosting on (features at a cutoff, came back within the horizon); None if the
    window has a single class."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    labels = window.came_back
    if labels.min() == labels.max():
        return None
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=seed)
    model.fit(features(window.summary), labels)
    return model


def _model_score(name: str, calibration: Summary, test: Window, horizon: float) -> Score:
    modified = name == "mbgnbd"
    predicted: Floats
    alive: Floats
    if name == "pareto":
        fitted_pareto = pareto.fit(calibration).params
        predicted = pareto.expected_events(fitted_pareto, test.summary, horizon)
        alive = pareto.p_alive(fitted_pareto, test.summary)
    else:
        fitted = bgnbd.fit(calibration, modified=modified).params
        predicted = bgnbd.expected_events(fitted, test.summary, horizon, modified=modified)
        alive = bgnbd.p_alive(fitted, test.summary, modified=modified)
    truth = test.came_back
    return Score(
        auc=_auc(truth, predicted),
        auc_p_alive=_auc(truth, alive),
        predicted_total=float(predicted.sum()),
        actual_total=float(test.future_days.sum()),
        mean_abs_error=float(np.abs(predicted - test.future_days).mean()),
    )


def _rule_scores(test: Window) -> dict[str, Score]:
    s, truth = test.summary, test.came_back
    return {
        "recency": Score(auc=_auc(truth, -(s.T - s.t_x))),
        "frequency": Score(auc=_auc(truth, s.x)),
    }


def run(test: Window, earlier: Window | None, horizon: float, min_auc_gain: float = 0.0) -> BacktestResult:
    """Score every candidate on `test` (summaries at the cutoff, outcomes after it); the
    classifier learns on `earlier` (the same one horizon before) when given."""
    scores = _rule_scores(test)
    for name in MODELS:
        scores[name] = _guarded(partial(_model_score, name, test.summary, test, horizon))
    if earlier is not None:
        classifier = train_classifier(earlier)
        if classifier is not None:
            probability = classifier.predict_proba(features(test.summary))[:, 1]
            scores[LEARNED] = Score(auc=_auc(test.came_back, probability))
    return _decide(test, scores, min_auc_gain)


def _guarded(work: Callable[[], Score]) -> Score:
    """A candidate whose fit fails numerically is reported without an AUC, not fatal."""
    try:
        return work()
    except (ArithmeticError, ValueError):
        return Score(auc=None)


def _decide(test: Window, scores: dict[str, Score], min_auc_gain: float) -> BacktestResult:
    ranked = {name: s.auc for name, s in scores.items() if s.auc is not None}
    members, came_back = len(test.summary), int(test.came_back.sum())
    if not ranked:
        return BacktestResult(members, came_back, scores, "rules", "rules", None)
    winner = max(ranked, key=lambda name: ranked[name])
    best_rule = max((ranked[r] for r in RULES if r in ranked), default=0.5)
    learned = {n: a for n, a in ranked.items() if n not in RULES}
    if not learned:
        return BacktestResult(members, came_back, scores, winner, "rules", None)
    best = max(learned, key=lambda name: learned[name])
    margin = learned[best] - best_rule
    chosen = best if margin > min_auc_gain else "rules"
    return BacktestResult(members, came_back, scores, winner, chosen, margin)
