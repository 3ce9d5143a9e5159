"""BG/NBD and Gamma-Gamma against the published CDNOW figures, and on awkward data.

Published values: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way",
Marketing Science 24(2), section 4: r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4
on 2,357 CDNOW customers, 39-week calibration. Gamma-Gamma: Fader, Hardie & Lee (2005),
"RFM and CLV", p = 6.25, q = 3.74, γ = 15.44; the lifetimes package (0.11.3) reports
6.2488, 3.7446, 15.4477 on the same 946 repeat buyers, and for customer 1 (x=2, t_x=30.43,
T=38.86) P(alive) = 0.726609 and E[Y(39)] = 1.225910.
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from qunyun.errors import ModelError
from qunyun.lifecycle.models import bgnbd, fitting, gamma_gamma, pareto, synthetic
from qunyun.lifecycle.models.summary import Grouped, Summary

DATA = Path(__file__).parent / "data" / "cdnow_summary.csv"


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar")}


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: dict[str, np.ndarray]) -> bgnbd.BgNbdFit:
    return bgnbd.fit(Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"]))


def test_cdnow_has_the_papers_customers(cdnow: dict[str, np.ndarray]) -> None:
    assert len(cdnow["x"]) == 2357
    assert int((cdnow["x"] > 0).sum()) == 946


def test_bgnbd_reproduces_the_published_cdnow_parameters(cdnow_fit: bgnbd.BgNbdFit) -> None:
    p = cdnow_fit.params
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert round(cdnow_fit.fit.log_likelihood, 1) == -9582.4
    assert cdnow_fit.fit.converged
    assert cdnow_fit.fit.gradient_norm < 1e-3
    assert cdnow_fit.members == 2357
    assert cdnow_fit.triples < 2357


def test_bgnbd_member_outputs_match_lifetimes_for_customer_1(cdnow_fit: bgnbd.BgNbdFit) -> None:
    one = Summary.of([2], [30.43], [38.86])
    assert bgnbd.p_alive(cdnow_fit.params, one)[0] == pytest.approx(0.726609, abs=2e-6)
    assert bgnbd.expected_events(cdnow_fit.params, one, 39)[0] == pytest.approx(1.225910, abs=2e-6)


def test_bgnbd_gradient_matches_finite_differences(cdnow: dict[str, np.ndarray]) -> None:
    grouped = Grouped.of(Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"]))
    at = np.array([0.5, 3.0, 1.2, 2.0])
    _, grad = bgnbd.log_likelihood(at, grouped)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * at[i]
        up, _ = bgnbd.log_likelihood(at + step, grouped)
        down, _ = bgnbd.log_likelihood(at - step, grouped)
        assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


def test_grouped_likelihood_equals_the_sum_over_members(cdnow: dict[str, np.ndarray]) -> None:
    summary = Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"])
    params = np.array([0.243, 4.414, 0.793, 2.426])
    each = Grouped(summary.x, summary.t_x, summary.T, np.ones(len(summary)))
    assert bgnbd.log_likelihood(params, Grouped.of(summary))[0] == pytest.approx(
        bgnbd.log_likelihood(params, each)[0], rel=1e-12
    )


def test_expected_repeat_purchases_track_the_calibration_total(
    cdnow: dict[str, np.ndarray], cdnow_fit: bgnbd.BgNbdFit
) -> None:
    # The paper's figure 1: the model's cumulative repeat purchases follow the actual curve.
    # At the end of calibration the customers made 2,457 repeat purchases; E[X(T_i)] summed
    # over customers must land within 2% of it (measured: 2,494, +1.5%).
    assert cdnow["x"].sum() == 2457
    expected = sum(bgnbd.expected_events_new_member(cdnow_fit.params, t) for t in cdnow["T"])
    assert expected == pytest.approx(2457, rel=0.02)


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(cdnow: dict[str, np.ndarray]) -> None:
    repeat = cdnow["x"] > 0
    fitted = gamma_gamma.fit(cdnow["x"][repeat], cdnow["zbar"][repeat])
    p = fitted.params
    assert (round(p.p, 2), round(p.q, 2), round(p.gamma, 1)) == (6.25, 3.74, 15.4)
    assert (p.p, p.q, p.gamma) == pytest.approx((6.2488, 3.7446, 15.4477), abs=2e-4)
    assert fitted.buyers == 946
    # E[M] of a buyer with 2 repeat purchases averaging $22.35 is pulled towards the population
    # mean p·γ/(q-1) ≈ $35.2 (FHL 2005, eq. 5 and its limit)
    population = p.p * p.gamma / (p.q - 1)
    expected = gamma_gamma.expected_mean_value(p, [2], [22.35])[0]
    assert expected == pytest.approx(p.p * (p.gamma + 2 * 22.35) / (2 * p.p + p.q - 1))
    assert 22.35 < expected < population


def test_gamma_gamma_gradient_matches_finite_differences(cdnow: dict[str, np.ndarray]) -> None:
    repeat = cdnow["x"] > 0
    x, m = cdnow["x"][repeat], cdnow["zbar"][repeat]
    at = np.array([4.0, 2.0, 10.0])
    _, grad = gamma_gamma.log_likelihood(at, x, m)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6 * at[i]
        up, _ = gamma_gamma.log_likelihood(at + step, x, m)
        down, _ = gamma_gamma.log_likelihood(at - step, x, m)
        assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


def test_bgnbd_survives_awkward_data() -> None:
    rng = np.random.default_rng(7)
    # members with one activity only (x = 0) and a huge age next to ordinary ones
    n = 5000
    x = rng.poisson(1.0, n).astype(float)
    T = rng.uniform(1, 2000, n)
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    T[:10] = 1e6
    fitted = bgnbd.fit(Summary.of(x, t_x, T))
    summary = Summary.of(x, t_x, T)
    alive = bgnbd.p_alive(fitted.params, summary)
    expected = bgnbd.expected_events(fitted.params, summary, 30)
    assert np.isfinite(fitted.fit.log_likelihood)
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(np.isfinite(expected))
    assert np.all(expected >= 0)
    assert np.all(alive[x == 0] == 1.0)  # BG/NBD: no repeat event, no chance to drop out yet


def test_bgnbd_on_all_zero_frequency_or_five_members_stays_finite() -> None:
    nobody = bgnbd.fit(Summary.of(np.zeros(50), np.zeros(50), np.full(50, 90.0)))
    assert np.isfinite(nobody.fit.log_likelihood)
    tiny = bgnbd.fit(Summary.of([0, 1, 3, 0, 2], [0, 10, 40, 0, 5], [60, 60, 50, 20, 45]))
    assert np.isfinite(tiny.fit.log_likelihood)
    assert tiny.members == 5


@pytest.mark.parametrize(
    ("x", "t_x", "T", "needle"),
    [
        ([1, -1], [1, 0], [5, 5], "member row 1: x (repeat events) is negative"),
        ([1.5], [1], [5], "member row 0: x (repeat events) is not a whole number"),
        ([2], [6], [5], "member row 0: t_x is after T"),
        ([0], [3], [5], "member row 0: t_x must be 0 when x is 0"),
        ([0, 1], [0, 1], [5, float("nan")], "member row 1: a value is not finite"),
        ([0], [0], [0], "member row 0: T (age) must be positive"),
    ],
)
def test_bad_summaries_are_refused_naming_the_row(
    x: list[float], t_x: list[float], T: list[float], needle: str
) -> None:
    with pytest.raises(ModelError) as caught:
        Summary.of(x, t_x, T)
    assert needle in str(caught.value)
    assert caught.value.code == "models.bad_input"


# lifetimes 0.11.3 (an independent implementation) on the same CDNOW file, run 2026-11-24:
# ModifiedBetaGeoFitter r=0.524838 alpha=6.182988 a=0.891356 b=1.614, customer 1 P(alive)
# 0.706126 and E[Y(39)] 1.262671; ParetoNBDFitter customer 1 P(alive) 0.869118, E[Y(39)] 1.455112.


def test_mbgnbd_on_cdnow_matches_lifetimes(cdnow: dict[str, np.ndarray]) -> None:
    summary = Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"])
    fitted = bgnbd.fit(summary, modified=True)
    p = fitted.params
    assert (p.r, p.alpha, p.a, p.b) == pytest.approx((0.524838, 6.182988, 0.891356, 1.614), rel=1e-4)
    one = Summary.of([2], [30.43], [38.86])
    assert bgnbd.p_alive(p, one, modified=True)[0] == pytest.approx(0.706126, abs=5e-6)
    assert bgnbd.expected_events(p, one, 39, modified=True)[0] == pytest.approx(1.262671, abs=5e-6)
    # a member seen once may be gone already under MBG/NBD (not under BG/NBD)
    assert bgnbd.p_alive(p, Summary.of([0], [0], [38.86]), modified=True)[0] < 1.0


def test_mbgnbd_gradient_matches_finite_differences(cdnow: dict[str, np.ndarray]) -> None:
    grouped = Grouped.of(Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"]))
    at = np.array([0.5, 3.0, 1.2, 2.0])
    _, grad = bgnbd.log_likelihood(at, grouped, modified=True)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * at[i]
        up, _ = bgnbd.log_likelihood(at + step, grouped, modified=True)
        down, _ = bgnbd.log_likelihood(at - step, grouped, modified=True)
        assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


def test_pareto_nbd_reproduces_the_published_cdnow_parameters(cdnow: dict[str, np.ndarray]) -> None:
    # Fader, Hardie & Lee (2005), table 1 (Pareto/NBD on the same data): r = 0.553,
    # α = 10.578, s = 0.606, β = 11.669, LL = -9595.0. β is the flattest direction of the
    # likelihood: we land on 11.668 (lifetimes 0.11.3: 11.6677), so it is checked to 0.002.
    fitted = pareto.fit(Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"]))
    p = fitted.params
    assert (round(p.r, 3), round(p.alpha, 3), round(p.s, 3)) == (0.553, 10.578, 0.606)
    assert p.beta == pytest.approx(11.669, abs=2e-3)
    assert round(fitted.fit.log_likelihood, 1) == -9595.0
    one = Summary.of([2], [30.43], [38.86])
    assert pareto.p_alive(p, one)[0] == pytest.approx(0.869118, abs=5e-6)
    assert pareto.expected_events(p, one, 39)[0] == pytest.approx(1.455112, abs=5e-6)


def _day_rounded_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(20 * 7, 60 * 7, n) / 7.0  # weeks, observed in whole days


def _days(summary: Summary) -> Summary:
    """What a day-granular export gives: event times floored to the day."""
    return Summary.of(summary.x, np.floor(summary.t_x * 7) / 7, summary.T)


@pytest.mark.parametrize("modified", [False, True])
def test_bgnbd_recovers_the_parameters_it_simulated(modified: bool) -> None:
    rng = np.random.default_rng(11)
    truth = (0.5, 5.0, 0.8, 2.5)
    data = _days(synthetic.beta_geometric(rng, 40_000, *truth, _day_rounded_ages(rng, 40_000), modified))
    p = bgnbd.fit(data, modified=modified).params
    assert (p.r, p.alpha, p.a, p.b) == pytest.approx(truth, rel=0.15)


def test_pareto_nbd_recovers_the_parameters_it_simulated() -> None:
    rng = np.random.default_rng(12)
    truth = (0.55, 10.0, 0.6, 12.0)
    data = _days(synthetic.pareto_nbd(rng, 40_000, *truth, _day_rounded_ages(rng, 40_000)))
    p = pareto.fit(data).params
    assert (p.r, p.alpha, p.s, p.beta) == pytest.approx(truth, rel=0.2)


@pytest.mark.parametrize("modified", [False, True])
def test_fast_grouped_likelihood_equals_the_per_member_formula(
    cdnow: dict[str, np.ndarray], modified: bool
) -> None:
    # `log_likelihood` gathers special functions per distinct value; `_terms` is the formula
    # written out per member: two implementations that must agree.
    summary = Summary.of(cdnow["x"], cdnow["t_x"], cdnow["T"])
    params = np.array([0.4, 5.0, 0.9, 2.0])
    shared, alive, dropped = bgnbd._terms(params, summary.x, summary.t_x, summary.T, modified)
    by_member = float(np.sum(shared + np.logaddexp(alive, dropped)))
    assert bgnbd.log_likelihood(params, Grouped.of(summary), modified)[0] == pytest.approx(
        by_member, rel=1e-12
    )


def test_large_fits_take_the_warm_start_path_to_the_same_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(13)
    n = 120_000
    data = _days(synthetic.beta_geometric(rng, n, 0.5, 5.0, 0.8, 2.5, _day_rounded_ages(rng, n)))
    warm = bgnbd.fit(data)
    assert warm.fit.message == "newton"  # subsample, then Newton steps on everything
    monkeypatch.setattr(fitting, "WARM_START_MEMBERS", 10**9)
    cold = bgnbd.fit(data)
    assert cold.fit.message != "newton"
    assert warm.fit.log_likelihood >= cold.fit.log_likelihood - 1e-6 * abs(cold.fit.log_likelihood)
    assert list(warm.params.as_dict().values()) == pytest.approx(
        list(cold.params.as_dict().values()), rel=1e-3
    )
