"""A worker process for the kill test: sends keys 0..N-1 through Telegram with the SQL send log.

    python tests/send_worker.py BASE_URL DB_URL N

Prints one line per key: `key status`. Killed with SIGKILL by the test mid-run.
"""

import sys

from qunyun.connectors.base import OutboundMessage, Recipient
from qunyun.connectors.telegram import TelegramChannel
from qunyun.domain import SystemClock
from qunyun.store import ensure_workspace, make_engine
from qunyun.store.sends import SqlSendLog


def main(base_url: str, db_url: str, count: int) -> None:
    engine = make_engine(db_url)
    clock = SystemClock()
    with engine.begin() as conn:
        workspace = ensure_workspace(conn, "default", clock.now())
    channel = TelegramChannel("123:abc", SqlSendLog(engine, workspace, clock), base_url=base_url)
    for i in range(count):
        delivery = channel.send(Recipient(str(i % 50)), OutboundMessage(f"消息 {i}"), f"key-{i}")
        print(delivery.idempotency_key, delivery.status.value, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
