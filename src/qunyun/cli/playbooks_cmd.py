"""`qunyun playbooks …`, `run`, `worker`, `tasks …`, `outbox …`: the journey engine (docs/playbooks.md)."""

import time as wall
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select, update

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json, when
from qunyun.cli.report_cmd import weekly_report_if_due
from qunyun.cli.timeparse import parse_instant
from qunyun.errors import NotFoundError
from qunyun.journeys.catalog import Entry
from qunyun.journeys.preview import Planned, dry_run, replay
from qunyun.journeys.results import playbook_results
from qunyun.journeys.scan import record_opt_out
from qunyun.journeys.source import parse_playbook
from qunyun.store.journey_tables import outbox
from qunyun.store.member_activity import require_member

playbooks_app = typer.Typer(
    help="Playbooks: list, show, enable, validate, dry-run, replay, results.", no_args_is_help=True
)
tasks_app = typer.Typer(
    help="Operator tasks: sends an operator makes from their own account.", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="The outbox: every message a playbook produced, and its delivery.", no_args_is_help=True
)
Actor = Annotated[str, typer.Option(help="Who is doing this (kept with the playbook's version).")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Act as if it were this ISO date/time (default: now).")
]


def _ctx(db: str | None, config: Path | None, as_of: str | None = None) -> AppContext:
    ctx = AppContext.create(db, config)
    return ctx.at(parse_instant(as_of, ctx.settings.zone, end_of_day=False)) if as_of else ctx


def _locale(ctx: AppContext, lang: str | None) -> str:
    return {"zh": "zh-CN", "en": "en"}.get(lang or "", ctx.settings.general.locale)


@playbooks_app.command("list")
def list_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Built-in and saved playbooks, and how many members each has running."""
    ctx = _ctx(db, config)
    locale = ctx.settings.general.locale
    running = ctx.journeys.running_counts()
    rows = [
        {**e.summary(locale), "running": int(running.get(e.name, 0))} for e in ctx.journeys.catalog.entries()
    ]
    if as_json:
        print_json({"playbooks": rows})
        return
    table = Table(title="Playbooks 运营剧本")
    for column in ("name", "title", "trigger", "enabled", "version", "holdout", "running"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"], r["title"], r["trigger"], "yes" if r["enabled"] else "no",
            str(r["version"] or "-"), f"{r['holdout']:.0%}", str(r["running"]),
        )  # fmt: skip
    console.print(table)


@playbooks_app.command("show")
def show_command(
    name: str, db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """A playbook's YAML and state."""
    ctx = _ctx(db, config)
    entry = ctx.journeys.catalog.get(name)
    if as_json:
        print_json({**entry.summary(ctx.settings.general.locale), "source": entry.source})
    else:
        console.print(entry.source, markup=False, highlight=False, soft_wrap=True)


def _report(entry: Entry, as_json: bool, verb: str, locale: str) -> None:
    if as_json:
        print_json(entry.summary(locale))
    else:
        console.print(f"{verb} {entry.name} (version {entry.version})")


@playbooks_app.command("enable")
def enable_command(
    name: str,
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start the playbook: triggers from now on enrol members (a built-in is saved as version 1)."""
    ctx = _ctx(db, config)
    _report(ctx.journeys.enable(name, actor), as_json, "enabled", ctx.settings.general.locale)


@playbooks_app.command("disable")
def disable_command(
    name: str,
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop new enrolments and pause running ones (they resume where they were if enabled again)."""
    ctx = _ctx(db, config)
    _report(ctx.journeys.disable(name, actor), as_json, "disabled", ctx.settings.general.locale)


@playbooks_app.command("copy")
def copy_command(
    name: str, new_name: str, actor: Actor = "cli", db: DbOption = None, config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Copy a playbook under a new name (disabled), to edit and enable."""
    ctx = _ctx(db, config)
    _report(
        ctx.journeys.catalog.copy(name, new_name, actor), as_json, "copied to", ctx.settings.general.locale
    )


@playbooks_app.command("save")
def save_command(
    file: Path,
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save an edited playbook YAML as a new version (validated first; running members keep theirs)."""
    ctx = _ctx(db, config)
    entry = ctx.journeys.catalog.save(file.read_text(encoding="utf-8"), str(file), actor)
    _report(entry, as_json, "saved", ctx.settings.general.locale)


@playbooks_app.command("validate")
def validate_command(file: Path, as_json: JsonOption = False) -> None:
    """Check a playbook file; errors name the file, line and field (exit code 1)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}") from exc
    playbook = parse_playbook(text, str(file))
    if as_json:
        print_json({"valid": True, "name": playbook.name, "trigger": playbook.trigger.kind})
    else:
        console.print(f"{file}: ok ({playbook.name}, trigger {playbook.trigger.kind})")


def _print_plans(plans: list[Planned], as_json: bool, title: str) -> None:
    if as_json:
        print_json({"plans": [p.as_dict() for p in plans]})
        return
    table = Table(title=title)
    for column in ("member", "community", "name", "arm", "entered", "when", "step", "text"):
        table.add_column(column, overflow="fold")
    for plan in plans:
        sends = [s for s in plan.sends if s["text"] is not None] or [
            {"at": "", "step": plan.outcome, "text": ""}
        ]
        for send in sends:
            table.add_row(
                str(plan.member_id or ""), str(plan.community_id or ""), plan.nickname, plan.arm,
                plan.entered_at.isoformat(timespec="minutes"), str(send["at"])[:16], send["step"],
                ("(control: nothing sent) " if plan.arm == "control" else "") + str(send["text"])[:160],
            )  # fmt: skip
    console.print(table if plans else "nobody would enter")


@playbooks_app.command("dry-run")
def dry_run_command(
    name: str,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    lang: Annotated[str | None, typer.Option(help="zh or en (default: general.locale).")] = None,
    as_of: AsOf = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who would enter now and what each would get, step by step; nothing is written or sent."""
    ctx = _ctx(db, config, as_of)
    entry = ctx.journeys.catalog.get(name)
    with ctx.engine.connect() as conn:
        plans = dry_run(
            conn, ctx.workspace_id, entry, ctx.clock.now(), _locale(ctx, lang), ctx.settings.zone, limit
        )
    _print_plans(plans, as_json, f"dry-run {name}")


@playbooks_app.command("replay")
def replay_command(
    name: str,
    start: Annotated[str, typer.Option("--from", help="Start of the past period (ISO date).")],
    end: Annotated[str | None, typer.Option("--to", help="End of the period (default: now).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 200,
    lang: Annotated[str | None, typer.Option(help="zh or en.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the playbook over a past period of real activity: what it would have sent, to whom, when."""
    ctx = _ctx(db, config)
    zone = ctx.settings.zone
    entry = ctx.journeys.catalog.get(name)
    now = ctx.clock.now()
    until = parse_instant(end, zone) if end else now
    with ctx.engine.connect() as conn:
        plans = replay(
            conn, ctx.workspace_id, entry, parse_instant(start, zone, end_of_day=False), until,
            min(now, until),
            _locale(ctx, lang), zone, limit,
        )  # fmt: skip
    _print_plans(plans, as_json, f"replay {name}")


@playbooks_app.command("enrol")
def enrol_command(
    name: str,
    member: Annotated[
        list[int] | None, typer.Option(help="Member id (repeat); default: the whole audience.")
    ] = None,
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Manual entry: enrol members now (audience filters, re-entry rules and holdout still apply)."""
    ctx = _ctx(db, config)
    count = ctx.journeys.enrol_members(name, member, actor)
    if as_json:
        print_json({"playbook": name, "enrolled": count})
    else:
        console.print(f"enrolled {count}")


@playbooks_app.command("results")
def results_command(
    name: str,
    as_of: AsOf = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Treated vs control: reactivation, conversion, coupons used, and harm, with CI and p-value."""
    ctx = _ctx(db, config, as_of)
    results = playbook_results(ctx.engine, ctx.journeys.catalog, name, ctx.clock.now())
    if as_json:
        print_json(results.as_dict())
        return
    console.print(
        f"{name}: unit {results.unit}, window {results.window_days} days; enrolled {results.enrolled}, "
        f"window passed {results.matured}"
    )
    table = Table(title="treated vs control 实验组 vs 对照组")
    for column in ("metric", "treated", "control", "difference", "95% CI", "p-value"):
        table.add_column(column)
    for metric, c in results.metrics.items():
        table.add_row(
            metric, f"{c.treated:.1%}", f"{c.control:.1%}", f"{c.difference:+.1%}",
            f"[{c.low:+.1%}, {c.high:+.1%}]", "-" if c.p_value is None else f"{c.p_value:.3g}",
        )  # fmt: skip
    console.print(table)


def cycle_output(report: Any, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    scan, tick, sent = report.scan, report.tick, report.dispatch
    console.print(
        f"triggers: {scan.enrolled} enrolled, {scan.converted} converted, {scan.exited} exited, "
        f"{scan.opted_out} opted out; steps: {tick.steps} run, {tick.queued} queued, {tick.suppressed} held "
        f"back (control), {tick.failed} failed; sends: {sent.sent} sent, {sent.tasks} operator tasks, "
        f"{sent.held} waiting (guard rails), {sent.retried} to retry, {sent.dead} dead, "
        f"{sent.in_doubt} in doubt"
    )


def run_command(
    as_of: AsOf = None, db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """One cycle of the journey engine: triggers, due steps, sends (for cron and tests)."""
    ctx = _ctx(db, config, as_of)
    cycle_output(ctx.journeys.run_cycle(), as_json)


def worker_command(
    every: Annotated[float, typer.Option(help="Seconds between cycles when idle.")] = 10.0,
    cycles: Annotated[
        int | None, typer.Option(help="Stop after this many cycles (default: run until stopped).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Run triggers, steps and sends continuously; several workers may run at once on PostgreSQL.
    From Monday 06:00 local, the first cycle also writes last week's report (docs/reports.md)."""
    ctx = _ctx(db, config)
    done = 0
    while cycles is None or done < cycles:
        report = ctx.journeys.run_cycle()
        done += 1
        written = weekly_report_if_due(ctx)
        if written:
            console.print(
                f"weekly report stored ({', '.join(written)}): `qunyun report weekly`, the dashboard"
            )
        busy = report.tick.steps or report.dispatch.sent or report.scan.enrolled
        if report.tick.steps or report.dispatch.sent or report.dispatch.tasks:
            cycle_output(report, False)
        if not busy and (cycles is None or done < cycles):
            wall.sleep(every)


@tasks_app.command("list")
def tasks_list(
    status: Annotated[str, typer.Option(help="open, done, skipped or all.")] = "open",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sends waiting for an operator: who, the text to copy, the deadline (overdue ones flagged)."""
    ctx = _ctx(db, config)
    tasks = ctx.journeys.tasks.list(ctx.clock.now(), None if status == "all" else status)
    if as_json:
        print_json({"tasks": [t.as_dict() for t in tasks]})
        return
    table = Table(title="Operator tasks 待人工发送")
    for column in ("id", "playbook", "platform", "to", "deadline", "text"):
        table.add_column(column, overflow="fold")
    for t in tasks:
        deadline = when(t.deadline, ctx.settings.zone) + (" OVERDUE 已逾期" if t.overdue else "")
        table.add_row(str(t.id), t.playbook, t.platform, t.recipient, deadline, t.text)
    console.print(table if tasks else "no tasks")


@tasks_app.command("done")
def tasks_done(
    task_id: int,
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a task sent by you (counted as delivered)."""
    ctx = _ctx(db, config)
    task = ctx.journeys.tasks.finish(task_id, actor, ctx.clock.now())
    print_json(task.as_dict()) if as_json else console.print(f"task {task.id}: {task.status}")


@tasks_app.command("skip")
def tasks_skip(
    task_id: int,
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide not to send this one (counted as not sent)."""
    ctx = _ctx(db, config)
    task = ctx.journeys.tasks.finish(task_id, actor, ctx.clock.now(), done=False)
    print_json(task.as_dict()) if as_json else console.print(f"task {task.id}: {task.status}")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, sent, task, dead, in_doubt, suppressed, expired.")
    ] = None,
    playbook: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Messages playbooks produced, newest first, with their delivery state."""
    ctx = _ctx(db, config)
    query = (
        select(outbox)
        .where(outbox.c.workspace_id == ctx.workspace_id)
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(outbox.c.status == status)
    if playbook:
        query = query.where(outbox.c.playbook == playbook)
    with ctx.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    if as_json:
        print_json({"outbox": rows})
        return
    table = Table(title="Outbox")
    for column in ("id", "playbook", "step", "member", "channel", "status", "attempts", "error", "text"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]), r["playbook"], r["step"], str(r["member_id"] or ""), r["channel"], r["status"],
            str(r["attempts"]), (r["last_error"] or "")[:60], r["text"][:80],
        )  # fmt: skip
    console.print(table if rows else "outbox empty")


@outbox_app.command("retry")
def outbox_retry(
    outbox_id: Annotated[
        list[int] | None, typer.Argument(help="Rows to retry (default: every dead row).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Send dead-lettered rows again (after fixing a channel's configuration)."""
    ctx = _ctx(db, config)
    now = ctx.clock.now()
    query = update(outbox).where(outbox.c.workspace_id == ctx.workspace_id, outbox.c.status == "dead")
    if outbox_id:
        query = query.where(outbox.c.id.in_(outbox_id))
    with ctx.engine.begin() as conn:
        count = conn.execute(query.values(status="pending", attempts=0, next_attempt_at=now)).rowcount
    if outbox_id and count != len(outbox_id):
        raise NotFoundError(
            "some rows are not dead-lettered (see `qunyun outbox list --status dead`)", code="outbox.not_dead"
        )
    console.print(f"{count} rows queued again")


def opt_out_command(
    member: int,
    reason: Annotated[str, typer.Option(help="Why (kept with the opt-out).")] = "operator",
    actor: Actor = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Opt a member out of every playbook: nothing more is sent to them (checked at send time)."""
    ctx = _ctx(db, config)
    with ctx.engine.begin() as conn:
        require_member(conn, ctx.workspace_id, member)
        new = record_opt_out(
            conn, ctx.workspace_id, member, ctx.clock.now(), "operator", f"{actor}: {reason}"
        )
    if as_json:
        print_json({"member": member, "opted_out": True, "new": new})
    else:
        console.print(f"member {member} opted out" + ("" if new else " (already)"))
