"""What the analytics commands share: the query from options, and how shares print."""

from datetime import date, timedelta

import typer
from sqlalchemy import select

from qunyun.analytics.metrics import Grain, MetricsQuery
from qunyun.cli.context import AppContext
from qunyun.errors import NotFoundError
from qunyun.store.tables import communities


def community_id_of(ctx: AppContext, external_id: str | None) -> int | None:
    if external_id is None:
        return None
    with ctx.engine.connect() as conn:
        found = conn.execute(
            select(communities.c.id).where(
                communities.c.workspace_id == ctx.workspace_id, communities.c.external_id == external_id
            )
        ).scalar()
    if found is None:
        raise NotFoundError(f"no community {external_id!r}", code="community.not_found")
    return int(found)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint=option) from exc


def metrics_query(
    ctx: AppContext,
    community: str | None,
    since: str | None,
    until: str | None,
    *,
    default_weeks: int,
    grain: Grain = "week",
) -> MetricsQuery:
    """--from/--to as local days (default: the last `default_weeks` weeks up to today)."""
    end = _day(until, "--to") if until else ctx.clock.now().astimezone(ctx.settings.zone).date()
    start = _day(since, "--from") if since else end - timedelta(weeks=default_weeks) + timedelta(days=1)
    if start > end:
        raise typer.BadParameter(f"--from {start} is after --to {end}")
    return MetricsQuery(
        workspace_id=ctx.workspace_id,
        start=start,
        end=end,
        grain=grain,
        community_id=community_id_of(ctx, community),
        timezone=ctx.settings.general.timezone,
    )


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
