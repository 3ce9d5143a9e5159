"""`qunyun retention`: N-day and cohort retention (docs/metrics.md, "Retention")."""

from collections import defaultdict
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from qunyun.analytics import AnalyticsEngine
from qunyun.analytics.retention import cohort_ltv, cohort_retention, day_list, n_day_retention
from qunyun.cli.analytics_query import metrics_query, percent, share
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json


def retention_command(
    db: DbOption = None,
    config: ConfigOption = None,
    community: Annotated[str | None, typer.Option(help="One community (external id); default all.")] = None,
    cohort: Annotated[str, typer.Option(help="Cohorts by join week or month.")] = "week",
    since: Annotated[
        str | None, typer.Option("--from", help="First join day (default: 12 weeks ago).")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last day of data (default: today).")] = None,
    as_json: JsonOption = False,
) -> None:
    """N-day retention (bounded and unbounded) and the cohort retention matrix."""
    if cohort not in ("week", "month"):
        raise typer.BadParameter("use week or month", param_hint="--cohort")
    ctx = AppContext.create(db, config)
    query = metrics_query(ctx, community, since, until, default_weeks=12)
    start, end = query.start, query.end
    with err_console.status("computing retention…"):
        ctx.mirror.sync()
        engine = AnalyticsEngine.on_mirror(ctx.mirror)
        days = n_day_retention(engine, query, day_list(90)).to_pyarrow().to_pylist()
        cohorts = cohort_retention(engine, query, cohort).to_pyarrow().to_pylist()  # type: ignore[arg-type]  # checked above
        ltv = cohort_ltv(engine, query, cohort).to_pyarrow().to_pylist()  # type: ignore[arg-type]  # checked above
    if as_json:
        print_json(
            {"from": start, "to": end, "cohort": cohort, "n_day": days, "cohorts": cohorts, "ltv": ltv}
        )
        return
    _print_days(days)
    _print_cohorts(cohorts, cohort)
    _print_ltv(ltv, cohort)


def _print_ltv(ltv: list[dict[str, Any]], grain: str) -> None:
    table = Table(title=f"Historical LTV by join {grain} (spend to date per member)")
    for column in ("cohort", "members", "buyers", "revenue", "LTV"):
        table.add_column(column, justify="right")
    for r in ltv:
        table.add_row(
            str(r["cohort"]),
            f"{r['size']:,}",
            f"{r['buyers']:,}",
            f"{r['revenue_minor'] / 100:,.2f}",
            f"{r['ltv_minor'] / 100:,.2f}",
        )
    console.print(table)


def _print_days(days: list[dict[str, Any]]) -> None:
    table = Table(title="N-day retention (on day N / on day N or later)")
    for column in ("day", "eligible", "on day N", "day N or later"):
        table.add_column(column, justify="right")
    for r in days:
        table.add_row(
            str(r["n"]),
            f"{r['eligible']:,}",
            percent(share(r["retained"], r["eligible"])),
            percent(share(r["retained_or_later"], r["eligible"])),
        )
    console.print(table)


def _print_cohorts(cohorts: list[dict[str, Any]], grain: str) -> None:
    grid: dict[tuple[date, int], dict[int, float | None]] = defaultdict(dict)
    width = 0
    for r in cohorts:
        grid[(r["cohort"], r["size"])][r["k"]] = share(r["retained"], r["size"])
        width = max(width, r["k"] + 1)
    table = Table(title=f"Cohort retention by join {grain} (share active in {grain} k)")
    table.add_column("cohort")
    table.add_column("size", justify="right")
    for k in range(min(width, 13)):
        table.add_column(str(k), justify="right")
    for (start, size), shares in sorted(grid.items()):
        table.add_row(
            str(start),
            f"{size:,}",
            *(percent(shares.get(k)) if k in shares else "" for k in range(min(width, 13))),
        )
    console.print(table)
