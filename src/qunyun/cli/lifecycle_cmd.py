"""`qunyun refresh`, `segments`, `cleanup-list`."""

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from qunyun.analytics import AnalyticsEngine
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, money, print_json, when
from qunyun.cli.timeparse import parse_every, parse_instant
from qunyun.engage.earn_pass import award_activity_points
from qunyun.lifecycle import RefreshReport, refresh
from qunyun.lifecycle.views import StateFilter, cleanup_list, distribution, last_as_of

if TYPE_CHECKING:
    from qunyun.lifecycle.behaviour_pass import BehaviourReport
    from qunyun.lifecycle.science import CommunityModels
    from qunyun.lifecycle.text_refresh import TextReport


def replay_refresh(
    ctx: AppContext, start: datetime, end: datetime, step: timedelta, full: bool
) -> list[RefreshReport]:
    """Refresh at every step from `start` to `end` (inclusive), building transition history."""
    reports = []
    facts = ctx.facts()
    at = start
    while at < end:
        reports.append(refresh(ctx.engine, ctx.settings, ctx.workspace_id, at, ctx.clock, facts, full=full))
        at += step
    reports.append(refresh(ctx.engine, ctx.settings, ctx.workspace_id, end, ctx.clock, facts, full=full))
    return reports


def refit_models_if_due(ctx: AppContext, as_of: datetime) -> "list[CommunityModels] | None":
    """Backtest, fit and score when the last fit is `models.refit_days` old (or missing)."""
    config = ctx.settings.models
    if not config.enabled:
        return None
    # Imported here: scipy and the models cost ~1 s of start-up that most refreshes never use.
    from qunyun.lifecycle.science import fit_and_score, last_fit_at

    with ctx.engine.connect() as conn:
        last = last_fit_at(conn, ctx.workspace_id)
    if last is not None and as_of - last < timedelta(days=config.refit_days):
        return None
    with err_console.status("refitting lifecycle models…"):
        return fit_and_score(
            AnalyticsEngine.on_mirror(ctx.mirror),
            ctx.engine,
            ctx.settings,
            ctx.workspace_id,
            as_of,
            ctx.clock,
        )


def refresh_command(
    db: DbOption = None,
    config: ConfigOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO date/time (default: now).")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Replay refreshes from this date up to --as-of.")
    ] = None,
    every: Annotated[str, typer.Option(help="Step of a replay, e.g. 1d or 7d.")] = "1d",
    full: Annotated[
        bool, typer.Option("--full", help="Revisit every member, not only those that may have changed.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute members' stage and segment as of a time; record transitions.

    Incremental after the first run: only members with new activity, moved identities
    or a rule threshold due are revisited (docs/lifecycle.md).
    """
    ctx = AppContext.create(db, config)
    zone = ctx.settings.zone
    end = parse_instant(as_of, zone) if as_of else ctx.clock.now()
    if since:
        reports = replay_refresh(ctx, parse_instant(since, zone), end, parse_every(every), full)
    else:
        with err_console.status("refreshing member state…") as status:

            def shown(done: int) -> None:
                status.update(f"refreshing member state… {done:,} memberships")

            reports = [
                refresh(
                    ctx.engine, ctx.settings, ctx.workspace_id, end, ctx.clock, ctx.facts(), shown, full=full
                )
            ]
    last = reports[-1]
    transitions = sum(r.transitions for r in reports)
    models = refit_models_if_due(ctx, last.as_of)
    text = read_new_messages(ctx)
    behaviour = store_behaviour_if_due(ctx, last.as_of)
    earned = award_activity_points(ctx.ledger(), history=ctx.settings.points.award_history)
    if as_json:
        print_json(
            {
                "as_of": last.as_of,
                "runs": len(reports),
                "mode": last.mode,
                "models_refitted": models is not None,
                "text": {"messages": text.messages, "flags": text.flags, "alerts": text.alerts},
                "behaviour": None if behaviour is None else asdict(behaviour),
                "points": {"first_messages": earned.first_messages, "survey_answers": earned.survey_answers},
                "memberships": last.memberships,
                "recounted": last.recounted,
                "transitions": transitions,
                "segments": last.segments,
                "stages": last.stages,
            }
        )
        return
    if models is not None:
        console.print(
            "lifecycle models refitted: "
            + ", ".join(f"community {m.community_id} → {m.chosen}" for m in models)
        )
    console.print(
        f"refreshed ({last.mode}) {last.memberships:,} memberships as of {when(last.as_of, zone)} "
        + (f"and the 30-day counts of {last.recounted:,} more " if last.recounted else "")
        + f"({len(reports)} run(s), {transitions:,} transitions recorded); "
        f"text: {text.messages:,} new messages read, {text.flags:,} flags, {text.alerts:,} alerts; "
        + (
            ""
            if behaviour is None
            else f"behavioural tags: {behaviour.members:,} members tagged (+{behaviour.added:,} "
            f"−{behaviour.removed:,}); "
        )
        + f"points: {earned.first_messages:,} first messages, {earned.survey_answers:,} survey answers"
    )


def store_behaviour_if_due(ctx: AppContext, as_of: datetime) -> "BehaviourReport | None":
    """Everyone's behavioural tags (热衷分享, 夜猫子 …), stored for lists and playbook audiences, at
    most every `text.behaviour_every_hours`; they read interests, so only with the text pass on."""
    from qunyun.lifecycle.behaviour_pass import behaviour_due, store_behaviour_tags

    if not ctx.settings.text.enabled:
        return None
    every = timedelta(hours=ctx.settings.text.behaviour_every_hours)
    with ctx.engine.connect() as conn:
        if not behaviour_due(conn, ctx.workspace_id, as_of, every):
            return None
    with err_console.status("counting behaviour (behavioural tags)…"):
        return store_behaviour_tags(ctx.engine, ctx.mirror, ctx.workspace_id, as_of, ctx.settings.zone)


def read_new_messages(ctx: AppContext) -> "TextReport":
    """The text pass: sentiment, topics, sensitive words and spam of messages not read before."""
    from qunyun.lifecycle.text_models import text_models  # jieba, OpenCC, the automata: only here
    from qunyun.lifecycle.text_refresh import TextReport, refresh_text

    if not ctx.settings.text.enabled:
        return TextReport()
    with err_console.status("reading new messages (topics, sensitive words, spam)…"):
        return refresh_text(ctx.engine, ctx.workspace_id, ctx.clock, text_models(ctx.settings))


def segments_command(
    db: DbOption = None,
    config: ConfigOption = None,
    community: Annotated[str | None, typer.Option(help="Only this community (external id).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Members per segment and per stage, from the last refresh."""
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        dist = distribution(conn, StateFilter(ctx.workspace_id, community=community))
        as_of = last_as_of(conn, ctx.workspace_id)
    if as_json:
        print_json({"as_of": as_of, "total": sum(dist["segments"].values()), **dist})
        return
    if as_of is None:
        console.print("no member state yet: run `qunyun refresh` after importing activity")
        return
    table = Table(title=f"Segments and stages as of {when(as_of, ctx.settings.zone)}")
    table.add_column("segment")
    table.add_column("members", justify="right")
    table.add_column("stage")
    table.add_column("members", justify="right")
    rows = zip(dist["segments"].items(), dist["stages"].items(), strict=True)
    for (segment, n_seg), (stage, n_stage) in rows:
        table.add_row(segment, f"{n_seg:,}", stage, f"{n_stage:,}")
    console.print(table)


def cleanup_command(
    db: DbOption = None,
    config: ConfigOption = None,
    limit: Annotated[int | None, typer.Option(help="Show at most N members.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The periodic clean-up list (周期淘汰): long in the group, no messages, no purchases."""
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        as_of = last_as_of(conn, ctx.workspace_id)
        rows = (
            [] if as_of is None else cleanup_list(conn, ctx.workspace_id, as_of, ctx.settings.cleanup, limit)
        )
    cfg = ctx.settings.cleanup
    if as_json:
        print_json({"as_of": as_of, "criteria": cfg.model_dump(), "count": len(rows), "members": rows})
        return
    zone = ctx.settings.zone
    table = Table(
        title=f"Clean-up list: in group ≥ {cfg.min_days_in_group} days, no message or purchase "
        f"in {cfg.window_days} days, lifetime spend < {cfg.protect_lifetime_spend:,.0f}"
    )
    for column in ("member", "nickname", "joined", "last message", "messages", "spend"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["member_id"]),
            row["display_name"] or "",
            when(row["joined_at"], zone),
            when(row["last_message_at"], zone),
            str(row["messages_total"]),
            money(row["spend_minor"]),
        )
    console.print(table)
    console.print(f"{len(rows):,} member(s) on the list")
