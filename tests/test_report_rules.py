"""The weekly report's pure parts: the anomaly rule on hand-made series, ISO weeks, words, numbers, charts."""

import math
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from qunyun.reports import IsoWeek, ReportError, Texts, due_week, last_complete_week
from qunyun.reports.anomalies import THRESHOLD, find_anomalies, robust_z
from qunyun.reports.charts import (
    FONT,
    activity_trend,
    cohort_heatmap,
    hours_heatmap,
    segment_distribution,
    to_svg,
)
from qunyun.reports.message_catalog import CATALOG

SHANGHAI = ZoneInfo("Asia/Shanghai")
STEADY = [10, 11, 9, 10, 12, 10, 9, 11]  # median 10; |deviations| 0 0 0 1 1 1 1 2 → MAD 1


def test_robust_z_by_hand() -> None:
    assert robust_z(20, STEADY) == pytest.approx(0.6745 * 10 / 1)
    assert robust_z(11, STEADY) == pytest.approx(0.6745)
    assert robust_z(4, STEADY) == pytest.approx(0.6745 * -6)
    # One wild earlier week does not hide this week's jump (a mean/sd z-score would: z = 1.9).
    assert robust_z(20, [10, 11, 9, 10, 12, 10, 9, 60]) == pytest.approx(0.6745 * 10 / 1)
    assert robust_z(20, [10, 11, 9]) is None  # too little history


def test_robust_z_when_most_weeks_are_equal() -> None:
    # MAD is 0: mean absolute deviation x 1.2533 instead. Mean 31/6; |deviations| 5 x 1/6 and 5/6 → 5/18.
    history = [5, 5, 5, 5, 5, 6]
    assert robust_z(7, history) == pytest.approx((7 - 5) / (1.2533 * 5 / 18))
    assert robust_z(5, [5] * 8) == 0.0
    assert robust_z(6, [5] * 8) == math.inf


def test_find_anomalies_flags_beyond_the_threshold_largest_first() -> None:
    history = [{"dau": v, "wau": 100 + v, "nps": None} for v in STEADY]
    this = {"dau": 20, "wau": 111, "nps": 30}  # dau z 6.7; wau z 0.67; nps has no history
    found = find_anomalies(this, history, ["wau", "dau", "nps"])
    assert [(a.kpi, a.direction, a.median) for a in found] == [("dau", "up", 10)]
    assert found[0].z > THRESHOLD
    drop = find_anomalies({"dau": 4, "wau": 60}, history, ["dau", "wau"])
    assert [(a.kpi, a.direction) for a in drop] == [("wau", "down"), ("dau", "down")]  # 0.6745 x 50 first


def test_iso_weeks() -> None:
    week = IsoWeek.parse("2026-W47")
    assert (week.monday, week.sunday, str(week.previous(2))) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
        "2026-W45",
    )
    assert str(IsoWeek.parse("2027-W01").previous()) == "2026-W53"  # 2026 starts on a Thursday: 53 weeks
    start, end = week.bounds(SHANGHAI)
    assert (start, end) == (datetime(2026, 11, 15, 16, tzinfo=UTC), datetime(2026, 11, 22, 16, tzinfo=UTC))
    for bad in ("2026-47", "2027-W53", "W47"):
        with pytest.raises(ReportError) as caught:
            IsoWeek.parse(bad)
        assert caught.value.code == "report.bad_week"


def test_default_and_due_weeks_in_local_time() -> None:
    monday = datetime(2026, 11, 23, 5, 59, tzinfo=SHANGHAI)  # Monday of W48, before 06:00
    assert str(last_complete_week(monday, SHANGHAI)) == "2026-W47"
    assert str(due_week(monday, SHANGHAI)) == "2026-W46"
    assert str(due_week(monday.replace(minute=0, hour=6), SHANGHAI)) == "2026-W47"
    # Sunday 23:30 in Shanghai is still Sunday 15:30 UTC: the week has not ended.
    assert str(last_complete_week(datetime(2026, 11, 22, 15, 30, tzinfo=UTC), SHANGHAI)) == "2026-W46"


def test_words_and_numbers_per_language() -> None:
    assert CATALOG["zh-CN"].keys() == CATALOG["en"].keys()
    for group in ("kpi_names", "hint", "segment_names", "outcome_names"):
        assert CATALOG["zh-CN"][group].keys() == CATALOG["en"][group].keys(), group
    zh, en = Texts("zh"), Texts("en")
    assert (zh.count(123456), en.count(123456), zh.count(9999)) == ("12.3万", "123,456", "9,999")
    assert (zh.kpi_delta("members", -30000), en.kpi_delta("members", -3)) == ("-3万", "-3")
    assert (zh.kpi_value("nps", 33.4), en.kpi_value("dau", 6 / 7), en.kpi_value("stickiness", 0.2143)) == (
        "+33", "0.9", "21.4%",
    )  # fmt: skip
    assert (zh.kpi_delta("speaking_rate", 0.41667), en.kpi_delta("speaking_rate", -0.05)) == (
        "+41.7个百分点",
        "-5.0 pp",
    )
    assert (zh.day(date(2026, 6, 8)), en.day(date(2026, 6, 8)), zh.slot(1, 20)) == (
        "2026年6月8日", "8 Jun 2026", "周二 20:00",
    )  # fmt: skip
    assert (en.points(-0.0004), zh.kpi_delta("churn_rate", 0.0)) == (
        "+0.0 pp",
        "+0.0个百分点",
    )  # never "-0.0"
    with pytest.raises(ReportError):
        Texts("fr")


def test_charts_render_to_svg_with_a_cjk_font() -> None:
    trend = activity_trend(
        [{"day": date(2026, 6, d), "dau": d, "wau": 3 * d, "mau": 9 * d} for d in range(1, 15)],
        names={"dau": "日活", "wau": "周活", "mau": "月活"},
        title="趋势图",
        day_title="日期",
        value_title="成员数",
        series_title="指标",
    )
    segments = segment_distribution(
        [{"label": "沉默用户", "members": 412}], title="分层", value_title="成员数"
    )
    cohorts = cohort_heatmap(
        [{"cohort": "06-01", "k": 0, "rate": 1.0}, {"cohort": "06-01", "k": 1, "rate": 2 / 3}],
        title="留存",
        cohort_title="入群周",
        k_title="周",
        rate_title="留存率",
    )
    hours = hours_heatmap(
        [{"weekday": 1, "hour": 20, "interactions": 7}],
        weekdays=["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
        title="热力图",
        weekday_title="星期",
        hour_title="小时",
        value_title="互动数",
    )
    (cells,) = hours.to_dict()["datasets"].values()
    assert len(cells) == 7 * 24  # every cell, empty ones as 0
    for chart, label in ((trend, "趋势图"), (segments, "沉默用户"), (cohorts, "67%"), (hours, "周二")):
        svg = to_svg(chart)
        assert svg.startswith("<svg")
        assert label in svg
        assert set(re.findall(r'font-family="([^"]*)"', svg)) == {FONT}
