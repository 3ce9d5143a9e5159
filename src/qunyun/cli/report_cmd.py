"""`qunyun report weekly`: the weekly report (《社群运营数据周报》) as HTML or PDF (docs/reports.md)."""

import time as wall
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from qunyun.analytics import ActivityMirror, AnalyticsEngine
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption
from qunyun.cli.output import console, err_console
from qunyun.reports import (
    IsoWeek,
    ReportError,
    ReportSource,
    ensure_weekly_reports,
    generate,
    last_complete_week,
    normalise_lang,
    render_pdf,
    save_report,
)

report_app = typer.Typer(help="Reports: the weekly report (《社群运营数据周报》).", no_args_is_help=True)


def report_source(ctx: AppContext) -> ReportSource:
    """The report's view of a command's context (the mirror opens and syncs on first use)."""

    def synced() -> AnalyticsEngine:
        ctx.mirror.sync()
        return AnalyticsEngine.on_mirror(ctx.mirror)

    return ReportSource(ctx.engine, ctx.workspace_id, ctx.settings, synced)


def weekly_report_if_due(ctx: AppContext) -> list[str]:
    """The worker's Monday hook: last week's report in every language, stored once (from Monday
    06:00 local); the languages written now. The analytics mirror is opened only when a report
    is due, and closed after: DuckDB lets one process at a time open its file, and a worker lives long."""
    opened: list[ActivityMirror] = []

    def synced() -> AnalyticsEngine:
        settle = timedelta(minutes=ctx.settings.analytics.settle_minutes)
        mirror = ActivityMirror(ctx.engine, ctx.settings.mirror_path(ctx.db_url), ctx.clock, settle=settle)
        opened.append(mirror)
        mirror.sync()
        return AnalyticsEngine.on_mirror(mirror)

    try:
        return ensure_weekly_reports(
            ReportSource(ctx.engine, ctx.workspace_id, ctx.settings, synced), ctx.clock.now()
        )
    except duckdb.IOException as exc:
        # Another process (the dashboard, a command) has the mirror open: try again next cycle
        # rather than stop sending.
        err_console.print(f"weekly report postponed: the analytics mirror is busy ({exc})")
        return []
    finally:
        for mirror in opened:
            mirror.close()


def output_path(out: Path | None, week: IsoWeek, lang: str) -> Path:
    """--out as given (its extension picks the format), else an HTML file named after the week."""
    path = out or Path(f"weekly-report-{week}-{lang}.html")
    if path.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise ReportError(f"--out must end in .html or .pdf: {str(path)!r}", code="report.bad_output")
    return path


def write_report(path: Path, html: str) -> None:
    """HTML as is, or a PDF printed from it, by the file's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".pdf":
        path.write_bytes(render_pdf(html))
    else:
        path.write_text(html, encoding="utf-8")


@report_app.command("weekly")
def weekly_command(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: the last complete week).")
    ] = None,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    out: Annotated[
        Path | None, typer.Option(help="FILE.html or FILE.pdf (default: weekly-report-WEEK-LANG.html).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Generate the weekly report; a complete week's report is also stored for the dashboard."""
    ctx = AppContext.create(db, config)
    now = ctx.clock.now()
    chosen = IsoWeek.parse(week) if week else last_complete_week(now, ctx.settings.zone)
    language = normalise_lang(lang)
    path = output_path(out, chosen, language)
    started = wall.perf_counter()
    with err_console.status(f"building the weekly report {chosen}…"):
        html = generate(report_source(ctx), chosen, [language], now)[language]
        if now >= chosen.bounds(ctx.settings.zone)[1]:
            with ctx.engine.begin() as conn:
                save_report(conn, ctx.workspace_id, chosen, language, html, now, replace=True)
        write_report(path, html)
    console.print(
        f"weekly report {chosen} ({language}) written to {path} in {wall.perf_counter() - started:.1f} s"
    )
