"""Recommended actions for the week, in the operator's words, each built from the report's numbers.

Each rule looks at one part of the report and says at most one thing; the
report shows them in this order: who to wake, who left, targets missed,
anomalies, when and what to post, alerts to handle.
"""

from collections.abc import Callable

from qunyun.reports.data import WeeklyData
from qunyun.reports.messages import Texts

WAKE_UP = "silent-wake-up"
MAX_TARGET_LINES = 2
MAX_ANOMALY_LINES = 2


def recommendations(data: WeeklyData, t: Texts) -> list[str]:
    rules: list[Callable[[WeeklyData, Texts], list[str]]] = [
        _silent,
        _churned,
        _targets,
        _anomalies,
        _posting,
        _alerts,
    ]
    return [line for rule in rules for line in rule(data, t)]


def _silent(data: WeeklyData, t: Texts) -> list[str]:
    went = data.movement.entered_segments.get("silent", 0)
    worth = data.movement.worth_waking
    if not went and not worth:
        return []
    lines = [t("action_silent", went=t.count(went), worth=t.count(worth))]
    wake = next((line for line in data.playbooks if line.name == WAKE_UP), None)
    if wake is None:
        return [*lines, t("action_silent_enable")]
    title = wake.titles.get(t.lang, wake.name)
    if "reactivated" not in wake.metrics or not any(wake.matured.values()):
        return [*lines, t("action_silent_running", playbook=title)]
    result = wake.metrics["reactivated"]
    significant = result.p_value is not None and result.p_value < 0.05 and result.difference > 0
    key = "action_silent_result" if significant else "action_silent_weak"
    return [*lines, t(key, playbook=title, treated=t.rate(result.treated), control=t.rate(result.control))]


def _churned(data: WeeklyData, t: Texts) -> list[str]:
    n = data.movement.entered_segments.get("churned", 0)
    return [t("action_churned", n=t.count(n))] if n else []


def _targets(data: WeeklyData, t: Texts) -> list[str]:
    missed = sorted(
        (p for p in data.kpis.targets if p.met is False and p.progress is not None),
        key=lambda p: p.progress or 0.0,
    )
    return [
        t(
            "action_target",
            kpi=t.name("kpi", p.kpi),
            value=t.kpi_value(p.kpi, p.value),
            target=t.kpi_value(p.kpi, p.target),
            hint=t.hint(p.kpi),
        )
        for p in missed[:MAX_TARGET_LINES]
    ]


def _anomalies(data: WeeklyData, t: Texts) -> list[str]:
    return [
        t(
            "action_anomaly",
            kpi=t.name("kpi", a.kpi),
            value=t.kpi_value(a.kpi, a.value),
            median=t.kpi_value(a.kpi, a.median),
            direction=t(f"action_anomaly_{a.direction}"),
        )
        for a in data.anomalies[:MAX_ANOMALY_LINES]
    ]


def _posting(data: WeeklyData, t: Texts) -> list[str]:
    lines = []
    if data.slots:
        best = data.slots[0]
        lines.append(
            t(
                "action_slot",
                slot=t.slot(best["weekday"], best["hour"]),
                responses=t.average(best["responses_per_post"]),
            )
        )
    if len(data.content_types) > 1:
        top = data.content_types[0]
        lines.append(
            t(
                "action_content",
                kind=t.name("content", top["content_type"]),
                responses=t.average(top["responses_per_post"]),
            )
        )
    return lines


def _alerts(data: WeeklyData, t: Texts) -> list[str]:
    total = sum(data.alerts.by_kind.values())
    if not total:
        return []
    complaints = data.alerts.by_kind.get("complaint", 0)
    critical = data.alerts.by_severity.get("critical", 0)
    return [t("action_alerts", n=t.count(total), complaints=t.count(complaints), critical=t.count(critical))]
