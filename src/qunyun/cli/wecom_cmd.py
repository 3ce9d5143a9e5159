"""`qunyun wecom reconcile`: customer-group members from the WeCom API vs what the callbacks told us."""

from typing import Annotated

import typer

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json
from qunyun.connectors.base import ChannelError
from qunyun.connectors.wecom_api import WeComContactsClient, reconcile
from qunyun.domain import Platform
from qunyun.ingest.contacts import ContactLinker
from qunyun.ingest.pipeline import Importer, ImportOptions
from qunyun.store.membership import present_accounts

wecom_app = typer.Typer(help="WeCom (企业微信) customer groups — docs/wecom.md.")


@wecom_app.command("reconcile")
def reconcile_command(
    chats: Annotated[
        list[str] | None, typer.Option("--chat", help="Only this chat id (repeatable); default: every group.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fetch each customer group's members and store the joins and leaves the callbacks missed."""
    ctx = AppContext.create(db, config)
    settings = ctx.settings.wecom
    if not settings.corp_id or not settings.secret:
        raise ChannelError(
            "set wecom.corp_id and wecom.secret (客户联系 secret)", code="channel.not_configured"
        )
    client = WeComContactsClient(settings.corp_id, settings.secret, base_url=settings.api_url)
    linker = ContactLinker(ctx.protector(create=True), ctx.workspace_id)
    importer = Importer(
        ctx.engine, ctx.clock, ImportOptions(ctx.workspace_id, actor="wecom-reconcile"), linker
    )
    summary: dict[str, dict[str, int]] = {}
    try:
        for chat_id in chats or list(client.list_group_chats()):
            chat = client.get_group_chat(chat_id)
            with ctx.engine.connect() as conn:
                known = present_accounts(conn, ctx.workspace_id, Platform.WECOM.value, chat_id)
            records = reconcile(known, chat, ctx.clock.now())
            importer.store_batch(records)
            joins = sum(1 for r in records if r.kind.value == "join")
            summary[chat_id] = {"members": len(chat.members), "joins": joins, "leaves": len(records) - joins}
    finally:
        client.close()
    if as_json:
        print_json({"chats": summary})
        return
    for chat_id, counts in summary.items():
        console.print(
            f"{chat_id}: {counts['members']} members, +{counts['joins']} joins, {counts['leaves']} leaves"
        )
