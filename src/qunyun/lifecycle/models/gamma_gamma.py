"""Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", Journal of Marketing Research 42(4); the model is Colombo & Jiang (1999)
in Fader & Hardie's note "The Gamma-Gamma Model of Monetary Value" (2013).

Each transaction's value is Gamma(p, ν) around a member's own mean; ν ~ Gamma(q, γ) across
members. A member with x repeat transactions averaging m̄ has (note, eq. 3)

    f(m̄ | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px-1) x^(px) / (γ + m̄x)^(px+q)

and an expected average transaction value of p(γ + m̄x) / (px + q - 1) (eq. 5). Fitted on
repeat buyers only (x > 0), as in the paper; the model assumes spend independent of frequency.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from qunyun.lifecycle.models.fitting import FitResult, at_original_scale, maximise
from qunyun.lifecycle.models.summary import Floats, bad_input


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    fit: FitResult
    buyers: int


def _checked(x: object, mean_value: object) -> tuple[Floats, Floats]:
    xs = np.asarray(x, dtype=np.float64).ravel()
    ms = np.asarray(mean_value, dtype=np.float64).ravel()
    if xs.size != ms.size:
        raise bad_input("x and the mean values must have one value per buyer")
    bad = ~np.isfinite(xs) | ~np.isfinite(ms) | (xs <= 0) | (ms <= 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise bad_input(f"buyer row {row}: x and the mean value must be positive (x={xs[row]}, m={ms[row]})")
    return xs, ms


def log_likelihood(params: Floats, x: Floats, m: Floats) -> tuple[float, Floats]:
    p, q, gamma = params
    px = p * x
    log_m, log_x, log_sum = np.log(m), np.log(x), np.log(gamma + m * x)
    terms = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_sum
    )
    d_p = x * (digamma(px + q) - digamma(px) + log_m + log_x - log_sum)
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_sum
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    return float(terms.sum()), np.array([d_p.sum(), d_q.sum(), d_gamma.sum()])


def fit(x: object, mean_value: object) -> GammaGammaFit:
    """Fit on repeat buyers: x > 0 repeat transactions with average value `mean_value`."""
    xs, ms = _checked(x, mean_value)
    # γ is in money units: fit on values scaled to a typical value of 1, then scale γ back.
    scale = float(np.median(ms))
    starts = [(1.0, 1.0, 1.0), (5.0, 3.0, 5.0), (0.5, 5.0, 0.5)]
    result = maximise(lambda p: log_likelihood(p, xs, ms / scale), starts, scale=float(xs.size))
    p, q, gamma = result.params
    params = np.array([p, q, gamma * scale])
    unscaled = at_original_scale(result, params, lambda v: log_likelihood(v, xs, ms))
    return GammaGammaFit(GammaGammaParams(*map(float, params)), unscaled, int(xs.size))


def expected_mean_value(params: GammaGammaParams, x: object, mean_value: object) -> Floats:
    """E[M | x, m̄] per member; members with no repeat purchase get the population mean."""
    xs = np.asarray(x, dtype=np.float64).ravel()
    ms = np.nan_to_num(np.asarray(mean_value, dtype=np.float64).ravel())
    p, q, gamma = params.p, params.q, params.gamma
    result: Floats = p * (gamma + ms * xs) / (p * xs + q - 1)
    return result
