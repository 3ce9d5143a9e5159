"""Journey engine throughput: due steps per second with 1M members enrolled, and dispatcher sends per second.

A community of N members (default 1,000,000), all enrolled in a two-message
playbook (send, wait a day, send); `--due` of them (default 100,000) are due
now, the rest tomorrow, so the claim query runs against the full enrolments
table. `tick` runs every due step (a send_message renders a Jinja template per
member and writes an outbox row, then the wait parks the enrolment: two steps
each). The dispatcher then sends `--send` outbox rows through an in-memory
channel with the durable SQL send log and the guard rails on. PostgreSQL is a
throwaway server started here (scripts/pg-throwaway, fsync off).

    .venv/bin/python benchmarks/bench_journeys.py [--members 1000000] [--due 100000] [--send 10000]
"""

import argparse
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text

from qunyun.config import load_settings
from qunyun.connectors.base import Attempt, Channel, OutboundMessage, Outcome, Recipient
from qunyun.domain import FixedClock
from qunyun.journeys.service import Journeys
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.journey_tables import enrolments
from qunyun.store.sends import SqlSendLog
from qunyun.store.tables import identities, member_state, members
from qunyun.store.workspace import ensure_community

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: no quiet hours
CHUNK = 50_000
PLAYBOOK = """
name: bench
title: bench
trigger: {manual: true}
holdout: 0
steps:
  - id: hello
    send_message: {template: "{{ member.nickname }}，{{ community.name }}想你了"}
  - wait: {days: 1}
  - id: again
    send_message: {template: "{{ member.nickname }}，再见"}
"""


class NullChannel(Channel):
    name = "null"

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        return Attempt(Outcome.SENT, platform_id=key[-8:])


def prepare(url: str, count: int, due: int) -> tuple[Engine, Journeys]:
    engine = make_engine(url)
    migrate(engine)
    clock = FixedClock(NOW)
    settings = load_settings(None, environ={"QUNYUN_JOURNEYS__BATCH_SIZE": "4000"})
    config = settings.journeys.model_copy(update={"channels": {"wechat": "null"}})
    settings = settings.model_copy(update={"journeys": config})
    with engine.begin() as conn:
        workspace = ensure_workspace(conn, "bench", NOW)
        community = ensure_community(conn, workspace, "wechat", "g", "基准群", NOW)
    journeys = Journeys(
        settings, engine, clock, workspace,
        channels=lambda name: NullChannel(SqlSendLog(engine, workspace, clock)),
    )  # fmt: skip
    journeys.catalog.save(PLAYBOOK, "bench", "bench", enabled=True)
    started = time.perf_counter()
    for start in range(1, count + 1, CHUNK):
        ids = range(start, min(start + CHUNK, count + 1))
        with engine.begin() as conn:
            conn.execute(
                insert(members),
                [{"id": m, "workspace_id": workspace, "display_name": "m", "created_at": NOW} for m in ids],
            )
            conn.execute(
                insert(identities),
                [
                    {
                        "workspace_id": workspace,
                        "member_id": m,
                        "original_member_id": m,
                        "platform": "wechat",
                        "external_id": f"u{m}",
                        "nickname": f"用户{m}",
                        "created_at": NOW,
                    }
                    for m in ids
                ],
            )
            conn.execute(
                insert(member_state),
                [
                    {
                        "community_id": community,
                        "member_id": m,
                        "stage": "growing",
                        "segment": "silent",
                        "as_of": NOW,
                        "stage_since": NOW,
                        "segment_since": NOW,
                        "is_member": True,
                        "joined_at": NOW,
                        "messages_total": 0,
                        "messages_30d": 0,
                        "interactions_30d": 0,
                        "purchases_total": 0,
                        "spend_minor": 0,
                        "reason": "bench",
                    }
                    for m in ids
                ],
            )
            conn.execute(insert(enrolments), [
                {"workspace_id": workspace, "playbook": "bench", "version": 1, "subject": f"m:{m}",
                 "member_id": m,
                 "community_id": community, "occurrence": 1, "arm": "treated", "status": "active", "pc": 0,
                 "due_at": NOW if m <= due else NOW + timedelta(days=1), "context": {}, "trigger": "bench",
                 "enrolled_at": NOW} for m in ids])  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"  {count:,} members enrolled in {time.perf_counter() - started:.0f} s")
    return engine, journeys


def measure(name: str, url: str, count: int, due: int, send: int) -> None:
    engine, journeys = prepare(url, count, due)
    started = time.perf_counter()
    report = journeys.tick()
    elapsed = time.perf_counter() - started
    assert report.queued == due, report
    rate = report.steps / elapsed
    print(f"{name}: tick {report.steps:,} due steps in {elapsed:.1f} s = {rate:,.0f} steps/s "
          f"({count:,} enrolled, {due:,} due; {report.queued:,} outbox rows)")  # fmt: skip
    batches = max(1, send // journeys.settings.journeys.batch_size)
    started = time.perf_counter()
    sent = journeys.dispatch(max_batches=batches)
    elapsed = time.perf_counter() - started
    print(
        f"{name}: dispatch {sent.sent:,} sends in {elapsed:.1f} s = {sent.sent / elapsed:,.0f} msgs/s "
        "(guard rails on, SQL send log, in-memory channel)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pgdir = Path(tempfile.mkdtemp(prefix="qunyun-bench-pg."))
        pg_url = ""
        if args.only != "sqlite":
            pg_url = subprocess.run(
                [str(ROOT / "scripts" / "pg-throwaway"), "start", str(pgdir), "55438"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
        try:
            for name, url in (("sqlite", f"sqlite:///{tmp}/journeys.db"), ("postgresql", pg_url)):
                if args.only in (None, name):
                    measure(name, url, args.members, args.due, args.send)
        finally:
            if pg_url:
                subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", str(pgdir)], check=False)


if __name__ == "__main__":
    main()
