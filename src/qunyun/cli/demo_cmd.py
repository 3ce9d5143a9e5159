"""`qunyun demo`: a simulated community, imported, refreshed and summarised."""

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

from qunyun.analytics import AnalyticsEngine
from qunyun.analytics.content import best_slots, posting_hours
from qunyun.analytics.metrics import MetricsQuery, community_metrics
from qunyun.analytics.retention import n_day_retention
from qunyun.cli.analytics_query import percent, share
from qunyun.cli.content_cmd import WEEKDAYS
from qunyun.cli.context import AppContext
from qunyun.cli.lifecycle_cmd import refit_models_if_due, replay_refresh
from qunyun.cli.options import ConfigOption
from qunyun.cli.output import compact_table, console, day, err_console, when, whole_money
from qunyun.config import ModelsConfig
from qunyun.domain import Segment
from qunyun.errors import QunyunError
from qunyun.ingest import ContactLinker, Importer, ImportOptions, ImportReport
from qunyun.lifecycle.model_views import outlook, score_of
from qunyun.lifecycle.views import (
    StateFilter,
    cleanup_list,
    distribution,
    silent_worth_waking,
    transitions_between,
)
from qunyun.store.tables import activities

if TYPE_CHECKING:
    from qunyun.sim import Simulator

DEFAULT_DEMO_DB = Path(".qunyun") / "demo.db"


def _fresh_default_db() -> str:
    DEFAULT_DEMO_DB.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEFAULT_DEMO_DB}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{DEFAULT_DEMO_DB}"


def _simulate_into(ctx: AppContext, sim: "Simulator", expected: int) -> ImportReport:
    options = ImportOptions(workspace_id=ctx.workspace_id, batch_size=ctx.settings.imports.batch_size)
    importer = Importer(
        ctx.engine, ctx.clock, options, ContactLinker(ctx.protector(create=True), ctx.workspace_id)
    )
    report = ImportReport(path=f"simulator(seed={sim.config.seed})")
    with Progress(
        TextColumn("[bold]simulating[/] {task.fields[rows]:,} activities"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("sim", total=expected, rows=0)
        importer.run(
            sim.activities(),
            report,
            lambda r: bar.update(task, completed=r.inserted + r.duplicates, rows=r.inserted),
        )
    report.rows_read = report.inserted + report.duplicates
    return report


def demo_command(
    members: Annotated[int, typer.Option(min=10, help="Members to simulate.")] = 3000,
    days: Annotated[int, typer.Option(min=7, help="Days of community history.")] = 180,
    seed: Annotated[int, typer.Option(help="Simulator seed (same seed, same community).")] = 42,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: a fresh .qunyun/demo.db).")
    ] = None,
    config: ConfigOption = None,
    no_serve: Annotated[
        bool,
        typer.Option("--no-serve", help="Build and summarise, then exit instead of serving the dashboard."),
    ] = False,
) -> None:
    """Simulate a community, import it, refresh lifecycle state, print the operator's summary."""
    from qunyun.sim import SimConfig, Simulator  # numpy only when simulating

    ctx = AppContext.create(db or _fresh_default_db(), config)
    with ctx.engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(activities)).scalar():
            raise QunyunError(
                f"{ctx.db_url} already holds activity; the demo needs an empty database",
                code="demo.not_empty",
            )
    sim = Simulator(SimConfig(members=members, days=days, seed=seed))
    report = _simulate_into(ctx, sim, expected=members * 128)  # about 128 per member at the defaults
    console.print(f"simulated {members:,} members over {days} days: {report.inserted:,} activities imported")
    with err_console.status("replaying weekly lifecycle refreshes…"):
        runs = replay_refresh(ctx, sim.config.start + timedelta(days=7), sim.end, timedelta(days=7), False)
    incremental = [r for r in runs if r.mode == "incremental"]
    console.print(
        f"lifecycle refreshed {len(runs)} times, {sum(r.transitions for r in runs):,} transitions recorded; "
        f"{len(incremental)} incremental runs revisited {sum(r.memberships for r in incremental):,} "
        f"memberships in all (a full run revisits every one)"
    )
    print_models(ctx, sim)
    print_text(ctx, sim)
    print_summary(ctx, sim)
    print_analytics(ctx, sim)
    from qunyun.cli.demo_platforms import print_platforms  # httpx and the importers only here

    print_platforms(ctx, sim)
    from qunyun.cli.demo_engage import print_engagement

    print_engagement(ctx, sim)
    from qunyun.cli.demo_journeys import print_journeys

    print_journeys(ctx, sim)
    from qunyun.cli.demo_report import write_demo_report  # Altair, vl-convert and WeasyPrint only here

    write_demo_report(ctx, sim)
    if not no_serve:
        from qunyun.cli.demo_serve import serve_demo  # uvicorn and the API only here

        serve_demo(ctx, sim)


def print_text(ctx: AppContext, sim: "Simulator") -> None:
    """Step 5: every message read once for topics, sensitive words and spam; behavioural tags."""
    from sqlalchemy import func as sql_func

    from qunyun.cli.lifecycle_cmd import read_new_messages, store_behaviour_if_due
    from qunyun.store.tables import alerts, member_behaviour, member_topics

    report = read_new_messages(ctx)
    store_behaviour_if_due(ctx, sim.end)
    with ctx.engine.connect() as conn:
        counted = conn.execute(select(alerts.c.kind, sql_func.count()).group_by(alerts.c.kind))
        kinds = {str(row[0]): int(row[1]) for row in counted}
        tagged = conn.execute(select(sql_func.count(sql_func.distinct(member_topics.c.member_id)))).scalar()
        by_tag = select(member_behaviour.c.tag, sql_func.count()).group_by(member_behaviour.c.tag)
        behaviour: dict[str, int] = {str(tag): int(n) for tag, n in conn.execute(by_tag)}
    shown = ", ".join(f"{kind} {n:,}" for kind, n in sorted(kinds.items())) or "none"
    console.print(
        f"text: {report.messages:,} messages read once (topics, sensitive words, spam); {tagged:,} members "
        f"have interest tags; alerts: {shown} — see `qunyun topics`, `qunyun alerts`, `qunyun member ID`"
    )
    habits = " · ".join(f"{tag} {n:,}" for tag, n in sorted(behaviour.items(), key=lambda kv: -kv[1]))
    console.print(f"behavioural tags (last 90 days): {habits or 'none'} — `qunyun members --tag 夜猫子`")


def print_models(ctx: AppContext, sim: "Simulator") -> None:
    """Step 3 in one screen: which predictor each community trusts, and who is worth waking."""
    with err_console.status("backtesting and fitting lifecycle models…"):
        outcomes = refit_models_if_due(ctx, sim.end) or []
    for outcome in outcomes:
        result = outcome.backtest
        if result is None:
            console.print(f"community {outcome.community_id}: too few members for models — rules only")
            continue
        aucs = " · ".join(
            f"{name} {score.auc:.3f}"
            for name, score in sorted(result.scores.items(), key=lambda kv: -(kv[1].auc or 0))
            if score.auc is not None
        )
        console.print(
            f"models backtest (AUC of 'active again within {ctx.settings.models.horizon_days} days'): {aucs} "
            f"→ using [bold]{outcome.chosen}[/bold]; "
            "see `qunyun models`, `qunyun members --segment silent --sort value`"
        )


def print_analytics(ctx: AppContext, sim: "Simulator") -> None:
    """Step 2 in one screen: the last four weeks, retention, when to post, what works."""
    # The last full local week: the simulation stops at 08:00 in Shanghai (midnight UTC).
    last_day = (sim.end.astimezone(ctx.settings.zone) - timedelta(days=1)).date()
    end = last_day - timedelta(days=(last_day.weekday() + 1) % 7)  # the Sunday on or before it
    query = MetricsQuery(
        workspace_id=ctx.workspace_id,
        start=end - timedelta(days=27),
        end=end,
        grain="week",
        timezone=ctx.settings.general.timezone,
    )
    engine = AnalyticsEngine.on_mirror(ctx.mirror)
    weeks = community_metrics(engine, query).to_pyarrow().to_pylist()
    table = compact_table("Last four weeks 近四周")
    for column in ("week", "members", "DAU", "WAU", "MAU", "发言率", "互动率", "acks", "conv.", "churn"):
        table.add_column(column, justify="right", no_wrap=True)
    for w in weeks:
        table.add_row(
            str(w["period"]),
            f"{w['members']:,}",
            f"{w['dau']:.0f}",
            f"{w['wau']:,}",
            f"{w['mau']:,}",
            percent(w["speaking_rate"]),
            percent(w["interaction_rate"]),
            f"{w['ack_messages']:,}",
            percent(w["conversion_rate"]),
            percent(w["churn_rate"]),
        )
    console.print(table)
    whole = MetricsQuery(
        workspace_id=ctx.workspace_id,
        start=sim.config.start.date(),
        end=end,
        timezone=ctx.settings.general.timezone,
    )
    days = {r["n"]: r for r in n_day_retention(engine, whole, [1, 7, 30]).to_pyarrow().to_pylist()}
    shown = []
    for n, r in sorted(days.items()):
        on_day, or_later = share(r["retained"], r["eligible"]), share(r["retained_or_later"], r["eligible"])
        shown.append(f"day {n}: {percent(on_day)} / {percent(or_later)}")
    console.print("retention (active on day N / on day N or later): " + " · ".join(shown))
    slots = best_slots(posting_hours(engine, query).to_pyarrow().to_pylist(), top=1)
    if slots:
        best = slots[0]
        console.print(
            f"best posting slot: {WEEKDAYS[best['weekday']]} {best['hour']:02d}:00 "
            f"({best['responses_per_post']:.1f} responses per post) — see `qunyun hours`, `qunyun content`"
        )


def print_summary(ctx: AppContext, sim: "Simulator") -> None:
    zone = ctx.settings.zone
    end = sim.end
    with ctx.engine.connect() as conn:
        dist = distribution(conn, StateFilter(ctx.workspace_id))
        moved = transitions_between(
            conn, ctx.workspace_id, end - timedelta(days=30), end + timedelta(seconds=1)
        )
        waking = silent_worth_waking(conn, ctx.workspace_id, 10)
        cleanup = cleanup_list(conn, ctx.workspace_id, end, ctx.settings.cleanup)
    table = Table(title=f"{sim.config.community_name} — as of {when(end, zone)}")
    table.add_column("segment 分层")
    table.add_column("members", justify="right")
    table.add_column("stage 生命周期")
    table.add_column("members", justify="right")
    for (segment, n_seg), (stage, n_stage) in zip(
        dist["segments"].items(), dist["stages"].items(), strict=True
    ):
        table.add_row(segment, f"{n_seg:,}", stage, f"{n_stage:,}")
    console.print(table)
    console.print(
        f"in the last 30 days: {moved.get('silent', 0):,} went silent, {moved.get('churned', 0):,} churned, "
        f"{moved.get('active', 0):,} became active again"
    )
    console.print(waking_list(waking, zone, ctx.settings.models, console.width))
    console.print(f"clean-up list (周期淘汰): {len(cleanup):,} members — see `qunyun cleanup-list`")
    if os.environ.get("QUNYUN_DEMO_HINTS", "1") != "0":
        console.print(
            f"explore: qunyun segments --db {ctx.db_url} · "
            f"qunyun members --segment silent --sort value --db {ctx.db_url}"
        )


def waking_list(waking: list[dict[str, Any]], zone: ZoneInfo, models: ModelsConfig, width: int) -> Table:
    """The 唤醒名单 table: one line per silent member worth waking, with the interests a wake-up
    message would be about. Under 100 columns the message count and the last words are left out."""
    wide = width >= 100
    table = compact_table("Silent members worth waking 唤醒名单 (P(alive) × value first)")
    table.add_column("member", justify="right", no_wrap=True)
    table.add_column("nickname", no_wrap=True, overflow="ellipsis", max_width=10)
    table.add_column("last msg", no_wrap=True)
    if wide:
        table.add_column("msgs", justify="right", no_wrap=True)
    table.add_column("P(alive)", justify="right", no_wrap=True)
    table.add_column("CLV", justify="right", no_wrap=True)
    table.add_column("outlook", no_wrap=True)
    table.add_column("interests 兴趣", no_wrap=True, overflow="ellipsis", max_width=14)
    if wide:
        table.add_column("last said")  # the one column that gives way: its text stays on one line
    for row in waking:
        alive = row["p_alive"]
        cells: list[str | Text] = [
            str(row["member_id"]),
            row["display_name"] or "",
            day(row["last_message_at"], zone),
            *([str(row["messages_total"])] if wide else []),
            "" if alive is None else f"{alive:.2f}",
            whole_money(row["clv_minor"]),
            outlook(Segment.SILENT, score_of(row), models) or "",
            " · ".join(row["interests"][:2]) or "—",
        ]
        if wide:
            cells.append(Text(next(iter(row["last_messages"]), ""), no_wrap=True, overflow="ellipsis"))
        table.add_row(*cells)
    return table
