"""`qunyun hours` and `qunyun content`: when to post, and what earns responses."""

from typing import Annotated, Any

import ibis
import typer
from rich.table import Table

from qunyun.analytics import AnalyticsEngine
from qunyun.analytics.content import (
    best_slots,
    content_summary,
    hour_of_week,
    post_performance,
    post_topics,
    posting_hours,
    topic_summary,
)
from qunyun.analytics.metrics import MetricsQuery
from qunyun.cli.analytics_query import metrics_query
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json

WEEKDAYS = ("Mon 一", "Tue 二", "Wed 三", "Thu 四", "Fri 五", "Sat 六", "Sun 日")
CommunityOption = Annotated[str | None, typer.Option(help="One community (external id); default all.")]
FromOption = Annotated[str | None, typer.Option("--from", help="First local day (default: 4 weeks ago).")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last local day (default: today).")]


def _prepare(
    db: str | None, config: Any, community: str | None, since: str | None, until: str | None
) -> tuple[AppContext, AnalyticsEngine, MetricsQuery]:
    ctx = AppContext.create(db, config)
    query = metrics_query(ctx, community, since, until, default_weeks=4)
    with err_console.status("syncing the analytics mirror…"):
        ctx.mirror.sync()
    return ctx, AnalyticsEngine.on_mirror(ctx.mirror), query


def hours_command(
    db: DbOption = None,
    config: ConfigOption = None,
    community: CommunityOption = None,
    since: FromOption = None,
    until: ToOption = None,
    as_json: JsonOption = False,
) -> None:
    """Interaction per local hour of the week (7 x 24), and responses to posts by posting hour."""
    _, engine, query = _prepare(db, config, community, since, until)
    cells = hour_of_week(engine, query).to_pyarrow().to_pylist()
    by_post_hour = posting_hours(engine, query).to_pyarrow().to_pylist()
    if as_json:
        print_json(
            {"from": query.start, "to": query.end, "interactions": cells, "posting_hours": by_post_hour}
        )
        return
    grid = {(c["weekday"], c["hour"]): c["interactions"] for c in cells}
    top = max(grid.values(), default=0)
    table = Table(title="Interactions by local hour (darker = more)")
    table.add_column("")
    for hour in range(24):
        table.add_column(f"{hour:02d}", justify="right")
    shades = " ░▒▓█"
    for weekday, name in enumerate(WEEKDAYS):
        values = [grid.get((weekday, hour), 0) for hour in range(24)]
        table.add_row(name, *(shades[min(4, round(4 * v / top))] if top else " " for v in values))
    console.print(table)
    best = best_slots(by_post_hour)
    for r in best:
        console.print(
            f"posts at {WEEKDAYS[r['weekday']]} {r['hour']:02d}:00 drew {r['responses_per_post']:.1f} "
            f"responses each ({r['posts']} posts)"
        )


def _per_post_table(title: str, heading: str, key: str, rows: list[dict[str, Any]]) -> Table:
    """Posts and average replies, reactions and responses per post, a row per `key`."""
    table = Table(title=title)
    for column in (heading, "posts", "replies/post", "reactions/post", "responses/post"):
        table.add_column(column, justify="right")
    for r in rows:
        averages = (f"{r[f'{k}_per_post']:.2f}" for k in ("replies", "reactions", "responses"))
        table.add_row(r[key], f"{r['posts']:,}", *averages)
    return table


def content_command(
    db: DbOption = None,
    config: ConfigOption = None,
    community: CommunityOption = None,
    since: FromOption = None,
    until: ToOption = None,
    top: Annotated[int, typer.Option(min=1, help="How many best posts to list.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Which posts and content types drew the most replies and reactions within 24 hours."""
    ctx, engine, query = _prepare(db, config, community, since, until)
    summary = content_summary(engine, query).to_pyarrow().to_pylist()
    performance = post_performance(engine, query).select("post_id", "replies", "reactions").to_pyarrow()
    rows = performance.to_pylist()
    with ctx.engine.connect() as conn:
        by_topic = topic_summary(rows, post_topics(conn, ctx.workspace_id, [r["post_id"] for r in rows]))
    best = post_performance(engine, query).order_by([ibis.desc("responses"), "post_id"]).limit(top)
    posts = best.to_pyarrow().to_pylist()
    if as_json:
        period = {"from": query.start, "to": query.end}
        print_json({**period, "by_type": summary, "by_topic": by_topic, "top_posts": posts})
        return
    console.print(_per_post_table("Content types", "type", "content_type", summary))
    topics_title = "Topics (from the text pass; a post about two topics counts for both)"
    console.print(_per_post_table(topics_title, "topic", "topic", by_topic))
    posts_table = Table(title=f"Top {top} posts")
    for column in ("responses", "replies", "reactions", "type", "text"):
        posts_table.add_column(column)
    for r in posts:
        posts_table.add_row(
            str(r["responses"]), str(r["replies"]), str(r["reactions"]), r["content_type"], r["text"]
        )
    console.print(posts_table)
