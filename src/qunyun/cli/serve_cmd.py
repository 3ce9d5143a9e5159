"""`qunyun serve` (dashboard + REST API + hooks) and `qunyun serve-hooks` (hooks only)."""

from typing import TYPE_CHECKING, Annotated

import typer

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption
from qunyun.cli.output import err_console

if TYPE_CHECKING:
    from qunyun.api import Services


def services_for(ctx: AppContext) -> "Services":
    from qunyun.api import Services
    from qunyun.ingest.contacts import ContactLinker

    protector = ctx.protector(create=True)
    linker = ContactLinker(protector, ctx.workspace_id)
    return Services(
        ctx.settings,
        ctx.engine,
        ctx.clock,
        ctx.workspace_id,
        linker,
        ctx.member_links(),
        protector=protector,
        mirror_path=ctx.settings.mirror_path(ctx.db_url),
    )


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the dashboard (/), the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and the hooks."""
    import uvicorn

    from qunyun.api import create_app
    from qunyun.api.app import warm_up

    ctx = AppContext.create(db, config)
    app = create_app(services_for(ctx), dashboard=True)
    warm_up(app)
    err_console.print(
        f"dashboard on http://{host}:{port}/ — API at http://{host}:{port}/api/v1 (docs/api.md)"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve_hooks_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8700,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve POST /hooks/{source}, /hooks/wecom and the member pages /m/… until stopped (Ctrl-C)."""
    import uvicorn

    from qunyun.api import create_app

    ctx = AppContext.create(db, config)
    app = create_app(services_for(ctx))
    sources = ", ".join(sorted(ctx.settings.hooks.secrets)) or "none configured"
    err_console.print(f"hooks on http://{host}:{port}/hooks/{{source}} (sources: {sources})")
    err_console.print(f"member pages on http://{host}:{port}/m/<link> (make links with `qunyun link`)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
