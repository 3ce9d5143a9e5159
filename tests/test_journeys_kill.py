"""Exactly-once under crashes: kill -9 the worker during a 10,000-member wake-up campaign, 20 times.

A loopback webhook receiver (honouring Idempotency-Key, as the webhook contract
asks) counts every request and every key it accepted. After the kills and a
final run, every outbox key reached it exactly once and nothing is left unsent.
Then: two workers on the same due steps at once, zero duplicates.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from conftest import T0
from journey_helpers import add_members, community, install, journeys_for
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.journeys.service import Journeys
from qunyun.store.journey_tables import enrolments, outbox

WORKER = Path(__file__).with_name("journey_worker.py")
CAMPAIGN = """
name: wake-all
title: 唤醒
trigger: {manual: true}
holdout: 0.1
steps:
  - id: hello
    send_message: {template: "{{ member.nickname }}，好久不见"}
"""


class Receiver:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.lock = threading.Lock()


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            key = self.headers["Idempotency-Key"]
            with state.lock:
                state.requests[key] += 1
                first = key not in state.accepted
                if first:
                    state.accepted[key] += 1
            self.send_response(200 if first else 409)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", state
    server.shutdown()


def _worker(db_url: str, hook: str, at: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(WORKER.parent)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), db_url, hook, at],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


@pytest.mark.slow
def test_kill_nine_twenty_times_every_key_reaches_the_receiver_exactly_once(
    db_url: str, engine: Engine, workspace_id: int, settings: Settings, receiver: tuple[str, Receiver]
) -> None:
    hook, state = receiver
    clock = FixedClock(T0)
    j = journeys_for(settings, engine, clock, workspace_id, channel=None)  # type: ignore[arg-type]
    cid = community(engine, workspace_id)
    add_members(engine, workspace_id, cid, 10_000)
    install(j, CAMPAIGN)
    assert j.enrol_members("wake-all", None, "test") == 10_000
    rng = random.Random(7)
    for i in range(20):
        at = (T0 + timedelta(minutes=2 * i)).isoformat()  # 20:00-20:40 in Shanghai; leases are 60 s
        proc = _worker(db_url, hook, at)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reaps it and closes its pipe
    final = _worker(db_url, hook, (T0 + timedelta(minutes=45)).isoformat())
    _, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode()[-2000:]
    with engine.connect() as conn:
        keys = conn.execute(select(outbox.c.idempotency_key, outbox.c.status)).all()
        arms = Counter(conn.execute(select(enrolments.c.arm)).scalars())
    assert {status for _, status in keys} == {"sent"}
    assert len(keys) == arms["treated"] == 10_000 - arms["control"]
    assert set(state.accepted) == {key for key, _ in keys}
    assert max(state.accepted.values()) == 1
    resent = sum(n - 1 for n in state.requests.values())
    print(f"requests beyond the first per key (in-doubt resends, answered 409): {resent}")


def test_two_workers_on_the_same_due_steps_send_nothing_twice(
    db_url: str, engine: Engine, workspace_id: int, settings: Settings, receiver: tuple[str, Receiver]
) -> None:
    hook, state = receiver
    clock = FixedClock(T0)
    j: Journeys = journeys_for(settings, engine, clock, workspace_id, channel=None)  # type: ignore[arg-type]
    cid = community(engine, workspace_id)
    add_members(engine, workspace_id, cid, 1500)
    install(j, CAMPAIGN)
    j.enrol_members("wake-all", None, "test")
    at = T0.isoformat()
    first, second = _worker(db_url, hook, at), _worker(db_url, hook, at)
    for proc in (first, second):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
    with engine.connect() as conn:
        sent = conn.execute(select(func.count()).where(outbox.c.status == "sent")).scalar_one()
        total = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    assert sent == total == len(state.accepted) > 1200
    assert sum(state.requests.values()) == total  # not even a duplicate request
