"""`qunyun alerts`: negative messages, complaints, sensitive words, spam, negative-share rises."""

from typing import Annotated

import typer
from rich.table import Table

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json, when
from qunyun.lifecycle.alert_views import list_alerts


def alerts_command(
    status: Annotated[str, typer.Option(help="open, acknowledged or all.")] = "open",
    kind: Annotated[str | None, typer.Option(help="Only this kind (e.g. complaint, spam).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Alerts raised by `qunyun refresh` from what members wrote, newest first (docs/text.md)."""
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        rows = list_alerts(conn, ctx.workspace_id, status, kind, limit)
    if as_json:
        print_json({"alerts": rows})
        return
    table = Table(title=f"Alerts 预警 ({status})")
    for column in ("id", "when", "community", "kind", "severity", "member", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        detail = row["detail"]
        shown = detail.get("text") or ", ".join(f"{k}={v}" for k, v in detail.items())
        table.add_row(
            str(row["id"]),
            when(row["occurred_at"], ctx.settings.zone),
            row["community"],
            row["kind"],
            row["severity"],
            str(row["member_id"] or ""),
            str(shown)[:80],
        )
    console.print(table if rows else "no alerts")
