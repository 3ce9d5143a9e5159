"""Draw (x, t_x, T) from the models' own generative stories: for tests that a fit recovers the
parameters it was given, and for the 1M-member fitting benchmark."""

import numpy as np

from qunyun.lifecycle.models.summary import Floats, Summary


def _observe(rng: np.random.Generator, rate: Floats, T: Floats, ends: Floats, drop: Floats | None) -> Summary:
    """Poisson events at `rate` from 0 until the member's end (`ends`, or a drop-out with
    probability `drop` after each event) or T, whichever comes first."""
    n = rate.size
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    open_ = np.ones(n, dtype=bool)
    while open_.any():
        idx = np.flatnonzero(open_)
        now[idx] += rng.exponential(1.0 / rate[idx])
        happened = now[idx] <= np.minimum(T[idx], ends[idx])
        hit = idx[happened]
        x[hit] += 1
        t_x[hit] = now[hit]
        open_[idx[~happened]] = False
        if drop is not None:
            open_[hit[rng.random(hit.size) < drop[hit]]] = False
    return Summary.of(x, t_x, T)


def beta_geometric(
    rng: np.random.Generator,
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Floats,
    modified: bool = False,
) -> Summary:
    """BG/NBD members (MBG/NBD if `modified`: a drop-out is also possible at the first event)."""
    rate = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    ends = np.full(n, np.inf)
    if modified:
        ends[rng.random(n) < drop] = 0.0  # gone right after the first event
    return _observe(rng, np.maximum(rate, 1e-12), T, ends, drop)


def pareto_nbd(
    rng: np.random.Generator, n: int, r: float, alpha: float, s: float, beta: float, T: Floats
) -> Summary:
    """Pareto/NBD members: Poisson(λ) events during an exponential lifetime of rate μ."""
    rate = rng.gamma(r, 1.0 / alpha, n)
    death = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0 / np.maximum(death, 1e-12))
    return _observe(rng, np.maximum(rate, 1e-12), T, lifetime, None)
