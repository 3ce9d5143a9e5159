"""A journey worker for the kill tests: cycles until nothing is left to do, at a frozen instant.

    python tests/journey_worker.py DB_URL WEBHOOK_URL AT_ISO

Sends go through the real webhook channel with the SQL send log; the test
kills this process with SIGKILL at random points and starts it again.
"""

import sys
from datetime import datetime

from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.journeys.service import Journeys
from qunyun.store import ensure_workspace, make_engine


def main(db_url: str, webhook_url: str, at: str) -> None:
    settings = load_settings(
        None,
        environ={
            "QUNYUN_WEBHOOK__URL": webhook_url,
            "QUNYUN_WEBHOOK__SECRET": "s3cret",
            "QUNYUN_WEBHOOK__PER_SECOND": "100000",
            "QUNYUN_JOURNEYS__LEASE_SECONDS": "60",
            "QUNYUN_JOURNEYS__BATCH_SIZE": "200",
        },
    )
    config = settings.journeys.model_copy(
        update={"channels": {"wechat": "webhook"}, "daily_cap": 0, "weekly_cap": 0}
    )
    settings = settings.model_copy(update={"journeys": config})
    engine = make_engine(db_url)
    clock = FixedClock(datetime.fromisoformat(at))
    with engine.begin() as conn:
        workspace = ensure_workspace(conn, "default", clock.now())
    journeys = Journeys(settings, engine, clock, workspace)
    while True:
        report = journeys.run_cycle()
        print(report.tick.steps, report.dispatch.sent, report.dispatch.in_doubt, flush=True)
        if not (
            report.tick.steps or report.dispatch.sent or report.dispatch.retried or report.dispatch.in_doubt
        ):
            return


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
