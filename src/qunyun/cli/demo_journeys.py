"""Step 7 in the demo: the built-in playbooks on the simulated community.

First a replay of the last 30 days (what the wake-up and win-back playbooks
would have sent, and to whom, against what members really did), then the
playbooks enabled and the wake-up run live at the simulation's end: the
silent list enrolled by hand, a tenth held out, messages through the guard
rails into operator tasks (WeChat has no bot API for members).
"""

from collections import Counter
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from qunyun.cli.context import AppContext
from qunyun.cli.output import console
from qunyun.domain import FixedClock
from qunyun.journeys.actions import LinkMaker
from qunyun.journeys.catalog import builtin_sources
from qunyun.journeys.engine import next_local
from qunyun.journeys.preview import replay
from qunyun.journeys.service import Journeys

if TYPE_CHECKING:
    from qunyun.sim import Simulator


def print_journeys(ctx: AppContext, sim: "Simulator") -> None:
    clock = FixedClock(sim.end)
    j = Journeys(ctx.settings, ctx.engine, clock, ctx.workspace_id, links=_links(ctx))
    start = sim.end - timedelta(days=30)
    lines = []
    with ctx.engine.connect() as conn:
        for name in ("silent-wake-up", "win-back-trilogy", "new-member-7-days"):
            plans = replay(conn, ctx.workspace_id, j.catalog.get(name), start, sim.end, sim.end,
                           ctx.settings.general.locale, ctx.settings.zone, 100_000)  # fmt: skip
            sends = sum(1 for p in plans for s in p.sends if s["text"] and p.arm == "treated")
            outcomes = Counter(p.outcome for p in plans)
            lines.append(f"{name}: {len(plans)} entries, {sends} messages, outcomes {dict(outcomes)}")
    console.print(
        f"playbooks: {len(builtin_sources())} built-ins; replay of the last 30 days — " + "; ".join(lines)
    )
    for name in builtin_sources():
        j.enable(name, "demo")
    enrolled = j.enrol_members("silent-wake-up", None, "demo")
    first = j.run_cycle()
    clock.set(_next_morning(sim.end, ctx))
    later = j.run_cycle()
    tasks = j.tasks.list(clock.now())
    sample = tasks[0].text.replace("\n", " ") if tasks else "-"
    console.print(
        f"  live: all {len(builtin_sources())} enabled; wake-up enrolled {enrolled} silent members by hand "
        f"({first.tick.suppressed} control members held back), {first.tick.queued} messages queued; "
        f"{first.dispatch.reasons.get('quiet_hours', 0)} waited for quiet hours to end; next morning "
        f"{later.dispatch.tasks + first.dispatch.tasks} messages of all playbooks became operator tasks"
    )
    console.print(f"  e.g. task: {sample[:120]}")
    console.print(
        "  `qunyun playbooks list|show|dry-run|replay|results`, `qunyun tasks list`, `qunyun run --as-of`, "
        "`qunyun worker`"
    )


def _next_morning(end: datetime, ctx: AppContext) -> datetime:
    return next_local(end, time(10), ctx.settings.zone)


def _links(ctx: AppContext) -> LinkMaker:
    links, base, workspace = ctx.member_links(), ctx.settings.h5.base_url.rstrip("/"), ctx.workspace_id

    def link(member_id: int, target: str, expires: datetime) -> str:
        return f"{base}/m/{links.issue(workspace, member_id, target, expires)}"

    return link
