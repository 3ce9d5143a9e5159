"""`qunyun connect matrix` (live ingest) and `qunyun send` (one message through a channel)."""

import threading
from typing import Annotated

import typer

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json
from qunyun.connectors import OutboundMessage, Recipient, registry
from qunyun.connectors.base import ChannelError
from qunyun.connectors.matrix import MatrixClient, MatrixConnector
from qunyun.ingest.contacts import ContactLinker
from qunyun.ingest.live import LiveSink
from qunyun.store.sends import SqlSendLog

connect_app = typer.Typer(help="Live platforms: read activity as it happens (docs/connectors.md).")


def _matrix_client(ctx: AppContext, homeserver: str, user: str) -> MatrixClient:
    config = ctx.settings.matrix
    if config.access_token:
        return MatrixClient(homeserver, config.access_token)
    if not user or not config.password:
        raise ChannelError(
            "give matrix.access_token, or matrix.user and matrix.password (QUNYUN_MATRIX__PASSWORD)",
            code="channel.not_configured",
        )
    return MatrixClient.login(homeserver, user, config.password, config.device_id)


@connect_app.command("matrix")
def connect_matrix(
    homeserver: Annotated[
        str | None, typer.Option(help="Homeserver URL (default: matrix.homeserver).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Bot user id or localpart (default: matrix.user).")] = None,
    rooms: Annotated[
        list[str] | None,
        typer.Option(
            "--room", "--rooms", help="Room ids or aliases to join and read: repeat, or comma-separate."
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One sync (no long poll), then exit.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Join the rooms with the bot account and store their activity until stopped (Ctrl-C)."""
    ctx = AppContext.create(db, config)
    settings = ctx.settings.matrix
    base = homeserver or settings.homeserver
    if not base:
        raise ChannelError("give --homeserver or set matrix.homeserver", code="channel.not_configured")
    client = _matrix_client(ctx, base, user or settings.user)
    me = client.whoami()
    linker = ContactLinker(ctx.protector(create=True), ctx.workspace_id)
    sink = LiveSink(ctx.engine, ctx.clock, ctx.workspace_id, f"matrix:{me}", linker)
    wanted = [room.strip() for value in rooms or [] for room in value.split(",") if room.strip()]
    connector = MatrixConnector(
        client,
        sink,
        wanted or settings.rooms,
        backfill_limit=settings.backfill_limit,
        poll_timeout_ms=int(settings.poll_timeout_seconds * 1000),
    )
    err_console.print(f"reading {len(connector.room_ids) or 'all joined'} room(s) as {me}; Ctrl-C stops")
    if once:
        connector.sync_once(timeout_ms=0)
    else:
        stop = threading.Event()
        try:
            connector.run(stop)
        except KeyboardInterrupt:
            stop.set()
    err_console.print(f"stored {sink.inserted} new activities")


def send_command(
    channel: Annotated[str, typer.Argument(help=f"One of: {', '.join(registry.names())}.")],
    address: Annotated[str, typer.Argument(help="Chat/channel/room id, user id, or email address.")],
    text: Annotated[str, typer.Argument(help="The message.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same key is never sent twice.")],
    direct: Annotated[bool, typer.Option("--direct", help="ADDRESS is a person (a DM).")] = False,
    subject: Annotated[str | None, typer.Option(help="Email subject.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send one message through a configured channel (for checking a channel's setup)."""
    ctx = AppContext.create(db, config)
    log = SqlSendLog(ctx.engine, ctx.workspace_id, ctx.clock)
    adapter = registry.build(channel, ctx.settings, log, ctx.clock)
    delivery = adapter.send(Recipient(address, direct=direct), OutboundMessage(text, subject=subject), key)
    if as_json:
        print_json(
            {
                "channel": delivery.channel,
                "key": delivery.idempotency_key,
                "status": delivery.status.value,
                "platform_id": delivery.platform_id,
                "attempts": delivery.attempts,
                "error": delivery.error,
                "retry_after": delivery.retry_after,
            }
        )
    else:
        detail = delivery.platform_id or delivery.error or ""
        console.print(f"{delivery.status.value} ({delivery.attempts} attempt(s)) {detail}")
    if not delivery.delivered:
        raise typer.Exit(1)
