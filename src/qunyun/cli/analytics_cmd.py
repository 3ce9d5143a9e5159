"""`qunyun analytics sync|rebuild|export-parquet`: the DuckDB mirror the analytics run on."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from qunyun.analytics import SyncReport
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json

analytics_app = typer.Typer(
    help="The analytics mirror (DuckDB) — see docs/analytics.md.", no_args_is_help=True
)


def _run(ctx: AppContext, rebuild: bool, as_json: bool) -> None:
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True
    ) as bar:
        task = bar.add_task("copying activities…")

        def shown(report: SyncReport) -> None:
            bar.update(task, description=f"copying activities… {report.copied:,}")

        report = ctx.mirror.rebuild(shown) if rebuild else ctx.mirror.sync(shown)
    path = ctx.settings.mirror_path(ctx.db_url)
    if as_json:
        print_json(
            {
                "path": str(path),
                "copied": report.copied,
                "recopied": report.recopied,
                "watermark": report.watermark,
                "chunks": report.chunks,
            }
        )
        return
    console.print(f"{path}: copied {report.copied:,} activities (watermark {report.watermark:,})")


@analytics_app.command("sync")
def sync_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Copy new activities into the mirror (refresh does this by itself)."""
    _run(AppContext.create(db, config), rebuild=False, as_json=as_json)


@analytics_app.command("rebuild")
def rebuild_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Throw the mirror away and copy everything again; if interrupted, `sync` resumes it."""
    _run(AppContext.create(db, config), rebuild=True, as_json=as_json)


@analytics_app.command("export-parquet")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder for one Parquet folder per table.")],
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sync, then write the mirror as Parquet for Spark (docs/scale-out.md)."""
    ctx = AppContext.create(db, config)
    ctx.mirror.sync()
    counts = ctx.mirror.export_parquet(directory)
    if as_json:
        print_json({"directory": str(directory), "tables": counts})
        return
    for name, rows in counts.items():
        console.print(f"{directory / name}: {rows:,} rows")
