"""Step 4 in the demo: the simulated group as a WeChat export, imported; wake-up messages sent once."""

import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from qunyun.cli.context import AppContext
from qunyun.cli.output import console
from qunyun.connectors import OutboundMessage, Recipient
from qunyun.connectors.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from qunyun.connectors.webhook import WebhookChannel
from qunyun.domain import SystemClock
from qunyun.ingest import FORMATS, ImportOptions, import_source
from qunyun.lifecycle.views import silent_worth_waking
from qunyun.sim.platform_exports import write_memotrace_csv
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.sends import SqlSendLog

if TYPE_CHECKING:
    from qunyun.sim import Simulator

_DEMO_SECRET = "demo-only-secret"


def print_platforms(ctx: AppContext, sim: "Simulator") -> None:
    _import_wechat_export(ctx, sim)
    _send_wake_ups(ctx)


def _import_wechat_export(ctx: AppContext, sim: "Simulator") -> None:
    """The last week of the simulated group, written as MemoTrace would export it, imported twice."""
    since = sim.end - timedelta(days=7)
    week = [r for r in sim.activities() if r.occurred_at >= since]
    with tempfile.TemporaryDirectory(prefix="qunyun-demo-") as tmp:
        path = Path(tmp) / "群聊_读书会.csv"
        rows = write_memotrace_csv(week, path, "20001234567@chatroom", ctx.settings.zone)
        # A scratch database: the export repeats what the demo group already holds.
        engine = make_engine(f"sqlite:///{Path(tmp) / 'wechat.db'}")
        migrate(engine)
        with engine.begin() as conn:
            workspace = ensure_workspace(conn, "default", ctx.clock.now())
        reports = [
            import_source(
                engine, ctx.clock, FORMATS["wechat"](path, "auto"), ImportOptions(workspace), fmt="wechat"
            )
            for _ in range(2)
        ]
        engine.dispose()
        size = path.stat().st_size
    first, again = reports
    console.print(
        f"platform export: the last week as a WeChat (MemoTrace) CSV — {rows:,} rows, {size / 2**20:.1f} MB; "
        f"`qunyun import wechat`: {first.inserted:,} activities, {first.rejected} rejected; "
        f"imported again: {again.inserted} new, {again.duplicates:,} recognised (docs/import-format.md)"
    )


class _Receiver(BaseHTTPRequestHandler):
    """An operator's endpoint for the signed webhook channel: checks signatures, keeps ids."""

    taken: ClassVar[dict[str, dict[str, Any]]] = {}
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # http.server's method name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            verify(
                _DEMO_SECRET,
                self.headers.get(TIMESTAMP_HEADER),
                self.headers.get(SIGNATURE_HEADER),
                body,
                SystemClock().now().timestamp(),
            )
            status = 200
        except SignatureError:
            status = 401
        data = json.loads(body)
        if status == 200:
            status = 409 if data["id"] in self.taken else 200
            self.taken.setdefault(data["id"], data)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def _receiver() -> Iterator[str]:
    _Receiver.taken = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wake-up"
    finally:
        server.shutdown()
        server.server_close()


def _send_wake_ups(ctx: AppContext) -> None:
    """The top of the wake-up list, messaged through the signed webhook channel, then replayed."""
    with ctx.engine.connect() as conn:
        waking = silent_worth_waking(conn, ctx.workspace_id, 5)
    log = SqlSendLog(ctx.engine, ctx.workspace_id, ctx.clock)
    today = ctx.clock.now().date().isoformat()
    with _receiver() as url:
        channel = WebhookChannel(url, _DEMO_SECRET, SystemClock(), log)
        outcomes = []
        for replay in (False, True):
            for row in waking:
                name = row["display_name"] or "朋友"
                text = f"{name}，好久不见！本周群里在聊你关心的话题，回来看看吧～"
                key = f"demo-wake-up:{row['member_id']}:{today}"
                delivery = channel.send(
                    Recipient(str(row["member_id"]), direct=True), OutboundMessage(text), key
                )
                outcomes.append((replay, delivery.status.value))
        received = len(_Receiver.taken)
    first = [status for replay, status in outcomes if not replay]
    second = [status for replay, status in outcomes if replay]
    console.print(
        f"outbound: {len(first)} wake-up messages through the signed webhook channel → {', '.join(first)}; "
        f"sent again with the same keys → {', '.join(sorted(set(second)))}; the receiver got {received} "
        "(one per key — docs/channels.md; `qunyun send` for Matrix, Telegram, Slack, Discord, WeCom, email)"
    )
