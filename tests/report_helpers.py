"""A hand-made community for the weekly report tests, and readers of what the report writes.

Weeks of June 2026 (Asia/Shanghai): W23 = Mon 1 – Sun 7, W24 = Mon 8 – Sun 14.

    A  joins 1 Jun; speaks 2 Jun; speaks 9 Jun (post p1); buys 10 Jun (first purchase)
    B  joins 1 Jun; reacts 3 Jun; leaves 12 Jun
    C  joins 2 Jun; says only "收到" 4 Jun (a bare ack); buys 5 Jun; speaks 11 Jun; buys 12 Jun (repeat)
    D  joins 8 Jun; speaks 8 Jun; replies to p1 on 9 Jun
    E  joins 9 Jun; nothing else
NPS answers in W24: A 10, C 9, D 3 — each on a day its member was active anyway.
"""

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from helpers import row, run_import, write_csv
from qunyun.domain import FixedClock
from qunyun.feedback import NewResponse, NewSurvey, builtin_definition, create_survey, record_response
from qunyun.store.tables import alerts, communities, identities, segment_transitions


def at(day: str, clock: str) -> str:
    return f"2026-{day}T{clock}:00+08:00"


def utc(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(at(day, clock)).astimezone(UTC)


def rows() -> list[dict[str, str]]:
    buy = {"currency": "CNY"}
    return [
        row(at("06-01", "10:00"), "A", "join"),
        row(at("06-02", "10:00"), "A", "message", "今天分享一个摄影构图技巧"),
        row(at("06-09", "10:00"), "A", "message", "新的一周大家好", reference_id="p1"),
        row(at("06-10", "10:00"), "A", "purchase", amount="100", **buy),
        row(at("06-01", "11:00"), "B", "join"),
        row(at("06-03", "12:00"), "B", "reaction", "👍"),
        row(at("06-12", "20:00"), "B", "leave"),
        row(at("06-02", "09:00"), "C", "join"),
        row(at("06-04", "09:00"), "C", "message", "收到"),
        row(at("06-05", "09:00"), "C", "purchase", amount="50", **buy),
        row(at("06-11", "09:00"), "C", "message", "我也想学"),
        row(at("06-12", "09:00"), "C", "purchase", amount="80", **buy),
        row(at("06-08", "09:00"), "D", "join"),
        row(at("06-08", "09:30"), "D", "message", "大家好，我是新人"),
        row(at("06-09", "11:00"), "D", "reply", "欢迎欢迎，一起学习", reply_to="p1"),
        row(at("06-09", "10:00"), "E", "join"),
    ]


def build_community(engine: Engine, workspace_id: int, folder: Path) -> None:
    run_import(engine, workspace_id, write_csv(folder / "community.csv", rows()))
    with engine.begin() as conn:
        member = dict(conn.execute(select(identities.c.external_id, identities.c.member_id)).all())
        community = conn.execute(select(communities.c.id)).scalar_one()
        clock = FixedClock(utc("06-01", "00:00"))
        create_survey(conn, workspace_id, clock, NewSurvey(builtin_definition("nps"), slug="nps"))
        for who, score, day in (("A", 10, "06-10"), ("C", 9, "06-11"), ("D", 3, "06-09")):
            answer = NewResponse("nps", member[who], {"score": score}, f"nps-{who}", at=utc(day, "12:00"))
            record_response(conn, workspace_id, clock, answer)
        # Segment movement as a refresh would record it: two went silent in W24, one became active in W23.
        for who, to, when in (("A", "silent", "06-13"), ("B", "silent", "06-14"), ("C", "active", "06-05")):
            conn.execute(
                insert(segment_transitions).values(
                    community_id=community, member_id=member[who], dimension="segment", from_value="new",
                    to_value=to, at=utc(when, "03:00"), rule="test", facts={},
                )
            )  # fmt: skip
        for kind, severity, when, key in (
            ("complaint", "warning", "06-10", "a1"),
            ("spam", "critical", "06-11", "a2"),
            ("spam", "warning", "06-03", "a3"),  # W23: not this week's
        ):
            conn.execute(
                insert(alerts).values(
                    workspace_id=workspace_id, community_id=community, kind=kind, severity=severity,
                    detail={"text": f"预警{key}"}, occurred_at=utc(when, "15:00"),
                    created_at=utc(when, "15:00"), status="open", dedupe_key=key,
                )
            )  # fmt: skip


def pdf_text(path: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def pdf_page_ink(path: Path, folder: Path) -> list[float]:
    """Share of non-white pixels on each page (pages as 30-dpi greyscale PGM from pdftoppm)."""
    subprocess.run(["pdftoppm", "-gray", "-r", "30", str(path), str(folder / "page")], check=True)
    return [_ink(page.read_bytes()) for page in sorted(folder.glob("page-*.pgm"))]


def _ink(pgm: bytes) -> float:
    """Binary PGM (P5): magic, width, height, maxval as whitespace-separated text, then one byte a pixel."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while pgm[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not pgm[end : end + 1].isspace():
            end += 1
        fields.append(pgm[pos:end])
        pos = end
    assert fields[0] == b"P5"
    assert fields[3] == b"255"
    width, height = int(fields[1]), int(fields[2])
    pixels = pgm[pos + 1 : pos + 1 + width * height]
    assert len(pixels) == width * height
    return sum(1 for p in pixels if p < 200) / len(pixels)
