"""Two-proportion comparison (treated vs control) and a two-sample comparison of means.

Difference of proportions with a Wald interval (unpooled standard error) and
a two-sided z test with the pooled standard error, as in any statistics text
(e.g. Agresti, *Categorical Data Analysis*, 3rd ed., §1.4 and §3.1). For
group-randomised playbooks the unit is the group: Welch's t on group means.
"""

import math
import statistics
from dataclasses import dataclass
from types import ModuleType


def _stats() -> ModuleType:
    # scipy.stats takes ~1 s to import; every CLI command reaches this module, few compare.
    from scipy import stats

    module: ModuleType = stats
    return module


@dataclass(frozen=True)
class Comparison:
    treated: float
    control: float
    difference: float
    low: float
    high: float
    p_value: float | None  # None when a side is empty or there is no variance to test

    def as_dict(self) -> dict[str, float | None]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def two_proportions(x_t: int, n_t: int, x_c: int, n_c: int, confidence: float = 0.95) -> Comparison:
    p_t = x_t / n_t if n_t else 0.0
    p_c = x_c / n_c if n_c else 0.0
    diff = p_t - p_c
    stats = _stats()
    z_crit = float(stats.norm.ppf(0.5 + confidence / 2))
    if not n_t or not n_c:
        return Comparison(p_t, p_c, diff, -math.inf, math.inf, None)
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    pooled = (x_t + x_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = None if se0 == 0 else float(2 * stats.norm.sf(abs(diff) / se0))
    return Comparison(p_t, p_c, diff, diff - z_crit * se, diff + z_crit * se, p_value)


def two_means(treated: list[float], control: list[float], confidence: float = 0.95) -> Comparison:
    """Welch's t interval and test on unit-level values (here: one rate per group)."""
    m_t = sum(treated) / len(treated) if treated else 0.0
    m_c = sum(control) / len(control) if control else 0.0
    diff = m_t - m_c
    if len(treated) < 2 or len(control) < 2:
        return Comparison(m_t, m_c, diff, -math.inf, math.inf, None)
    v_t = statistics.variance(treated) / len(treated)
    v_c = statistics.variance(control) / len(control)
    se = math.sqrt(v_t + v_c)
    if se == 0:
        return Comparison(m_t, m_c, diff, diff, diff, None)
    df = (v_t + v_c) ** 2 / (v_t**2 / (len(treated) - 1) + v_c**2 / (len(control) - 1))
    stats = _stats()
    t_crit = float(stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    return Comparison(m_t, m_c, diff, diff - t_crit * se, diff + t_crit * se, p_value)
