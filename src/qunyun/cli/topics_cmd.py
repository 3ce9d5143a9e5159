"""`qunyun topics`: topic participation this week and the terms on the rise (docs/text.md)."""

from typing import Annotated

import typer
from rich.table import Table

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json, when
from qunyun.cli.timeparse import parse_instant
from qunyun.lifecycle.refresh import last_refresh


def topics_command(
    community: Annotated[str | None, typer.Option("--community", help="Community external id.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of the week shown (default: the last refresh).")
    ] = None,
    weeks: Annotated[int, typer.Option(min=1, max=26, help="Previous weeks to compare with.")] = 4,
    top: Annotated[int, typer.Option(min=1, help="Rising terms to show.")] = 10,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Messages and members per topic this week vs the weeks before; weekly hot terms."""
    from qunyun.lifecycle.topics import community_topics  # jieba and OpenCC only here
    from qunyun.nlp.topics import TopicLexicon

    ctx = AppContext.create(db, config)
    text = ctx.settings.text
    lexicon = (
        TopicLexicon.from_file(ctx.settings.resolve_path(text.topics_file)) if text.topics_file else None
    )
    with ctx.engine.connect() as conn:
        end = parse_instant(as_of, ctx.settings.zone) if as_of else last_refresh(conn, ctx.workspace_id)
        report = community_topics(
            conn,
            ctx.workspace_id,
            end or ctx.clock.now(),
            lexicon or TopicLexicon.default(),
            community,
            weeks,
            top,
        )
    if as_json:
        print_json(report)
        return
    zone = ctx.settings.zone
    table = Table(
        title=f"Topics 话题, week to {when(report['as_of'], zone)} ({report['speakers']:,} speakers)"
    )
    for column in ("topic", "messages", "members", "of speakers", f"per week before ({weeks} wk)"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for row in report["topics"]:
        share = row["share_of_speakers"]
        table.add_row(
            row["topic"],
            f"{row['messages']:,}",
            f"{row['members']:,}",
            "" if share is None else f"{share:.0%}",
            f"{row['baseline_messages']:.1f}",
        )
    console.print(table)
    hot = ", ".join(f"{h['term']} ×{h['count']} (lift {h['lift']:.1f})" for h in report["hot_terms"])
    console.print(f"rising this week 本周热词: {hot or 'none'}")
