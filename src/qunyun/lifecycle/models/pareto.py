"""Pareto/NBD: Schmittlein, Morrison & Colombo (1987), "Counting Your Customers: Who Are They and
What Will They Do Next?", Management Science 33(1); likelihood as in Fader & Hardie (2005),
"A Note on Deriving the Pareto/NBD Model and Related Expressions".

While alive a member's events are Poisson(λ), λ ~ Gamma(r, α); lifetimes are exponential(μ),
μ ~ Gamma(s, β). For x repeat events, the last at t_x, observed for T:

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ]

with A0 = F(t_x) - F(T), F(u) = 2F1(r+s+x, c; r+s+x+1; z(u)) / (m+u)^(r+s+x), where
m = max(α, β), c = s+1 and z(u) = (α-β)/(α+u) if α ≥ β, else c = r+x and z(u) = (β-α)/(β+u).

Numerics: each 2F1 is taken through Euler's transformation, 2F1(a, c; a+1; z) =
(1-z)^(1-c) 2F1(1, a+1-c; a+1; z), whose remaining series converges at z = 1 for every member
with x ≥ 1, so nothing overflows for large x; A0 is formed in logs (ln F(t_x) + log1p(-e^(ln F(T)
- ln F(t_x)))) and the two alternatives are combined by logaddexp. The gradient is by central
differences in log-parameters: 2F1 has no cheap parameter derivatives, and four parameters
cost eight likelihood evaluations over the grouped triples.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, hyp2f1

from qunyun.lifecycle.models.fitting import FitResult, at_original_scale, maximise
from qunyun.lifecycle.models.summary import Floats, Grouped, Summary

_STEP = 1e-5  # relative step of the central differences


@dataclass(frozen=True)
class ParetoParams:
    r: float
    alpha: float
    s: float
    beta: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}


def _log_f(p: Floats, x: Floats, u: Floats) -> Floats:
    r, alpha, s, beta = p
    a = r + s + x
    if alpha >= beta:
        m, c, z = alpha, s + 1.0, (alpha - beta) / (alpha + u)
    else:
        m, c, z = beta, r + x, (beta - alpha) / (beta + u)
    log_hyper = (1.0 - c) * np.log1p(-z) + np.log(hyp2f1(1.0, a + 1.0 - c, a + 1.0, z))
    result: Floats = log_hyper - a * np.log(m + u)
    return result


def _terms(p: Floats, x: Floats, t_x: Floats, T: Floats) -> tuple[Floats, Floats, Floats]:
    """(shared, alive, dropped) with ln L = shared + logaddexp(alive, dropped)."""
    r, alpha, s, beta = p
    shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    at_last, at_end = _log_f(p, x, t_x), _log_f(p, x, T)
    with np.errstate(divide="ignore"):  # A0 = 0 when t_x = T: that alternative has no mass
        log_a0 = at_last + np.log1p(-np.exp(np.minimum(at_end - at_last, 0.0)))
    dropped = np.log(s) - np.log(r + s + x) + log_a0
    return shared, alive, dropped


def _value(p: Floats, g: Grouped) -> float:
    """The weighted log-likelihood; -inf where 2F1 gives up (far-out trial parameters of a line
    search), which the optimiser treats as a wall."""
    with np.errstate(all="ignore"):
        shared, alive, dropped = _terms(p, g.x, g.t_x, g.T)
        value = float(np.dot(g.weight, shared + np.logaddexp(alive, dropped)))
    return value if np.isfinite(value) else -np.inf


def log_likelihood(p: Floats, g: Grouped) -> tuple[float, Floats]:
    """Weighted log-likelihood and its gradient in (r, α, s, β) (central differences)."""
    value = _value(p, g)
    grad = np.zeros(4)
    if not np.isfinite(value):
        return value, grad
    for i in range(4):
        up, down = p.copy(), p.copy()
        up[i] *= 1 + _STEP
        down[i] *= 1 - _STEP
        grad[i] = (_value(up, g) - _value(down, g)) / (2 * _STEP * p[i])
    return value, grad


@dataclass(frozen=True)
class ParetoFit:
    params: ParetoParams
    fit: FitResult
    members: int
    triples: int


def fit(summary: Summary) -> ParetoFit:
    grouped = Grouped.of(summary)
    scale = float(np.median(grouped.T))
    scaled = Grouped(grouped.x, grouped.t_x / scale, grouped.T / scale, grouped.weight)
    starts = [(1.0, 1.0, 1.0, 1.0), (0.5, 2.0, 0.5, 2.0)]
    result = maximise(lambda p: log_likelihood(p, scaled), starts, scale=grouped.members)
    r, alpha, s, beta = result.params
    params = np.array([r, alpha * scale, s, beta * scale])
    unscaled = at_original_scale(result, params, lambda p: log_likelihood(p, grouped))
    return ParetoFit(ParetoParams(*map(float, params)), unscaled, grouped.members, int(grouped.x.size))


def _vector(params: ParetoParams) -> Floats:
    return np.array([params.r, params.alpha, params.s, params.beta])


def p_alive(params: ParetoParams, summary: Summary) -> Floats:
    _, alive, dropped = _terms(_vector(params), summary.x, summary.t_x, summary.T)
    result: Floats = np.exp(alive - np.logaddexp(alive, dropped))
    return result


def expected_events(params: ParetoParams, summary: Summary, t: float) -> Floats:
    """E[events in (T, T+t]] = P(alive) · (r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)]
    (Schmittlein et al. 1987), written so that s → 1 gives its limit, (r+x)(β+T)/(α+T)·ln(...)."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    x, T = summary.x, summary.T
    log_ratio = np.log(beta + T) - np.log(beta + T + t)
    horizon = -log_ratio if abs(s - 1.0) < 1e-09 else -np.expm1((s - 1.0) * log_ratio) / (s - 1.0)
    result: Floats = p_alive(params, summary) * (r + x) * (beta + T) / (alpha + T) * horizon
    return result
