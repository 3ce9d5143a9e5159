"""Progress against KPI targets: plain arithmetic on computed metrics (no backend needed)."""

from dataclasses import dataclass
from typing import Any

# KPIs where lower is better; for the rest, higher is better.
LOWER_IS_BETTER = frozenset({"churn_rate"})


@dataclass(frozen=True)
class TargetProgress:
    kpi: str
    value: float | None
    target: float
    met: bool | None  # None when the KPI has no value yet (e.g. NPS before any survey)
    progress: float | None  # value ÷ target (target ÷ value when lower is better), capped at 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "value": self.value,
            "target": self.target,
            "met": self.met,
            "progress": self.progress,
        }


def _progress(kpi: str, value: float | None, target: float) -> TargetProgress:
    if value is None:
        return TargetProgress(kpi, None, target, None, None)
    if kpi in LOWER_IS_BETTER:
        met = value <= target
        ratio = 1.0 if value <= 0 else min(1.0, target / value)
    else:
        met = value >= target
        ratio = 1.0 if target <= 0 else max(0.0, min(1.0, value / target))
    return TargetProgress(kpi, value, target, met, ratio)


def member_growth(periods: list[dict[str, Any]]) -> float | None:
    """Growth of members over the whole range: end ÷ start − 1 (start = before the first period)."""
    if not periods:
        return None
    start = periods[0]["members"] - periods[0]["net"]
    return None if start <= 0 else periods[-1]["members"] / start - 1


def target_progress(periods: list[dict[str, Any]], targets: dict[str, float | None]) -> list[TargetProgress]:
    """Each KPI that has a target: its latest value (member growth: over the range) against it."""
    latest = periods[-1] if periods else {}
    values = dict(latest) | {"member_growth": member_growth(periods), "nps": latest.get("nps")}
    return [_progress(kpi, values.get(kpi), target) for kpi, target in targets.items() if target is not None]
