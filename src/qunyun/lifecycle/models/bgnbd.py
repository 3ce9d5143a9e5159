"""BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
the Pareto/NBD Model", Marketing Science 24(2); and its modification MBG/NBD: Batislam, Denizel &
Filiztekin (2007), "Empirical validation and comparison of models for customer base analysis",
IJRM 24(3), where a member may also drop out right at the first event (so a member seen once
is not certainly alive).

While alive, a member's events follow a Poisson process with rate λ ~ Gamma(r, α); after each
event the member drops out with probability p ~ Beta(a, b). For one member with x repeat
events, the last at t_x, observed for T (paper, eq. 6):

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + 1{x>0} · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

Written here as ln L = A + ln(e^B1 + e^B2), with the two alternatives (alive at T, or dropped
out right after t_x) as log-terms B1, B2 combined by logaddexp, so nothing overflows for large
x or T; the gradient follows from the same split (each alternative weighted by its share).
P(alive) is the first alternative's share (eq. 13 in the paper's appendix form), and the
expected number of events in the next t (eq. 10) uses the Gauss hypergeometric function.

MBG/NBD changes two things: B(a, b+x+1) replaces B(a, b+x) in the first term, and the
drop-out alternative, now with weight a/(b+x), applies to every member including x = 0.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from qunyun.lifecycle.models.fitting import FitResult, at_original_scale, maximise_warm
from qunyun.lifecycle.models.summary import Floats, Grouped, Summary


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


def _log_add(u: Floats, v: Floats) -> Floats:
    """ln(e^u + e^v) for finite u and v ≤ +inf-free: numpy's logaddexp is ~5x slower."""
    high = np.maximum(u, v)
    result: Floats = high + np.log1p(np.exp(-np.abs(u - v)))
    return result


def _shift(modified: bool) -> int:
    """x + shift is the Beta's second argument in the first term; b + x - 1 + shift the
    denominator of the drop-out weight."""
    return 1 if modified else 0


def _terms(
    p: Floats, x: Floats, t_x: Floats, T: Floats, modified: bool = False
) -> tuple[Floats, Floats, Floats]:
    """(A, B1, B2) with ln L = A + logaddexp(B1, B2); for BG/NBD B2 = -inf where x = 0."""
    r, alpha, a, b = p
    k = _shift(modified)
    shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x + k) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    can_drop = np.ones_like(x, dtype=bool) if modified else x > 0
    dropped = np.full_like(x, -np.inf)
    xd = x[can_drop]
    dropped[can_drop] = np.log(a) - np.log(b + xd - 1 + k) - (r + xd) * np.log(alpha + t_x[can_drop])
    return shared, alive, dropped


def log_likelihood(p: Floats, g: Grouped, modified: bool = False) -> tuple[float, Floats]:
    """Weighted log-likelihood of grouped data and its gradient in (r, α, a, b).

    The same terms as `_terms`, but every special function and log is evaluated once per
    distinct x, t_x or T (a few hundred values on daily data) and gathered, so a million
    members cost a few passes of plain arithmetic over the distinct triples.
    """
    r, alpha, a, b = p
    k = _shift(modified)
    w, x = g.weight, g.x
    xl, tl, big_t = g.x_levels, g.t_x_levels, g.T_levels
    ux = xl.values
    # +inf where the member cannot have dropped out (BG/NBD, x = 0): the drop-out term is then
    # ln a - inf = -inf, i.e. no mass, without a per-triple branch.
    log_b_x = np.where(ux + k > 0, np.log(np.maximum(b + ux - 1 + k, 1e-300)), np.inf)
    per_x = {
        "shared": (gammaln(r + ux) - gammaln(r) + betaln(a, b + ux + k) - betaln(a, b))[xl.at],
        "dg_r": digamma(r + ux)[xl.at],
        "dg_ab": digamma(a + b + ux + k)[xl.at],
        "dg_b": digamma(b + ux + k)[xl.at],
        "log_b_x": log_b_x[xl.at],
        "inv_b_x": np.where(ux + k > 0, 1.0 / np.maximum(b + ux - 1 + k, 1e-300), 0.0)[xl.at],
    }
    log_T, inv_T = np.log(alpha + big_t.values)[big_t.at], (1.0 / (alpha + big_t.values))[big_t.at]
    log_tx, inv_tx = np.log(alpha + tl.values)[tl.at], (1.0 / (alpha + tl.values))[tl.at]
    rx = r + x
    alive = -rx * log_T
    dropped = np.log(a) - per_x["log_b_x"] - rx * log_tx
    total = _log_add(alive, dropped)
    share_alive = np.exp(alive - total)
    share_dropped = np.exp(dropped - total)  # 0 where the member cannot have dropped out
    d_r = per_x["dg_r"] - digamma(r) + np.log(alpha) - share_alive * log_T - share_dropped * log_tx
    d_alpha = r / alpha - rx * (share_alive * inv_T + share_dropped * inv_tx)
    ab = digamma(a + b) - per_x["dg_ab"]
    d_a = ab + share_dropped / a
    d_b = ab + per_x["dg_b"] - digamma(b) - share_dropped * per_x["inv_b_x"]
    # Weighted sums as multiply-and-add: np.dot wakes BLAS threads, ~1 ms per call here.
    grad = np.array([float(np.add.reduce(w * d)) for d in (d_r, d_alpha, d_a, d_b)])
    value = float(np.add.reduce(w * (per_x["shared"] + total))) + r * np.log(alpha) * float(w.sum())
    return float(value), grad


@dataclass(frozen=True)
class BgNbdFit:
    params: BgNbdParams
    fit: FitResult
    members: int
    triples: int


def fit(summary: Summary, modified: bool = False) -> BgNbdFit:
    """Maximum-likelihood BG/NBD (MBG/NBD if `modified`) on `summary`, fitted once per distinct
    (x, t_x, T)."""
    grouped = Grouped.of(summary)
    # Work in time units where the typical age is 1, so α starts near its optimum's scale;
    # α scales with time and the likelihood only shifts by a constant, so unscale afterwards.
    scale = float(np.median(grouped.T))
    scaled = Grouped(grouped.x, grouped.t_x / scale, grouped.T / scale, grouped.weight)
    result = maximise_warm(
        lambda g: lambda p: log_likelihood(p, g, modified),
        scaled,
        [(1.0, 1.0, 1.0, 1.0), (0.3, 0.5, 0.8, 2.5), (3.0, 3.0, 0.3, 0.3)],
    )
    r, alpha, a, b = result.params
    params = np.array([r, alpha * scale, a, b])
    unscaled = at_original_scale(result, params, lambda p: log_likelihood(p, grouped, modified))
    return BgNbdFit(BgNbdParams(*map(float, params)), unscaled, grouped.members, int(grouped.x.size))


def _vector(params: BgNbdParams) -> Floats:
    return np.array([params.r, params.alpha, params.a, params.b])


def p_alive(params: BgNbdParams, summary: Summary, modified: bool = False) -> Floats:
    """P(still alive at T | x, t_x, T) per member (BG/NBD: 1 for members with no repeat event)."""
    _, alive, dropped = _terms(_vector(params), summary.x, summary.t_x, summary.T, modified)
    result: Floats = np.exp(alive - np.logaddexp(alive, dropped))
    return result


def expected_events(params: BgNbdParams, summary: Summary, t: float, modified: bool = False) -> Floats:
    """E[events in (T, T+t] | x, t_x, T] per member (paper, eq. 10; MBG: the same with the
    Beta arguments shifted by one)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    k = _shift(modified)
    x, T = summary.x, summary.T
    z = t / (alpha + T + t)
    hyper = hyp2f1(r + x, b + x + k, a + b + x - 1 + k, z)
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    alive_part = (a + b + x - 1 + k) / (a - 1) * (1 - ratio * hyper)
    result: Floats = alive_part * p_alive(params, summary, modified)
    return result


def expected_events_new_member(params: BgNbdParams, t: float) -> float:
    """E[X(t)] for a member just arrived (paper, eq. 7): for checking a fit against the data."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + t)
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z)))
