"""`qunyun checkin`, `qunyun coupons …`, `qunyun leaderboard`: engagement from the command line."""

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.table import Table

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption, KeyOption
from qunyun.cli.output import console, money, print_json, when
from qunyun.cli.timeparse import parse_instant
from qunyun.engage.badges import Badges
from qunyun.engage.coupons import CampaignSpec, Coupon
from qunyun.engage.leaderboard import ScoreRule, leaderboard, month_bounds
from qunyun.store.member_activity import require_member

coupons_app = typer.Typer(no_args_is_help=True, help="Coupon campaigns: create, issue, redeem, list.")

MemberArg = Annotated[int, typer.Argument(help="Member id.")]


def checkin_command(
    member: MemberArg,
    community: Annotated[int | None, typer.Option(help="Community id the check-in happens in.")] = None,
    makeup: Annotated[
        str | None, typer.Option(help="Use a make-up card for this past local day (YYYY-MM-DD).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a member in for today (their local day); streak rewards paid as configured."""
    ctx = AppContext.create(db, config)
    day = date.fromisoformat(makeup) if makeup else None
    result = ctx.checkins().check_in(
        member, ctx.member_zone(community), community_id=community, makeup_day=day
    )
    if as_json:
        print_json(asdict(result))
        return
    if result.replayed:
        console.print(f"member {member} already checked in on {result.day}")
    else:
        console.print(f"member {member} checked in on {result.day}: +{result.points} points")
    for length, points in result.rewards:
        console.print(f"  {length}-day streak reward: +{points} points")
    s = result.streak
    console.print(f"  streak {s.current} (longest {s.longest}, {s.total} check-ins)")


def _coupon_row(coupon: Coupon) -> dict[str, object]:
    return asdict(coupon)


def _show(coupon: Coupon, as_json: bool, ctx: AppContext) -> None:
    if as_json:
        print_json(_coupon_row(coupon))
        return
    worth = f"{coupon.value}% off" if coupon.kind == "percent" else f"{money(coupon.value)} {coupon.currency}"
    note = " (already done: nothing changed)" if coupon.replayed else ""
    console.print(
        f"{coupon.code} [{coupon.campaign}] {worth} for member {coupon.member_id}: {coupon.status}, "
        f"expires {when(coupon.expires_at, ctx.settings.zone)}{note}"
    )


@coupons_app.command("create")
def create_campaign_command(
    slug: Annotated[str, typer.Argument(help="Campaign id, e.g. return-20.")],
    name: Annotated[str, typer.Option(help="Shown to members, e.g. 回归礼 20 元.")],
    amount: Annotated[str | None, typer.Option(help="Money off, e.g. 20 or 9.9.")] = None,
    percent: Annotated[int | None, typer.Option(help="Percent off instead of an amount.")] = None,
    starts: Annotated[str | None, typer.Option(help="First day coupons can be issued (default now).")] = None,
    ends: Annotated[str, typer.Option(help="Last day of the campaign (local).")] = "",
    validity_days: Annotated[
        int | None, typer.Option(help="Each coupon lasts this long after issue.")
    ] = None,
    per_member: Annotated[int, typer.Option(help="Coupons one member may get.")] = 1,
    total: Annotated[int | None, typer.Option(help="Coupons the campaign may issue in all.")] = None,
    min_spend: Annotated[str | None, typer.Option(help="Smallest order it applies to.")] = None,
    currency: Annotated[str, typer.Option()] = "CNY",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a coupon campaign (the same definition again is a no-op)."""
    ctx = AppContext.create(db, config)
    if (amount is None) == (percent is None) or not ends:
        raise typer.BadParameter("give --ends and exactly one of --amount / --percent")
    zone = ctx.settings.zone
    spec = CampaignSpec(
        slug=slug,
        name=name,
        kind="percent" if percent is not None else "amount",
        value=percent if percent is not None else round(float(amount or 0) * 100),
        starts_at=parse_instant(starts, zone, end_of_day=False) if starts else ctx.clock.now(),
        ends_at=parse_instant(ends, zone),
        currency=currency,
        validity_days=validity_days,
        per_member_limit=per_member,
        total_limit=total,
        min_spend_minor=round(float(min_spend) * 100) if min_spend else None,
    )
    campaign_id = ctx.coupons().create_campaign(spec)
    if as_json:
        print_json({"id": campaign_id, **asdict(spec)})
    else:
        console.print(f"campaign {slug} ready (id {campaign_id})")


@coupons_app.command("issue")
def issue_command(
    campaign: Annotated[str, typer.Argument(help="Campaign id.")],
    member: MemberArg,
    key: KeyOption,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue one coupon of a campaign to a member."""
    ctx = AppContext.create(db, config)
    _show(ctx.coupons().issue(campaign, member, key=key), as_json, ctx)


@coupons_app.command("redeem")
def redeem_command(
    code: Annotated[str, typer.Argument(help="The coupon code (case and dashes do not matter).")],
    key: KeyOption,
    order: Annotated[str | None, typer.Option(help="Order reference.")] = None,
    order_amount: Annotated[
        str | None, typer.Option(help="Order amount, checked against the minimum.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Use a coupon: succeeds once; a replay with the same --key answers the same."""
    ctx = AppContext.create(db, config)
    minor = round(float(order_amount) * 100) if order_amount else None
    _show(ctx.coupons().redeem(code, key=key, order_ref=order, order_minor=minor), as_json, ctx)


@coupons_app.command("list")
def list_command(
    member: Annotated[int | None, typer.Option(help="One member's coupons.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Campaigns with issued / redeemed / open counts, or one member's coupons."""
    ctx = AppContext.create(db, config)
    coupons = ctx.coupons()
    if member is not None:
        mine = coupons.of_member(member)
        if as_json:
            print_json([_coupon_row(c) for c in mine])
            return
        for coupon in mine:
            _show(coupon, False, ctx)
        return
    stats = coupons.campaign_stats()
    if as_json:
        print_json(stats)
        return
    table = Table("campaign", "name", "issued", "redeemed", "open", "ends")
    for row in stats:
        counts = [str(row[name]) for name in ("campaign", "name", "issued", "redeemed", "open")]
        table.add_row(*counts, when(row["ends_at"], ctx.settings.zone))  # type: ignore[arg-type]
    console.print(table)


def leaderboard_command(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (default: this month).")] = None,
    community: Annotated[int | None, typer.Option(help="Community id (default: all).")] = None,
    top: Annotated[int | None, typer.Option(help="Rows (default [leaderboard] top).")] = None,
    centrality: Annotated[
        float | None, typer.Option(help="Weight of reply-graph centrality (default [leaderboard]).")
    ] = None,
    award: Annotated[
        bool, typer.Option(help="Crown the top members with the star badge and its points.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The month's top members by interaction score (docs/engagement.md has the formula)."""
    ctx = AppContext.create(db, config)
    conf = ctx.settings.leaderboard
    zone = ctx.settings.zone
    period = month or ctx.clock.now().astimezone(zone).strftime("%Y-%m")
    weight = conf.centrality_weight if centrality is None else centrality
    rule = ScoreRule(conf.weights, conf.acknowledgement, weight)
    standings = leaderboard(
        ctx.engine, ctx.workspace_id, period, zone, community_id=community, rule=rule, top=top or conf.top
    )
    crowned: list[int] = []
    if award:
        badges = Badges(ctx.engine, ctx.workspace_id, ctx.clock, ctx.ledger())
        crowned = badges.crown(standings, conf.star_badge, period, count=conf.stars, points=conf.star_points)
    if as_json:
        print_json({"month": period, "standings": [asdict(s) for s in standings], "crowned": crowned})
        return
    table = Table("#", "member", "name", "score", "centrality", "counts", title=f"{period} leaderboard")
    for s in standings:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items()))
        table.add_row(
            str(s.rank), str(s.member_id), s.name or "", f"{s.score:g}", f"{s.centrality:.2f}", counts
        )
    console.print(table)
    if award:
        console.print(f"{conf.star_badge}: {len(crowned)} member(s) crowned now")


referrals_app = typer.Typer(no_args_is_help=True, help="Invite codes, attribution, referral tiers.")


@referrals_app.command("code")
def referral_code_command(
    member: MemberArg, db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """The member's personal invite code (made on first use)."""
    ctx = AppContext.create(db, config)
    code = ctx.referrals().code_for(member)
    if as_json:
        print_json({"member": member, "code": code})
    else:
        console.print(code)


@referrals_app.command("attribute")
def referral_attribute_command(
    invitee: Annotated[int, typer.Argument(help="The member who joined.")],
    code: Annotated[str, typer.Argument(help="The invite code they joined with.")],
    community: Annotated[int | None, typer.Option(help="Community id they joined.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Credit (or refuse, with the reason) a join to an invite code; rewards both sides once."""
    ctx = AppContext.create(db, config)
    result = ctx.referrals().attribute(invitee, code, community_id=community)
    if as_json:
        print_json(asdict(result))
        return
    console.print(f"member {invitee} ← member {result.inviter_id}: {result.status} ({result.reason})")
    for coupon in result.tier_coupons:
        console.print(f"  tier reward coupon {coupon}")
    for problem in result.problems:
        console.print(f"  [yellow]{problem}[/]")


@referrals_app.command("stats")
def referral_stats_command(
    member: MemberArg, db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Invites credited and refused, tiers reached and the next one."""
    ctx = AppContext.create(db, config)
    stats = ctx.referrals().stats(member)
    if as_json:
        print_json(stats)
    else:
        console.print(" ".join(f"{k}={v}" for k, v in stats.items()))


tiers_app = typer.Typer(no_args_is_help=True, help="Membership tiers and paid membership.")


@tiers_app.command("status")
def tier_status_command(
    member: MemberArg, db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """The member's tier, why, its perks, and what the next one needs."""
    ctx = AppContext.create(db, config)
    status = ctx.tiers().status(member)
    if as_json:
        print_json(asdict(status))
        return
    console.print(f"member {member}: {status.label or 'no tier'} ({status.by or '—'})")
    console.print(f"  points earned {status.points_earned}, spend (365 d) {money(status.spend_minor) or 0}")
    if status.perks:
        console.print("  perks: " + ", ".join(status.perks))
    if status.paid_until:
        console.print(f"  paid until {when(status.paid_until, ctx.settings.zone)}")
    if status.next_level:
        console.print(f"  next: {status.next_level}, missing {status.to_next}")


@tiers_app.command("subscribe")
def tier_subscribe_command(
    member: MemberArg,
    plan: Annotated[str, typer.Argument(help="Plan name from [tiers] plans, e.g. annual.")],
    key: KeyOption,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a paid membership (or its renewal); the payment reference is the --key."""
    ctx = AppContext.create(db, config)
    sub = ctx.tiers().subscribe(member, plan, key=key)
    if as_json:
        print_json(asdict(sub))
    else:
        note = " (already recorded)" if sub.replayed else ""
        console.print(f"member {member}: {plan} until {when(sub.expires_at, ctx.settings.zone)}{note}")


def link_command(
    member: MemberArg,
    survey: Annotated[str | None, typer.Option(help="Open this survey instead of the member's home.")] = None,
    days: Annotated[int | None, typer.Option(help="Valid this many days (default [h5] link_days).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """A signed, expiring link to the member's page (points, coupons, tier, invite, check-in) or a survey."""
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        require_member(conn, ctx.workspace_id, member)
    h5 = ctx.settings.h5
    expires = ctx.clock.now() + timedelta(days=days or h5.link_days)
    token = ctx.member_links().issue(
        ctx.workspace_id, member, f"survey:{survey}" if survey else "home", expires
    )
    url = f"{h5.base_url.rstrip('/')}/m/{token}"
    if as_json:
        print_json({"member": member, "url": url, "expires_at": expires})
    else:
        console.print(url, soft_wrap=True)


squads_app = typer.Typer(no_args_is_help=True, help="Squads (小组) and squad points.")


@squads_app.command("create")
def squad_create_command(
    name: Annotated[str, typer.Argument(help="Squad name, e.g. 读书一组.")],
    leader: Annotated[int | None, typer.Option(help="Leader's member id (joins the squad).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a squad (the same name again is the same squad)."""
    ctx = AppContext.create(db, config)
    console.print(f"squad {ctx.engagement.squads.create(name, leader_id=leader)}: {name}")


@squads_app.command("add")
def squad_add_command(
    squad: Annotated[int, typer.Argument(help="Squad id.")],
    members: Annotated[list[int], typer.Argument(help="Member ids.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Put members in a squad (one squad per member, at most 10 per squad)."""
    ctx = AppContext.create(db, config)
    for member in members:
        ctx.engagement.squads.add(squad, member)
    console.print(f"squad {squad}: {len(members)} member(s) added")


@squads_app.command("standings")
def squad_standings_command(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (default: this month).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Squads by points earned this month: the squad's own plus its members'."""
    ctx = AppContext.create(db, config)
    zone = ctx.settings.zone
    period = month or ctx.clock.now().astimezone(zone).strftime("%Y-%m")
    start, end = month_bounds(period, zone)
    rows = ctx.engagement.squads.standings(start, end)
    if as_json:
        print_json({"month": period, "squads": [asdict(r) for r in rows]})
        return
    table = Table("squad", "name", "members", "squad points", "member points", "total", title=period)
    for r in rows:
        table.add_row(
            str(r.squad_id), r.name, str(r.members), str(r.squad_points), str(r.member_points), str(r.total)
        )
    console.print(table)
