"""`qunyun members …` (list, link, unlink) and `qunyun member ID`."""

from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import compact_table, console, day, money, print_json, when, whole_money
from qunyun.domain import Segment, Stage
from qunyun.errors import PrivacyError
from qunyun.lifecycle.model_views import outlook, score_of
from qunyun.lifecycle.profile import find_member, member_profile
from qunyun.lifecycle.refresh import last_refresh
from qunyun.lifecycle.views import StateFilter, list_members
from qunyun.store import audit
from qunyun.store.merges import find_member_merge, merge_members, unmerge

members_app = typer.Typer(help="List, link and unlink members.")


@members_app.callback(invoke_without_command=True)
def members_command(
    typer_ctx: typer.Context,
    db: DbOption = None,
    config: ConfigOption = None,
    segment: Annotated[Segment | None, typer.Option(help="Only this segment.")] = None,
    stage: Annotated[Stage | None, typer.Option(help="Only this stage.")] = None,
    community: Annotated[str | None, typer.Option(help="Only this community (external id).")] = None,
    tag: Annotated[
        str | None,
        typer.Option(
            help="Only members with this tag: operator, playbook, behavioural (夜猫子) or interest."
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="id, or value: P(alive) x value (CLV, else expected activity), highest first.")
    ] = "id",
    limit: Annotated[int, typer.Option(min=1, help="At most N rows.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip the first N rows.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List members with their stage and segment (from the last refresh)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    ctx = AppContext.create(db, config)
    flt = StateFilter(ctx.workspace_id, segment=segment, stage=stage, community=community, tag=tag)
    if sort not in ("id", "value"):
        raise typer.BadParameter(f"--sort is id or value, not {sort!r}")
    with ctx.engine.connect() as conn:
        rows = list_members(conn, flt, limit, offset, by_value=sort == "value")
    for row in rows:
        row["outlook"] = outlook(Segment(row["segment"]), score_of(row), ctx.settings.models)
    if as_json:
        print_json({"count": len(rows), "offset": offset, "members": rows})
        return
    console.print(member_table(rows, ctx.settings.zone, console.width))


def member_table(rows: list[dict[str, Any]], zone: ZoneInfo, width: int) -> Table:
    """One line per member. Under 120 columns the stage, community, 30-day messages and spend
    are left out (`--json` has everything)."""
    wide = width >= 120
    table = compact_table()
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("nickname", no_wrap=True, overflow="ellipsis", max_width=10)
    if wide:
        table.add_column("community", no_wrap=True, overflow="ellipsis", max_width=14)
        table.add_column("stage", no_wrap=True)
    table.add_column("segment", no_wrap=True)
    table.add_column("last msg", no_wrap=True)
    if wide:
        table.add_column("msgs 30d", justify="right", no_wrap=True)
        table.add_column("spend", justify="right", no_wrap=True)
    table.add_column("P(alive)", justify="right", no_wrap=True)
    table.add_column("outlook", no_wrap=True)
    table.add_column("CLV", justify="right", no_wrap=True)
    for row in rows:
        cells = [str(row["member_id"]), row["display_name"] or ""]
        if wide:
            cells += [row["community"], row["stage"]]
        cells += [row["segment"], day(row["last_message_at"], zone)]
        if wide:
            cells += [str(row["messages_30d"]), money(row["spend_minor"])]
        cells += [
            "" if row["p_alive"] is None else f"{row['p_alive']:.2f}",
            row["outlook"] or "",
            whole_money(row["clv_minor"]),
        ]
        table.add_row(*cells)
    return table


@members_app.command("link")
def link_command(
    survivor: Annotated[str, typer.Argument(help="Member that stays (id or platform:external_id).")],
    other: Annotated[str, typer.Argument(help="Member merged into it.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "operator link",
    actor: Annotated[str, typer.Option(help="Who is doing this.")] = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge two members that are one person (reversible with `members unlink`)."""
    ctx = AppContext.create(db, config)
    with ctx.engine.begin() as conn:
        result = merge_members(
            conn,
            workspace_id=ctx.workspace_id,
            survivor_id=find_member(conn, ctx.workspace_id, survivor),
            merged_id=find_member(conn, ctx.workspace_id, other),
            reason=reason,
            actor=actor,
            now=ctx.clock.now(),
        )
    payload = {
        "merge_id": result.merge_id,
        "survivor_id": result.survivor_id,
        "merged_id": result.merged_id,
        "identities_moved": list(result.identity_ids),
    }
    if as_json:
        print_json(payload)
    else:
        console.print(
            f"merge {result.merge_id}: member {result.merged_id} → {result.survivor_id} "
            f"({len(result.identity_ids)} identities moved); run `qunyun refresh` to update segments"
        )


@members_app.command("unlink")
def unlink_command(
    target: Annotated[str, typer.Argument(help="A merge id ('merge:7') or the merged member's id.")],
    actor: Annotated[str, typer.Option(help="Who is doing this.")] = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Undo a merge: the merged member gets its identities back."""
    ctx = AppContext.create(db, config)
    with ctx.engine.begin() as conn:
        if target.startswith("merge:"):
            merge_id = int(target.removeprefix("merge:"))
        else:
            merged = int(target) if target.isdigit() else find_member(conn, ctx.workspace_id, target)
            merge_id = find_member_merge(conn, ctx.workspace_id, merged)
        result = unmerge(
            conn, workspace_id=ctx.workspace_id, merge_id=merge_id, actor=actor, now=ctx.clock.now()
        )
    if as_json:
        print_json(
            {
                "merge_id": result.merge_id,
                "restored_member_id": result.merged_id,
                "from_member_id": result.survivor_id,
                "identities_moved": list(result.identity_ids),
            }
        )
    else:
        console.print(f"merge {result.merge_id} undone: member {result.merged_id} restored")


def _protector(ctx: AppContext) -> Any:
    try:
        return ctx.protector()
    except PrivacyError:
        return None


def member_command(
    ref: Annotated[str, typer.Argument(help="Member id or platform:external_id.")],
    db: DbOption = None,
    config: ConfigOption = None,
    reveal: Annotated[bool, typer.Option(help="Show contact values in clear (audited).")] = False,
    actor: Annotated[str, typer.Option(help="Who is asking (audit log).")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """One member: identities, contacts (masked), stage and segment per community, last activity."""
    ctx = AppContext.create(db, config)
    with ctx.engine.begin() as conn:
        member_id = find_member(conn, ctx.workspace_id, ref)
        # Behaviour over the 90 days before the last refresh (the simulated demo ends in the past).
        as_of = last_refresh(conn, ctx.workspace_id) or ctx.clock.now()
        profile = member_profile(
            conn, ctx.workspace_id, member_id, _protector(ctx), reveal, (as_of, ctx.settings.zone)
        )
        audit.record(
            conn,
            workspace_id=ctx.workspace_id,
            at=ctx.clock.now(),
            actor=actor,
            action="member.view" + (".reveal" if reveal else ""),
            target=f"member:{member_id}",
        )
    if as_json:
        print_json(profile)
        return
    _print_profile(profile, ctx)


def _print_scores(st: dict[str, Any], ctx: AppContext) -> None:
    score = score_of(st)
    if score is None:
        return
    label = outlook(Segment(st["segment"]), score, ctx.settings.models)
    parts = [f"model {score.activity_model}"]
    if score.p_alive is not None:
        parts.append(f"P(alive) {score.p_alive:.2f}")
    if score.expected_activity_30d is not None:
        parts.append(f"expected active days next 30d {score.expected_activity_30d:.1f}")
    if score.past_activity_30d is not None:
        parts.append(f"(so far {score.past_activity_30d:.1f} per 30d)")
    if score.clv_minor is not None:
        parts.append(f"CLV {money(round(score.clv_minor)) or '0'}")
    if label:
        parts.append(f"[bold]{label}[/]")
    console.print("    " + " · ".join(parts))


def _print_profile(profile: dict[str, Any], ctx: AppContext) -> None:
    zone = ctx.settings.zone
    console.print(f"[bold]member {profile['member_id']}[/] {profile['display_name'] or ''}")
    for ident in profile["identities"]:
        console.print(f"  identity {ident['platform']}:{ident['external_id']} ({ident['nickname'] or '—'})")
    for contact in profile["contacts"]:
        console.print(f"  contact {contact['kind']}: {contact['value']}")
    for st in profile["communities"]:
        console.print(
            f"  [bold]{st['community']}[/] stage {st['stage']} · segment {st['segment']} "
            f"(since {when(st['segment_since'], zone)}; {st['reason']})"
        )
        console.print(
            f"    joined {when(st['joined_at'], zone)} · last message {when(st['last_message_at'], zone)} · "
            f"messages {st['messages_total']} (30d: {st['messages_30d']}) · "
            f"purchases {st['purchases_total']} "
            f"({money(st['spend_minor']) or '0'})"
        )
        _print_scores(st, ctx)
    for tag in profile.get("behaviour", []):
        console.print(f"  behaviour [bold]{tag['tag']}[/] ← {tag['reason']}")
    for tag in profile.get("interests", []):
        why = " / ".join(f"“{r['text'][:30]}”({r['keyword']})" for r in tag["reasons"])
        console.print(f"  interest [bold]{tag['topic']}[/] {tag['score']:.2f} ({tag['community']}) ← {why}")
    last = profile["last_activity"]
    if last:
        text = f" “{last['text'][:60]}”" if last.get("text") else ""
        console.print(f"  last activity: {last['kind']} at {when(last['occurred_at'], zone)}{text}")
