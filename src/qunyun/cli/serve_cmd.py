"""`qunyun serve-hooks`: the inbound webhook and WeCom callback endpoints (docs/webhooks.md)."""

from typing import Annotated

import typer

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption
from qunyun.cli.output import err_console


def serve_hooks_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8700,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve POST /hooks/{source}, /hooks/wecom and the member pages /m/… until stopped (Ctrl-C)."""
    import uvicorn

    from qunyun.api import Services, create_app
    from qunyun.ingest.contacts import ContactLinker

    ctx = AppContext.create(db, config)
    linker = ContactLinker(ctx.protector(create=True), ctx.workspace_id)
    services = Services(ctx.settings, ctx.engine, ctx.clock, ctx.workspace_id, linker, ctx.member_links())
    app = create_app(services)
    sources = ", ".join(sorted(ctx.settings.hooks.secrets)) or "none configured"
    err_console.print(f"hooks on http://{host}:{port}/hooks/{{source}} (sources: {sources})")
    err_console.print(f"member pages on http://{host}:{port}/m/<link> (make links with `qunyun link`)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
