"""The report's charts: one Vega-Lite spec (Vega-Altair) for the page and the PDF, rendered to SVG.

Builders are pure: plain rows and the words to print in, an Altair chart out,
so the dashboard draws the same charts from the same rows. `to_svg` renders
with vl-convert (no browser) and names a CJK font: the SVG keeps its text as
text, and whoever draws it (a browser, WeasyPrint) needs a font with Chinese
glyphs — Debian's fonts-noto-cjk provides "Noto Sans CJK SC".
"""

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import vl_convert

FONT = "Noto Sans CJK SC, Noto Sans CJK, Source Han Sans SC, sans-serif"
WIDTH = 600
HEIGHT = 180
_BLUE = "#1664ff"


def activity_trend(
    rows: Sequence[Mapping[str, Any]],
    *,
    names: Mapping[str, str],
    title: str,
    day_title: str,
    value_title: str,
    series_title: str,
) -> alt.TopLevelMixin:
    """Lines of DAU, WAU and MAU per day; `rows` carry day (a date), dau, wau, mau;
    `names` gives each series' label."""
    values = [
        {"day": str(r["day"]), "series": names[key], "value": r[key]}
        for r in rows
        for key in ("dau", "wau", "mau")
        if r.get(key) is not None
    ]
    order = [names[k] for k in ("mau", "wau", "dau")]
    chart: alt.TopLevelMixin = (
        alt.Chart({"values": values}, title=title)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("day:T", title=day_title, axis=alt.Axis(format="%m-%d", labelAngle=0)),
            y=alt.Y("value:Q", title=value_title),
            color=alt.Color("series:N", title=series_title, sort=order),
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    return chart


def segment_distribution(
    rows: Sequence[Mapping[str, Any]], *, title: str, value_title: str
) -> alt.TopLevelMixin:
    """Horizontal bars, one per segment; `rows` carry label and members, in the order to show."""
    values = [{"label": r["label"], "members": r["members"]} for r in rows]
    labels = [r["label"] for r in rows]
    base = alt.Chart({"values": values}, title=title).encode(
        y=alt.Y("label:N", title=None, sort=labels),
        x=alt.X("members:Q", title=value_title),
    )
    bars = base.mark_bar(color=_BLUE)
    text = base.mark_text(align="left", dx=4).encode(text=alt.Text("members:Q", format=","))
    return alt.layer(bars, text).properties(width=WIDTH - 120, height=24 * max(1, len(values)))


def cohort_heatmap(
    rows: Sequence[Mapping[str, Any]], *, title: str, cohort_title: str, k_title: str, rate_title: str
) -> alt.TopLevelMixin:
    """Cohort retention: one row per cohort (label), one column per week k, colour = rate (0–1)."""
    values = [{"cohort": str(r["cohort"]), "k": int(r["k"]), "rate": float(r["rate"])} for r in rows]
    base = alt.Chart({"values": values}, title=title).encode(
        x=alt.X("k:O", title=k_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort:O", title=cohort_title),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "rate:Q",
            title=rate_title,
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(format="%"),
        )
    )
    text = base.mark_text(fontSize=9).encode(
        text=alt.Text("rate:Q", format=".0%"),
        color=alt.condition("datum.rate > 0.5", alt.value("white"), alt.value("#1f2329")),
    )
    return alt.layer(cells, text).properties(
        width=WIDTH - 120, height=22 * max(1, len({v["cohort"] for v in values}))
    )


def hours_heatmap(
    rows: Sequence[Mapping[str, Any]],
    *,
    weekdays: Sequence[str],
    title: str,
    weekday_title: str,
    hour_title: str,
    value_title: str,
    value_key: str = "interactions",
) -> alt.TopLevelMixin:
    """7 × 24 cells (weekday 0 = Monday, hour 0–23), colour = `value_key`; missing cells are 0."""
    found = {(int(r["weekday"]), int(r["hour"])): r[value_key] for r in rows}
    values = [
        {"weekday": weekdays[d], "hour": h, "value": found.get((d, h), 0) or 0}
        for d in range(7)
        for h in range(24)
    ]
    chart: alt.TopLevelMixin = (
        alt.Chart({"values": values}, title=title)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title=hour_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("weekday:O", title=weekday_title, sort=list(weekdays)),
            color=alt.Color("value:Q", title=value_title, scale=alt.Scale(scheme="oranges")),
        )
        .properties(width=WIDTH - 60, height=150)
    )
    return chart


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as standalone SVG text, its text in a CJK-capable font."""
    spec = chart.to_dict()
    config = spec.setdefault("config", {})
    config.setdefault("font", FONT)
    config.setdefault("view", {"stroke": None})
    svg: str = vl_convert.vegalite_to_svg(spec)
    return svg
