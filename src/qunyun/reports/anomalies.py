"""A KPI far outside its recent range: the modified z-score of Iglewicz and Hoaglin (1993).

For this week's value x and the previous weeks' values h (8 in the report):

    M = 0.6745 × (x − median(h)) / MAD,   MAD = median(|hᵢ − median(h)|)

0.6745 makes M comparable to an ordinary z-score when h is normal, but the
median and MAD are not dragged by one earlier outlier the way a mean and
standard deviation are. |M| > 3.5 is flagged (the authors' recommendation).
When MAD is 0 (more than half the weeks identical), the mean absolute
deviation × 1.2533 stands in for MAD / 0.6745; when that is 0 too, any change
at all is flagged. Fewer than 4 earlier values give no verdict.

>>> round(robust_z(20, [10, 11, 9, 10, 12, 10, 9, 11]), 3)  # median 10, MAD 1
6.745
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

THRESHOLD = 3.5
MIN_HISTORY = 4
_MAD_TO_SIGMA = 0.6745  # the 0.75 quantile of the standard normal: MAD / 0.6745 estimates sigma
_MEAN_AD_TO_SIGMA = 1.2533  # sqrt(pi / 2): mean absolute deviation × 1.2533 estimates sigma


def robust_z(value: float, history: Sequence[float]) -> float | None:
    """The modified z-score of `value` against `history`; None with fewer than MIN_HISTORY values."""
    if len(history) < MIN_HISTORY:
        return None
    centre = statistics.median(history)
    mad = statistics.median(abs(h - centre) for h in history)
    if mad > 0:
        return _MAD_TO_SIGMA * (value - centre) / mad
    spread = _MEAN_AD_TO_SIGMA * statistics.fmean(abs(h - statistics.fmean(history)) for h in history)
    if spread > 0:
        return (value - centre) / spread
    return 0.0 if value == centre else math.copysign(math.inf, value - centre)


@dataclass(frozen=True)
class Anomaly:
    kpi: str
    value: float
    median: float
    z: float

    @property
    def direction(self) -> str:
        return "up" if self.z > 0 else "down"


def find_anomalies(
    this: dict[str, Any], history: Sequence[dict[str, Any]], kpis: Sequence[str]
) -> list[Anomaly]:
    """The KPIs whose value this week is beyond THRESHOLD against the earlier weeks, largest first."""
    found = []
    for kpi in kpis:
        value = this.get(kpi)
        earlier = [float(h[kpi]) for h in history if h.get(kpi) is not None]
        if value is None:
            continue
        z = robust_z(float(value), earlier)
        if z is not None and abs(z) > THRESHOLD:
            found.append(Anomaly(kpi, float(value), statistics.median(earlier), z))
    return sorted(found, key=lambda a: -abs(a.z))
