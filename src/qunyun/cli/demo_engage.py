"""Step 6 in the demo: points, check-ins, coupons, referrals, tiers, the community stars,
NPS and exit surveys, on the simulated community, then the ledger verified.

Time is the simulation's end (a fixed clock), so the month's leaderboard and
the check-in days line up with the simulated history. Survey answers are
simulated here (seeded): active members lean promoter, silent ones passive or
detractor, leavers give exit reasons — the simulator does not model opinions.
"""

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from qunyun.cli.context import AppContext
from qunyun.cli.output import console
from qunyun.domain import FixedClock
from qunyun.engage.coupons import CampaignSpec
from qunyun.engage.earn_pass import award_activity_points
from qunyun.engage.leaderboard import ScoreRule, leaderboard
from qunyun.engage.ledger_verify import verify_ledger
from qunyun.engage.service import Engagement
from qunyun.feedback.definitions import builtin_definition
from qunyun.feedback.responses import NewResponse, record_response
from qunyun.feedback.results import survey_results
from qunyun.feedback.surveys import NewSurvey, create_survey
from qunyun.lifecycle.views import silent_worth_waking
from qunyun.store.engage_tables import ledger_accounts
from qunyun.store.tables import activities, identities, member_state

if TYPE_CHECKING:
    from qunyun.sim import Simulator

DAY = timedelta(days=1)


def print_engagement(ctx: AppContext, sim: "Simulator") -> None:
    clock = FixedClock(sim.end)
    e = Engagement(ctx.settings, ctx.engine, clock, ctx.workspace_id)
    award_activity_points(e.ledger)  # from here on, first messages and survey answers earn points
    _campaigns(e, sim.end)
    woken = _wake_up_coupons(ctx, e)
    streaks = _week_of_checkins(ctx, e, clock, sim.end)
    invites = _referrals(ctx, e, sim.end)
    paid = _paid_members(ctx, e)
    stars = _stars(ctx, e, sim.end)
    _spend_some(e)
    nps, reasons = _surveys(ctx, clock)
    earned = award_activity_points(e.ledger)  # what `qunyun refresh` does after each run
    report = verify_ledger(ctx.engine, ctx.workspace_id)
    totals = e.ledger.totals()
    console.print(
        f"engagement: {woken[0]} return coupons issued to the wake-up list, {woken[1]} redeemed (a replay "
        f"changed nothing); {streaks[0]} members checked in over the last week, longest streak {streaks[1]} "
        f"days; referrals {invites}; {paid} paid annual members"
    )
    console.print(
        f"  {ctx.settings.leaderboard.star_badge} of {stars[0]} (reply-graph centrality on): {stars[1]}"
    )
    console.print(
        f"  NPS {nps} (simulated answers), {earned.survey_answers} answers paid "
        f"{ctx.settings.points.earn.get('survey_answer', 0)} points each; exit reasons: {reasons}"
    )
    state = "clean" if report.ok else f"{len(report.problems)} PROBLEMS"
    held, issued, spent = (
        totals.get("held_by_members", 0),
        -totals.get("issued", 0),
        totals.get("redeemed", 0),
    )
    console.print(
        f"  ledger {state}: {report.transactions:,} transactions, {held:,} points held, {issued:,} issued, "
        f"{spent:,} spent — `qunyun ledger verify`, `qunyun leaderboard`, `qunyun coupons list`, "
        "`qunyun link MEMBER`"
    )


def _campaigns(e: Engagement, end: datetime) -> None:
    start = end - 60 * DAY
    for slug, name, value in (("return-20", "回归礼 20 元", 2000), ("invite-20", "邀请礼 20 元", 2000)):
        e.coupons.create_campaign(
            CampaignSpec(
                slug, name, "amount", value, start, end + 60 * DAY, validity_days=7, per_member_limit=3
            )
        )
    e.coupons.create_campaign(
        CampaignSpec("invite-50", "邀请礼 50 元", "amount", 5000, start, end + 60 * DAY)
    )


def _wake_up_coupons(ctx: AppContext, e: Engagement) -> tuple[int, int]:
    with ctx.engine.connect() as conn:
        waking = silent_worth_waking(conn, ctx.workspace_id, 20)
    coupons = [
        e.coupons.issue("return-20", int(row["member_id"]), key=f"demo-wake:{row['member_id']}")
        for row in waking
    ]
    redeemed = 0
    for i, coupon in enumerate(coupons[:5]):
        for _ in range(2):  # the second is a replay of the first (same key)
            e.coupons.redeem(coupon.code, key=f"demo-order-{i}", order_ref=f"demo-order-{i}")
        redeemed += 1
    return len(coupons), redeemed


def _week_of_checkins(ctx: AppContext, e: Engagement, clock: FixedClock, end: datetime) -> tuple[int, int]:
    """Members who wrote on a day of the last week check in that day."""
    zone = ctx.settings.zone
    members: set[int] = set()
    longest = 0
    for back in range(7, 0, -1):
        day_end = end - (back - 1) * DAY
        with ctx.engine.connect() as conn:
            writers = (
                conn.execute(
                    select(identities.c.member_id)
                    .join(activities, activities.c.identity_id == identities.c.id)
                    .where(activities.c.kind == "message", activities.c.occurred_at >= day_end - DAY)
                    .where(activities.c.occurred_at < day_end)
                    .distinct()
                    .order_by(identities.c.member_id)
                    .limit(60)
                )
                .scalars()
                .all()
            )
        clock.set(day_end - timedelta(hours=1))
        for member in writers:
            result = e.checkins.check_in(int(member), zone)
            members.add(int(member))
            longest = max(longest, result.streak.current)
    clock.set(end)
    return len(members), longest


def _referrals(ctx: AppContext, e: Engagement, end: datetime) -> str:
    """The three newest members joined with the code of a long-standing member; one tries its own."""
    with ctx.engine.connect() as conn:
        by_join = conn.execute(
            select(member_state.c.member_id).where(member_state.c.joined_at.is_not(None))
            .order_by(member_state.c.joined_at, member_state.c.member_id)
        ).scalars().all()  # fmt: skip
    if len(by_join) < 5:
        return "skipped (too few members)"
    inviter = int(by_join[0])
    # The code predates the newcomers: it was handed out before they joined.
    e.referrals.clock = FixedClock(end - 200 * DAY)
    code = e.referrals.code_for(inviter)
    e.referrals.clock = FixedClock(end)
    outcomes = Counter(e.referrals.attribute(int(m), code).reason for m in by_join[-3:])
    outcomes[e.referrals.attribute(inviter, code).reason] += 1
    return ", ".join(f"{reason} {n}" for reason, n in sorted(outcomes.items()))


def _paid_members(ctx: AppContext, e: Engagement) -> int:
    with ctx.engine.connect() as conn:
        active = conn.execute(
            select(member_state.c.member_id).where(member_state.c.segment == "active")
            .order_by(member_state.c.spend_minor.desc(), member_state.c.member_id).limit(10)
        ).scalars().all()  # fmt: skip
    for member in active:
        e.tiers.subscribe(int(member), "annual", key=f"demo-pay-{member}")
    return len(active)


def _stars(ctx: AppContext, e: Engagement, end: datetime) -> tuple[str, str]:
    zone = ctx.settings.zone
    month = (end.astimezone(zone).replace(day=1) - DAY).strftime("%Y-%m")  # the last full month
    conf = ctx.settings.leaderboard
    rule = ScoreRule(conf.weights, conf.acknowledgement, centrality_weight=1.0)
    standings = leaderboard(ctx.engine, ctx.workspace_id, month, zone, rule=rule, top=conf.stars)
    e.badges.crown(standings, conf.star_badge, month, count=conf.stars, points=conf.star_points)
    shown = ", ".join(f"{s.name} ({s.score:g})" for s in standings)
    return month, shown or "nobody active"


def _spend_some(e: Engagement) -> None:
    """Members with enough points trade 50 for a bookmark set; one order is refunded."""
    with e.engine.connect() as conn:
        rich = (
            conn.execute(
                select(ledger_accounts.c.owner_id)
                .where(ledger_accounts.c.kind == "member", ledger_accounts.c.balance >= 50)
                .order_by(ledger_accounts.c.balance.desc(), ledger_accounts.c.owner_id)
                .limit(5)
            )
            .scalars()
            .all()
        )
    for member in rich:
        e.ledger.spend(int(member), 50, key=f"demo-gift-{member}", reason="兑换书签套装")
    if rich:
        e.ledger.refund(f"demo-gift-{rich[0]}", key=f"demo-gift-refund-{rich[0]}")


def _surveys(ctx: AppContext, clock: FixedClock) -> tuple[str, str]:
    rng = random.Random(6)
    with ctx.engine.begin() as conn:
        create_survey(conn, ctx.workspace_id, clock, NewSurvey(builtin_definition("nps")))
        create_survey(conn, ctx.workspace_id, clock, NewSurvey(builtin_definition("exit")))
        rows = conn.execute(
            select(member_state.c.member_id, member_state.c.segment, member_state.c.is_member).order_by(
                member_state.c.member_id
            )
        ).all()
        answered: set[int] = set()
        for member, segment, present in rows:
            member = int(member)
            if member in answered or rng.random() > 0.15:
                continue
            answered.add(member)
            if present:
                low, high = (7, 10) if segment == "active" else (3, 9)
                answers: dict[str, object] = {"score": rng.randint(low, high)}
                record_response(
                    conn, ctx.workspace_id, clock, NewResponse("nps", member, answers, f"demo-nps-{member}")
                )
            else:
                reason = rng.choice(
                    ["boring_content", "too_few_benefits", "too_many_messages", "too_many_messages"]
                )
                exit_answers: dict[str, object] = {"reason": reason}
                key = f"demo-exit-{member}"
                record_response(conn, ctx.workspace_id, clock, NewResponse("exit", member, exit_answers, key))
        nps = survey_results(conn, ctx.workspace_id, "nps").questions[0].nps
        exits = survey_results(conn, ctx.workspace_id, "exit").questions[0].choices
    nps_text = f"{nps.score:+.0f} from {nps.responses} answers" if nps else "—"
    reasons = ", ".join(f"{k} {v}" for k, v in exits.counts.items()) if exits else "—"
    return nps_text, reasons
