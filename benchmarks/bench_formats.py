"""Platform-export import throughput and peak memory, per format, on generated 2M-message exports.

For each of telegram, discord, slack and wechat: writes an export of the given
size in that platform's format (cached in benchmarks/out/exports/), then, in a
fresh child process per format (so peaks do not mix):
- reads it through the format's source alone (parse rate: messages/s);
- imports it end to end into a fresh SQLite database, as `qunyun import` does
  (parse, validate, identities, dedupe, insert): rows/s;
- reports the child's peak RSS (target: under 1 GiB, the same for any size).

    .venv/bin/python benchmarks/bench_formats.py                      # 2,000,000 messages each
    .venv/bin/python benchmarks/bench_formats.py --messages 200000    # a quick look
    .venv/bin/python benchmarks/bench_formats.py --formats wechat
"""

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out" / "exports"
MEMBERS = 20_000
START = 1_777_597_200  # 2026-05-01 00:00 UTC
PHRASES = [
    "今天的直播干货满满，谢谢老师",
    "请问优惠券在哪里领？",
    "打卡第{n}天 💪",
    "收到",
    "这个摄影技巧太实用了，晚上回去试试",
    "有没有人一起报名周末的读书会？",
    "Thanks, that helps a lot!",
    "孩子最近不爱吃饭，大家有什么好办法吗",
    "+1",
    "新品什么时候上架？想买给家里人",
]


def _messages(count: int, seed: int) -> Iterator[tuple[int, int, str, int | None]]:
    """(id, sender index, text, replied-to id or None) for `count` messages, one per ~2 s."""
    rng = random.Random(seed)
    for i in range(1, count + 1):
        text = rng.choice(PHRASES).format(n=i % 100) + " " + "群运" * rng.randint(0, 20)
        reply = rng.randint(max(1, i - 50), i - 1) if i > 1 and rng.random() < 0.1 else None
        yield i, int(rng.paretovariate(1.2) * 7) % MEMBERS, text, reply


def write_telegram(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"name": "读书会", "type": "private_supergroup", "id": 1780000001, "messages": [\n')
        for i, sender, text, reply in _messages(count, 1):
            record: dict[str, Any] = {
                "id": i,
                "type": "message",
                "date": "2026-05-01T08:00:00",
                "date_unixtime": str(START + 2 * i),
                "from": f"成员{sender}",
                "from_id": f"user{100000 + sender}",
                "text": [text, {"type": "hashtag", "text": "#读书"}] if i % 7 == 0 else text,
            }
            if reply:
                record["reply_to_message_id"] = reply
            if i % 10 == 0:
                record["reactions"] = [{"type": "emoji", "count": 2, "emoji": "👍"}]
            out.write(("," if i > 1 else "") + json.dumps(record, ensure_ascii=False) + "\n")
        out.write("]}\n")


def write_discord(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '{"guild": {"id": "9001", "name": "Readers"}, "channel": {"id": "9002", "type": "GuildTextChat", '
            '"name": "general"}, "messages": [\n'
        )
        for i, sender, text, reply in _messages(count, 2):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(START + 2 * i))
            record: dict[str, Any] = {
                "id": str(10**17 + i),
                "type": "Reply" if reply else "Default",
                "timestamp": stamp,
                "timestampEdited": None,
                "content": text,
                "author": {"id": str(5 * 10**16 + sender), "name": f"member{sender}", "isBot": False},
                "reactions": [{"emoji": {"name": "👍"}, "count": 1}] if i % 10 == 0 else [],
                "mentions": [],
            }
            if reply:
                record["reference"] = {
                    "messageId": str(10**17 + reply),
                    "channelId": "9002",
                    "guildId": "9001",
                }
            out.write(("," if i > 1 else "") + json.dumps(record, ensure_ascii=False) + "\n")
        out.write(f'], "messageCount": {count}}}\n')


def write_slack(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    users = [
        {"id": f"U{sender:06d}", "team_id": "T1", "name": f"member{sender}"} for sender in range(MEMBERS)
    ]
    (folder / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (folder / "channels.json").write_text('[{"id": "C1", "name": "general"}]', encoding="utf-8")
    (folder / "general").mkdir()
    day: list[dict[str, Any]] = []
    current = None
    for i, sender, text, reply in _messages(count, 3):
        ts = START + 2 * i
        name = time.strftime("%Y-%m-%d", time.gmtime(ts))
        if current is not None and name != current:
            (folder / "general" / f"{current}.json").write_text(
                json.dumps(day, ensure_ascii=False), encoding="utf-8"
            )
            day = []
        current = name
        message: dict[str, Any] = {
            "type": "message",
            "user": f"U{sender:06d}",
            "text": text,
            "ts": f"{ts}.000100",
        }
        if reply:
            message["thread_ts"] = f"{START + 2 * reply}.000100"
        if i % 10 == 0:
            message["reactions"] = [
                {"name": "thumbsup", "users": [f"U{(sender + 1) % MEMBERS:06d}"], "count": 1}
            ]
        day.append(message)
    if day:
        (folder / "general" / f"{current}.json").write_text(
            json.dumps(day, ensure_ascii=False), encoding="utf-8"
        )


def write_wechat(path: Path, count: int) -> None:
    header = (
        "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender"
    )
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header.split(","))
        for i, sender, text, _ in _messages(count, 4):
            ts = START + 2 * i
            local = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + 8 * 3600))
            kind = "3" if i % 13 == 0 else "1"
            content = "" if kind == "3" else text
            writer.writerow(
                [
                    i,
                    "12345678@chatroom",
                    kind,
                    "0",
                    "0",
                    ts,
                    "2",
                    content,
                    local,
                    "",
                    f"成员{sender}",
                    f"wxid_{sender}",
                ]
            )


WRITERS: dict[str, tuple[Callable[[Path, int], None], str]] = {
    "telegram": (write_telegram, "result.json"),
    "discord": (write_discord, "general.json"),
    "slack": (write_slack, "slack-export"),
    "wechat": (write_wechat, "messages.csv"),
}


def export_path(fmt: str, count: int) -> tuple[Path, float]:
    writer, name = WRITERS[fmt]
    path = OUT / f"{fmt}-{count}" / name
    if path.exists():
        return path, 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    writer(path, count)
    return path, time.perf_counter() - started


def child(fmt: str, path: Path, db: Path) -> None:
    """Runs in its own process: parse-only rate, then the full import; prints one JSON line."""
    from qunyun.domain import SystemClock
    from qunyun.ingest import FORMATS, ImportOptions, import_source
    from qunyun.ingest.rows import RowProblem
    from qunyun.store import ensure_workspace, make_engine, migrate

    started = time.perf_counter()
    parsed = sum(1 for item in FORMATS[fmt](path, "auto") if not isinstance(item, RowProblem))
    parse_seconds = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    clock = SystemClock()
    with engine.begin() as conn:
        workspace = ensure_workspace(conn, "default", clock.now())
    started = time.perf_counter()
    report = import_source(engine, clock, FORMATS[fmt](path, "auto"), ImportOptions(workspace), fmt=fmt)
    import_seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "rows": parsed,
                "parse_s": parse_seconds,
                "inserted": report.inserted,
                "rejected": report.rejected,
                "import_s": import_seconds,
                "peak_bytes": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--formats", nargs="*", default=list(WRITERS))
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "PATH", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    columns = ("messages", "rows", "export MB", "parse/s", "import/s", "peak RSS")
    print(f"{'format':<9} " + " ".join(f"{c:>10}" for c in columns))
    for fmt in args.formats:
        path, wrote = export_path(fmt, args.messages)
        size = sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
        db = OUT / f"{fmt}.db"
        done = subprocess.run(
            [sys.executable, __file__, "--child", fmt, str(path), str(db)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{fmt:<9} {args.messages:>10,} {result['rows']:>10,} {size / 2**20:>9,.0f} "
            f"{result['rows'] / result['parse_s']:>9,.0f} {result['rows'] / result['import_s']:>9,.0f} "
            f"{result['peak_bytes'] / 2**20:>6,.0f} MiB"
            + (f"   (export written in {wrote:.0f} s)" if wrote else ""),
            flush=True,
        )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
