"""`qunyun import FORMAT PATH`."""

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json
from qunyun.domain import Platform
from qunyun.errors import IngestError
from qunyun.ingest import (
    FORMATS,
    ContactLinker,
    ImportOptions,
    ImportReport,
    RowDefaults,
    import_source,
)

import_app = typer.Typer(help="Import activity from files (see docs/import-format.md).", no_args_is_help=True)


def _defaults(
    platform: str | None, community: str | None, currency: str, assume_tz: str | None
) -> RowDefaults:
    try:
        zone = ZoneInfo(assume_tz) if assume_tz else None
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise IngestError(f"unknown time zone {assume_tz!r}", code="import.format") from exc
    try:
        plat = Platform(platform.lower()) if platform else None
    except ValueError as exc:
        raise IngestError(f"unknown platform {platform!r}", code="import.format") from exc
    return RowDefaults(platform=plat, community=community, currency=currency.upper(), assume_tz=zone)


def _print_report(report: ImportReport) -> None:
    console.print(
        f"[bold]{report.path}[/]: read {report.rows_read:,} · inserted [green]{report.inserted:,}[/] · "
        f"duplicates skipped {report.duplicates:,} · rejected [red]{report.rejected:,}[/]"
        + (f" · members merged by shared contact {report.merged:,}" if report.merged else "")
    )
    for problem in report.problems[:10]:
        console.print(f"  [red]✗[/] {problem}")
    if report.rejected > 10:
        console.print(f"  … and {report.rejected - 10:,} more")
    if report.rejects_path:
        console.print(f"  rejected rows written to {report.rejects_path}")


def run_import(
    fmt: str,
    path: Path,
    db: str | None,
    config: Path | None,
    *,
    strict: bool,
    rejects: Path | None,
    encoding: str,
    defaults: RowDefaults,
    as_json: bool,
) -> None:
    ctx = AppContext.create(db, config)
    source = FORMATS[fmt](path, encoding)
    options = ImportOptions(
        workspace_id=ctx.workspace_id,
        defaults=defaults,
        strict=strict,
        batch_size=ctx.settings.imports.batch_size,
        rejects_path=rejects or path.with_name(path.name + ".rejects.jsonl"),
        identity_cache_size=ctx.settings.imports.identity_cache_size,
    )
    linker = ContactLinker(ctx.protector(create=True), ctx.workspace_id)
    # A folder export (Discord, Slack) knows its own size; a file is its size.
    sized = getattr(source, "total_bytes", None)
    total = sized() if callable(sized) else path.stat().st_size
    with Progress(
        TextColumn("[bold]importing[/] {task.fields[rows]:,} rows"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("import", total=total, rows=0)
        report = import_source(
            ctx.engine,
            ctx.clock,
            source,
            options,
            linker,
            progress=lambda done, r: bar.update(task, completed=done, rows=r.rows_read),
            fmt=fmt,
        )
    if as_json:
        print_json(report.as_dict() | {"problems": report.problems})
    else:
        _print_report(report)


def _command(fmt: str) -> None:
    def command(
        path: Annotated[Path, typer.Argument(help=f"The {fmt.upper()} file to import.")],
        db: DbOption = None,
        config: ConfigOption = None,
        strict: Annotated[bool, typer.Option(help="Import nothing if any row is bad.")] = False,
        rejects: Annotated[
            Path | None, typer.Option(help="Where bad rows go (default PATH.rejects.jsonl).")
        ] = None,
        encoding: Annotated[str, typer.Option(help="auto, utf-8, gbk, gb18030 …")] = "auto",
        platform: Annotated[str | None, typer.Option(help="Platform for rows without one.")] = None,
        community: Annotated[str | None, typer.Option(help="Community for rows without one.")] = None,
        currency: Annotated[str, typer.Option(help="Currency for amounts without one.")] = "CNY",
        assume_timezone: Annotated[
            str | None, typer.Option(help="Zone for timestamps without an offset (else rejected).")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        run_import(
            fmt,
            path,
            db,
            config,
            strict=strict,
            rejects=rejects,
            encoding=encoding,
            defaults=_defaults(platform, community, currency, assume_timezone),
            as_json=as_json,
        )

    command.__doc__ = f"Import a {fmt.upper()} activity file (idempotent; bad rows go to a rejects file)."
    import_app.command(fmt)(command)


for _fmt in FORMATS:
    _command(_fmt)
