"""The weekly report on a hand-made community (tests/report_helpers.py): every number worked out by
hand, the HTML in both languages, the PDF read back with poppler, the CLI, and the worker's Monday run."""

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, update
from typer.testing import CliRunner

from qunyun.analytics import ActivityMirror
from qunyun.cli import context
from qunyun.cli.main import app
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.journeys.catalog import Catalog
from qunyun.reports import (
    IsoWeek,
    ReportSource,
    WeeklyData,
    collect,
    render_html,
    render_pdf,
    stored_html,
    weekly_report_html,
)
from qunyun.store.journey_tables import enrolments
from qunyun.store.report_tables import weekly_reports
from qunyun.store.tables import communities, identities
from report_helpers import build_community, pdf_page_ink, pdf_text, utc

W24 = IsoWeek(2026, 24)
AFTER = utc("07-01", "00:00")
runner = CliRunner()


@pytest.fixture
def source(engine: Engine, workspace_id: int, settings: Settings, tmp_path: Path) -> Iterator[ReportSource]:
    build_community(engine, workspace_id, tmp_path)
    mirror = ActivityMirror(engine, tmp_path / "mirror.duckdb", FixedClock(AFTER))
    yield ReportSource.on_mirror(engine, mirror, workspace_id, settings)
    mirror.close()


@pytest.fixture
def data(source: ReportSource) -> WeeklyData:
    return collect(source, W24, AFTER)


def test_kpis_of_the_week_and_the_week_before_by_hand(data: WeeklyData) -> None:
    k = data.kpis
    this = {
        "members": 4,  # A B C in W23; D E join, B leaves
        "net": 1,
        "dau": 6 / 7,  # 8th D · 9th A D · 10th A · 11th C · 12th C (B's leave is not activity)
        "wau": 3,  # A C D
        "mau": 4,  # A B C D (B reacted on 3 June)
        "stickiness": (6 / 7) / 4,
        "speaking_rate": 3 / 4,  # A D C said something real
        "interaction_rate": 3 / 4,
        "retention": 2 / 3,  # of W23's newcomers A B C, A and C were active in W24
        "conversion_rate": 2 / 4,  # A and C bought
        "repurchase_rate": 1 / 2,  # C had bought before
        "nps": 100 * (2 - 1) / 3,  # 10 and 9 promote, 3 detracts
        "churn_rate": 1 / 3,  # B left of the 3 at the start of the week
    }
    last = {
        "members": 3,
        "net": 3,
        "dau": 4 / 7,  # 2nd A · 3rd B · 4th C · 5th C
        "wau": 3,
        "mau": 3,
        "stickiness": (4 / 7) / 3,
        "speaking_rate": 1 / 3,  # C's "收到" is a bare acknowledgement
        "interaction_rate": 2 / 3,  # A's message, B's reaction
        "retention": None,  # nobody started in W22
        "conversion_rate": 1 / 3,
        "repurchase_rate": 0.0,
        "nps": None,
        "churn_rate": None,  # no members at the start of the week
    }
    for kpi, value in this.items():
        assert k.this[kpi] == pytest.approx(value), kpi
    for kpi, value in last.items():
        assert k.last[kpi] == (None if value is None else pytest.approx(value)), kpi
    assert k.deltas["dau"] == pytest.approx(2 / 7)
    assert k.deltas["speaking_rate"] == pytest.approx(3 / 4 - 1 / 3)
    assert k.deltas["churn_rate"] is None
    targets = {t.kpi: t for t in k.targets}
    assert (targets["churn_rate"].met, targets["churn_rate"].progress) == (
        False,
        pytest.approx(0.05 / (1 / 3)),
    )
    assert (targets["interaction_rate"].met, targets["nps"].met) == (True, False)
    assert targets["member_growth"].value is None  # no members before the first week of data
    assert data.anomalies == []  # two weeks of history say nothing


def test_movement_content_alerts_of_the_week(data: WeeklyData) -> None:
    assert data.movement.entered_segments == {"silent": 2}  # C's move to active was in W23
    assert sum(data.movement.segments.values()) == 0  # no refresh ran: no member state yet
    assert data.alerts.by_kind == {"complaint": 1, "spam": 1}
    assert data.alerts.by_severity == {"warning": 1, "critical": 1}
    assert data.alerts.top[0]["kind"] == "spam"  # critical first
    assert [(p["text"], p["replies"], p["reactions"]) for p in data.top_posts] == [("新的一周大家好", 1, 0)]
    assert data.playbooks == []
    by_day = {r["day"]: r for r in data.trend}
    assert (by_day[date(2026, 6, 9)]["dau"], by_day[date(2026, 6, 14)]["mau"]) == (2, 4)
    w23 = {r["k"]: r["rate"] for r in data.cohorts if r["cohort"] == date(2026, 6, 1)}
    assert w23[0] == pytest.approx(1.0)
    assert w23[1] == pytest.approx(2 / 3)


def test_the_dashboards_call_stores_complete_weeks_only(source: ReportSource, engine: Engine) -> None:
    html = weekly_report_html(source, W24, "en", AFTER)
    assert _kpi_row(html, "Members") == ["4", "3", "+1"]
    with engine.begin() as conn:
        assert stored_html(conn, source.workspace_id, W24, "en") == html
        conn.execute(update(weekly_reports).values(html="<p>kept</p>"))
    assert weekly_report_html(source, W24, "en", AFTER) == "<p>kept</p>"  # stored: served as it was
    during = weekly_report_html(source, W24, "zh", utc("06-12", "12:00"))  # the week is not over
    assert "本周尚未结束" in during
    with engine.connect() as conn:
        assert stored_html(conn, source.workspace_id, W24, "zh-CN") is None


def _kpi_row(html: str, name: str) -> list[str]:
    found = re.search(rf"<tr><td>{re.escape(name)}</td>((?:<td>[^<]*</td>){{3}})", html)
    assert found, name
    return re.findall(r"<td>([^<]*)</td>", found[1])


def test_html_in_chinese_and_english(data: WeeklyData) -> None:
    zh = render_html(data, "zh")
    assert "社群运营数据周报" in zh
    assert "2026-W24" in zh
    assert "2026年6月8日" in zh
    for heading in (
        "本周建议",
        "核心指标",
        "异常波动",
        "分层变化",
        "优质内容",
        "活跃时段",
        "运营剧本效果",
        "本周预警",
    ):
        assert f">{heading}" in zh, heading
    assert _kpi_row(zh, "发言率") == ["75.0%", "33.3%", "+41.7个百分点"]
    assert _kpi_row(zh, "成员数") == ["4", "3", "+1"]
    assert _kpi_row(zh, "流失率") == ["33.3%", "—", "—"]
    assert _kpi_row(zh, "NPS") == ["+33", "—", "—"]
    assert "本周有 2 人进入沉默" in zh
    assert "流失率为 33.3%，低于目标 5.0%" in zh  # the worst-missed target comes first
    assert "本周共有 2 条预警（其中投诉 1 条、严重 1 条）" in zh
    assert zh.count("<svg") == 4
    assert "Noto Sans CJK SC" in zh
    assert "http://" not in zh.replace("http://www.w3.org", "")  # self-contained: nothing to fetch
    en = render_html(data, "en")
    assert "Community Operations Weekly Report" in en
    assert "8 Jun 2026" in en
    for heading in (
        "Recommended actions",
        "Key metrics",
        "Segment movement",
        "Playbook results",
        "Alerts this week",
    ):
        assert f">{heading}" in en, heading
    assert _kpi_row(en, "Speaking rate") == ["75.0%", "33.3%", "+41.7 pp"]
    assert _kpi_row(en, "DAU") == ["0.9", "0.6", "+0.3"]
    assert "2 members went silent this week" in en


def test_member_text_is_escaped(source: ReportSource, engine: Engine) -> None:
    data = collect(source, W24, AFTER)
    data.top_posts[0]["text"] = "<script>alert(1)</script>"
    assert "<script>alert(1)" not in render_html(data, "en")


def test_pdf_pages_carry_ink_and_the_title(data: WeeklyData, tmp_path: Path) -> None:
    for lang, title, number in (
        ("zh", "社群运营数据周报", "75.0%"),
        ("en", "Community Operations Weekly Report", "+41.7 pp"),
    ):
        path = tmp_path / f"{lang}.pdf"
        path.write_bytes(render_pdf(render_html(data, lang)))
        text = pdf_text(path)
        assert title in text
        assert number in text
        assert "2026-W24" in text
        pages = tmp_path / lang
        pages.mkdir()
        ink = pdf_page_ink(path, pages)
        assert len(ink) >= 2
        assert all(share > 0.005 for share in ink), ink


@pytest.fixture
def cli_db(db_url: str, engine: Engine, source: ReportSource, monkeypatch: pytest.MonkeyPatch,
           tmp_path: Path, engines: None) -> str:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUNYUN_PRIVACY__KEY_FILE", str(tmp_path / "k.key"))
    return db_url


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def test_cli_writes_pdf_and_stores_the_report(cli_db: str, engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    _invoke("report", "weekly", "--week", "2026-W24", "--out", str(out), "--db", cli_db)
    text = pdf_text(out)
    assert "社群运营数据周报" in text
    assert "75.0%" in text
    _invoke(
        "report",
        "weekly",
        "--week",
        "2026-W24",
        "--lang",
        "en",
        "--out",
        str(tmp_path / "x.html"),
        "--db",
        cli_db,
    )
    assert "Community Operations Weekly Report" in (tmp_path / "x.html").read_text(encoding="utf-8")
    with engine.connect() as conn:
        stored = set(conn.execute(select(weekly_reports.c.iso_week, weekly_reports.c.lang)).all())
    assert stored == {("2026-W24", "zh-CN"), ("2026-W24", "en")}
    bad = runner.invoke(app, ["report", "weekly", "--week", "2026-47", "--db", cli_db])
    assert bad.exit_code == 1
    assert bad.exception.code == "report.bad_week"


def _worker_at(monkeypatch: pytest.MonkeyPatch, day: str, clock: str, db: str) -> None:
    monkeypatch.setattr(context, "SystemClock", lambda: FixedClock(utc(day, clock)))
    _invoke("worker", "--cycles", "1", "--every", "0", "--db", db)


def _stored(engine: Engine) -> list[tuple[str, str, Any]]:
    with engine.connect() as conn:
        query = select(weekly_reports.c.iso_week, weekly_reports.c.lang, weekly_reports.c.generated_at)
        return sorted(conn.execute(query.order_by(weekly_reports.c.lang)).all())


def test_worker_writes_last_weeks_report_once_from_monday_six(
    cli_db: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _worker_at(monkeypatch, "06-15", "05:59", cli_db)  # Monday before 06:00: W24 is not due yet
    assert [(w, lang) for w, lang, _ in _stored(engine)] == [("2026-W23", "en"), ("2026-W23", "zh-CN")]
    _worker_at(monkeypatch, "06-15", "06:00", cli_db)
    first = [r for r in _stored(engine) if r[0] == "2026-W24"]
    assert [lang for _, lang, _ in first] == ["en", "zh-CN"]
    assert first[0][2] == utc("06-15", "06:00")
    _worker_at(monkeypatch, "06-17", "10:00", cli_db)  # later in the week: nothing new, nothing replaced
    assert [r for r in _stored(engine) if r[0] == "2026-W24"] == first
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(weekly_reports)).scalar_one() == 4
        chosen = (weekly_reports.c.lang == "zh-CN") & (weekly_reports.c.iso_week == "2026-W24")
        html = conn.execute(select(weekly_reports.c.html).where(chosen)).scalar_one()
    assert _kpi_row(html, "发言率") == ["75.0%", "33.3%", "+41.7个百分点"]


WAKE = """
name: silent-wake-up
title: 唤醒测试
trigger: {manual: true}
holdout: 0.5
window_days: 7
steps:
  - id: hello
    send_message: {template: "{{ member.nickname }}，回来看看"}
"""


def test_playbook_results_and_the_wake_up_advice(
    source: ReportSource, engine: Engine, workspace_id: int
) -> None:
    Catalog(engine, workspace_id, FixedClock(utc("05-31", "00:00"))).save(
        WAKE, "<test>", "test", enabled=True
    )
    with engine.begin() as conn:
        member = dict(conn.execute(select(identities.c.external_id, identities.c.member_id)).all())
        community = conn.execute(select(communities.c.id)).scalar_one()
        arms = {"A": "treated", "C": "treated", "D": "treated", "B": "control", "E": "control"}
        for n, (who, arm) in enumerate(arms.items()):
            conn.execute(
                insert(enrolments).values(
                    workspace_id=workspace_id, playbook="silent-wake-up", version=1, arm=arm,
                    subject=f"m:{member[who]}", member_id=member[who], community_id=community, occurrence=n,
                    status="completed", pc=1, context={}, trigger="manual:test",
                    enrolled_at=utc("06-01", "08:00"),
                )
            )  # fmt: skip
    data = collect(source, W24, AFTER)
    (line,) = data.playbooks
    # Spoke within 7 days of 1 June 08:00: A (2 June) and C ("收到", 4 June) of the treated; D spoke
    # on 8 June 09:30, after the window. Of the control, B only reacted and E never spoke.
    assert (line.matured, line.metrics["reactivated"].treated) == (
        {"treated": 3, "control": 2},
        pytest.approx(2 / 3),
    )
    assert line.metrics["reactivated"].control == 0.0
    zh = render_html(data, "zh")
    assert "唤醒剧本「唤醒测试」回流率 66.7%，对照组 0.0%，暂未见效" in zh  # p = 0.14 with five members
    assert '<td>唤醒测试</td><td>3 / 2</td><td class="text">回流发言</td>' in zh
    assert "+66.7 pp" in render_html(data, "en")
