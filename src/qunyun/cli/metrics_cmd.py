"""`qunyun metrics`: community metrics per day, week or month (docs/metrics.md)."""

from typing import Annotated, Any

import typer
from rich.table import Table

from qunyun.analytics.targets import TargetProgress, target_progress
from qunyun.cli.analytics_query import metrics_query
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json
from qunyun.cli.report_cmd import report_source
from qunyun.reports import period_kpis

_SHOWN = (
    ("members", "members", "{:,}"),
    ("joined", "joined", "{:,}"),
    ("left", "left", "{:,}"),
    ("dau", "DAU", "{:,.1f}"),
    ("wau", "WAU", "{:,}"),
    ("mau", "MAU", "{:,}"),
    ("stickiness", "DAU/MAU", "{:.1%}"),
    ("speaking_rate", "speaking 发言率", "{:.1%}"),
    ("interaction_rate", "interaction 互动率", "{:.1%}"),
    ("topic_participation_rate", "topics 话题参与率", "{:.1%}"),
    ("ack_messages", "acks", "{:,}"),
    ("nps", "NPS", "{:+.0f}"),
    ("satisfaction", "satisfaction 满意度", "{:.2f}"),
)


def _cell(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def metrics_command(
    db: DbOption = None,
    config: ConfigOption = None,
    community: Annotated[str | None, typer.Option(help="One community (external id); default all.")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="First local day (default: 8 weeks ago).")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last local day (default: today).")] = None,
    grain: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    as_json: JsonOption = False,
) -> None:
    """Members, DAU/WAU/MAU, stickiness, speaking and interaction rates per period."""
    if grain not in ("day", "week", "month"):
        raise typer.BadParameter("use day, week or month", param_hint="--grain")
    ctx = AppContext.create(db, config)
    query = metrics_query(ctx, community, since, until, default_weeks=8, grain=grain)  # type: ignore[arg-type]  # checked above
    start, end = query.start, query.end
    with err_console.status("computing metrics…"):
        rows = period_kpis(report_source(ctx), query)  # survey scores joined: the dashboard's numbers too
    progress = target_progress(rows, ctx.settings.targets.model_dump())
    if as_json:
        print_json(
            {
                "from": start,
                "to": end,
                "grain": grain,
                "community": community,
                "periods": rows,
                "targets": [p.as_dict() for p in progress],
            }
        )
        return
    table = Table(title=f"Community metrics {start} – {end} by {grain}")
    table.add_column("period")
    for _, title, _ in _SHOWN:
        table.add_column(title, justify="right")
    for r in rows:
        table.add_row(str(r["period"]), *(_cell(r[key], fmt) for key, _, fmt in _SHOWN))
    console.print(table)
    _print_targets(progress)


def _print_targets(progress: list[TargetProgress]) -> None:
    table = Table(title="Targets (latest period; member growth over the range)")
    for column in ("KPI", "value", "target", "progress", ""):
        table.add_column(column)
    for p in progress:
        value = "—" if p.value is None else f"{p.value:.1f}" if p.kpi == "nps" else f"{p.value:.1%}"
        target = f"{p.target:.0f}" if p.kpi == "nps" else f"{p.target:.0%}"
        bar = "" if p.progress is None else "█" * round(p.progress * 10) + "░" * (10 - round(p.progress * 10))
        verdict = (
            "no data yet"
            if p.met is None
            else "met"
            if p.met
            else "below"
            if p.kpi != "churn_rate"
            else "above"
        )
        table.add_row(p.kpi, value, target, bar, verdict)
    console.print(table)
