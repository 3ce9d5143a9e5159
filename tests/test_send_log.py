"""The SQL send log on SQLite and PostgreSQL: one claim per key, across threads and across a SIGKILL."""

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from conftest import T0
from platform_fakes import FakeTelegram, Reply, Request, serve
from qunyun.domain import FixedClock, IdempotencyConflictError
from qunyun.store.sends import SqlSendLog
from qunyun.store.tables import channel_sends

WORKER = Path(__file__).parent / "send_worker.py"


def test_claim_finish_release(engine: Engine, workspace_id: int) -> None:
    log = SqlSendLog(engine, workspace_id, FixedClock(T0))
    assert log.claim("k", "telegram", "f1") is None
    earlier = log.claim("k", "telegram", "f1")
    assert earlier is not None
    assert earlier.status == "sending"
    with pytest.raises(IdempotencyConflictError):
        log.claim("k", "telegram", "f2")
    log.finish("k", "sent", "m1", 2)
    done = log.claim("k", "telegram", "f1")
    assert done is not None
    assert (done.status, done.platform_id, done.attempts) == ("sent", "m1", 2)
    log.release("k")  # a sent key is never released
    assert log.claim("k", "telegram", "f1") is not None
    assert log.claim("j", "telegram", "f1") is None
    log.release("j")
    assert log.claim("j", "telegram", "f1") is None


def test_one_claim_wins_among_threads(engine: Engine, workspace_id: int) -> None:
    log = SqlSendLog(engine, workspace_id, FixedClock(T0))
    results: list[object] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        results.append(log.claim("same", "slack", "f"))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 1


class SlowTelegram(FakeTelegram):
    def handle(self, request: Request) -> Reply:
        time.sleep(0.01)
        return super().handle(request)


def test_sigkill_mid_send_then_replay_sends_nothing_twice(db_url: str, engine: Engine) -> None:
    count = 120
    fake = SlowTelegram("123:abc", {str(i) for i in range(50)})
    with serve(fake) as url:
        cmd = [sys.executable, str(WORKER), url, db_url, str(count)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(fake.sent) < 30 and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the worker finished before it could be killed"
        assert len(fake.sent) < count
        replay = subprocess.run(cmd, capture_output=True, text=True, check=True)
    statuses = dict(line.split() for line in replay.stdout.splitlines())
    texts = Counter(text for _, text in fake.sent)
    assert max(texts.values()) == 1, "a message reached the platform twice"
    in_doubt = [key for key, status in statuses.items() if status == "in_doubt"]
    assert len(in_doubt) <= 1  # at most the one request in flight when the worker died
    with engine.connect() as conn:
        stored = dict(conn.execute(select(channel_sends.c.idempotency_key, channel_sends.c.status)).all())
    assert set(stored) == {f"key-{i}" for i in range(count)}
    sent_keys = {key for key, status in stored.items() if status == "sent"}
    delivered = {f"key-{text.split()[1]}" for text in texts}
    assert sent_keys <= delivered
    assert delivered - sent_keys <= set(in_doubt)  # delivered but unconfirmed: reported, not resent
    assert len(sent_keys) + len(in_doubt) == count
