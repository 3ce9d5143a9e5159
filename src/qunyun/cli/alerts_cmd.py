"""`qunyun alerts`: negative messages, complaints, sensitive words, spam, negative-share rises."""

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json, when
from qunyun.store.tables import alerts, communities


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
    query = (
        select(
            alerts.c.id,
            communities.c.external_id.label("community"),
            alerts.c.kind,
            alerts.c.severity,
            alerts.c.member_id,
            alerts.c.activity_id,
            alerts.c.detail,
            alerts.c.occurred_at,
            alerts.c.status,
        )
        .join(communities, communities.c.id == alerts.c.community_id)
        .where(alerts.c.workspace_id == ctx.workspace_id)
        .order_by(alerts.c.occurred_at.desc(), alerts.c.id.desc())
        .limit(limit)
    )
    if status != "all":
        query = query.where(alerts.c.status == status)
    if kind:
        query = query.where(alerts.c.kind == kind)
    with ctx.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
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
