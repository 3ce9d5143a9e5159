"""Dashboard latency on a 1M-member / 20M-activity database: p50 and p95 per page.

Serves the real app (uvicorn on loopback, the embedded SQLite default) over
the database `bench_import.py` and `bench_analytics.py` leave behind
(benchmarks/out/ours.db, migrated to the current schema first), logs in as an
operator and times, over HTTP with a kept-alive connection:

- the overview page (with the last complete week's KPIs, computed once before timing),
- the analytics page (its charts are drawn on the first request and kept),
- the members table filtered to one segment, page 1 and page 500 (50 a page),
- member pages of members drawn at random.

Target (issue: Step 8): p95 under 300 ms for each on the embedded default.

    .venv/bin/python benchmarks/bench_dashboard.py [--db sqlite:///benchmarks/out/ours.db] [--requests 60]
"""

import argparse
import random
import statistics
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, select

from qunyun.api import Services, create_app
from qunyun.auth.accounts import Accounts
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.errors import AuthError
from qunyun.reports.weeks import last_complete_week
from qunyun.store import make_engine, migrate
from qunyun.store.tables import member_state, workspaces

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
PORT = 18790


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=f"sqlite:///{ROOT / 'benchmarks/out/ours.db'}")
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    engine = make_engine(args.db)
    started = time.perf_counter()
    migrate(engine)
    print(f"schema up to date in {time.perf_counter() - started:.1f} s")
    with engine.connect() as conn:
        workspace_id = conn.execute(select(func.min(workspaces.c.id))).scalar_one()
        members = conn.execute(select(func.count()).select_from(member_state)).scalar_one()
        ids = list(conn.execute(select(member_state.c.member_id).limit(200_000)).scalars())
    print(f"{members:,} memberships in workspace {workspace_id}")
    clock = FixedClock(datetime(2026, 11, 3, tzinfo=UTC))
    with suppress(AuthError):
        Accounts(engine, clock).add(workspace_id, "bench", PASSWORD, "operator")
    settings = load_settings(None)
    mirror = settings.mirror_path(args.db)
    app = create_app(Services(settings, engine, clock, workspace_id, mirror_path=mirror), dashboard=True)
    # The week's KPIs, cohorts, hours, content and topics are computed away from requests; time that
    # once, then measure pages that show them.
    week = last_complete_week(clock.now(), settings.zone)
    started = time.perf_counter()
    app.state.week_data.wait(workspace_id, week)
    print(f"week {week}: KPIs, charts' data and topics computed in {time.perf_counter() - started:.1f} s")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(400):  # uvicorn exposes no start event: poll its flag, for at most 20 s
        if server.started:
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"uvicorn did not start on port {PORT} within 20 s")
    rng = random.Random(7)
    pages = {
        "overview": lambda: "/overview",
        "analytics (charts of the week)": lambda: "/analytics",
        "members ?segment=silent page 1": lambda: "/members?segment=silent&page=1",
        "members ?segment=silent page 500": lambda: "/members?segment=silent&page=500",
        "member page (random member)": lambda: f"/members/{rng.choice(ids)}",
    }
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as client:
        client.post("/api/v1/session", json={"username": "bench", "password": PASSWORD}).raise_for_status()
        print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'first ms':>9}")
        for label, url in pages.items():
            samples = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                answer = client.get(url())
                samples.append((time.perf_counter() - t0) * 1000)
                answer.raise_for_status()
            p50, p95 = _percentiles(samples[1:])
            verdict = "ok" if p95 < 300 else "OVER"
            print(f"{label:<36} {p50:8.1f} {p95:8.1f} {samples[0]:9.1f}  (target p95 < 300 ms: {verdict})")
    server.should_exit = True


if __name__ == "__main__":
    main()
