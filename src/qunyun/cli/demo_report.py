"""Step 8 in the demo: the weekly report of the simulation's last complete week, as HTML and PDF."""

import time as wall
from pathlib import Path
from typing import TYPE_CHECKING

from qunyun.cli.context import AppContext
from qunyun.cli.output import console
from qunyun.cli.report_cmd import report_source, write_report
from qunyun.reports import generate, last_complete_week, save_report

if TYPE_CHECKING:
    from qunyun.sim import Simulator

DEMO_REPORT_DIR = Path(".qunyun")


def write_demo_report(ctx: AppContext, sim: "Simulator", folder: Path = DEMO_REPORT_DIR) -> list[Path]:
    """The zh-CN report of the last week the simulation completed, stored and written as .html and .pdf."""
    week = last_complete_week(sim.end, ctx.settings.zone)
    started = wall.perf_counter()
    html = generate(report_source(ctx.at(sim.end)), week, ["zh-CN"], sim.end)["zh-CN"]
    with ctx.engine.begin() as conn:
        save_report(conn, ctx.workspace_id, week, "zh-CN", html, sim.end, replace=True)
    built = wall.perf_counter() - started
    paths = [folder / f"weekly-report-{week}-zh-CN.html", folder / f"weekly-report-{week}-zh-CN.pdf"]
    write_report(paths[0], html)
    started = wall.perf_counter()
    write_report(paths[1], html)
    printed = wall.perf_counter() - started
    console.print(
        f"weekly report 《社群运营数据周报》 {week}: {paths[0].resolve()} and {paths[1].resolve()} "
        f"(numbers and charts {built:.1f} s, PDF {printed:.1f} s) — `qunyun report weekly --week {week} "
        "--lang en --out report.pdf`"
    )
    return paths
