"""KPI target progress: direction, capping, missing values, growth over the range."""

import pytest

from qunyun.analytics.targets import member_growth, target_progress

PERIODS = [
    {"members": 110, "net": 10, "interaction_rate": 0.2, "churn_rate": 0.02},
    {"members": 150, "net": 40, "interaction_rate": 0.36, "churn_rate": 0.08},
]


def test_progress_against_targets() -> None:
    got = {
        p.kpi: p
        for p in target_progress(
            PERIODS,
            {
                "interaction_rate": 0.3,
                "churn_rate": 0.05,
                "member_growth": 0.5,
                "nps": 40.0,
                "stickiness": None,
            },
        )
    }
    assert set(got) == {"interaction_rate", "churn_rate", "member_growth", "nps"}  # no target, no row
    assert (got["interaction_rate"].met, got["interaction_rate"].progress) == (
        True,
        1.0,
    )  # 0.36 ≥ 0.30, capped
    assert got["churn_rate"].met is False  # 8% > 5%: lower is better
    assert got["churn_rate"].progress == pytest.approx(0.05 / 0.08)
    assert got["member_growth"].value == pytest.approx(150 / 100 - 1)  # 100 at the start of the range
    assert got["member_growth"].met is True
    assert (got["nps"].value, got["nps"].met, got["nps"].progress) == (None, None, None)


def test_growth_needs_a_start() -> None:
    assert member_growth([]) is None
    assert member_growth([{"members": 5, "net": 5}]) is None  # nobody before: growth is undefined


def test_best_slots_ignore_thin_evidence() -> None:
    from qunyun.analytics.content import best_slots

    hours = [
        {"weekday": 0, "hour": 4, "posts": 2, "responses_per_post": 9.0},  # two posts prove nothing
        {"weekday": 2, "hour": 21, "posts": 40, "responses_per_post": 1.5},
        {"weekday": 4, "hour": 8, "posts": 60, "responses_per_post": 1.2},
    ]
    assert [(s["weekday"], s["hour"]) for s in best_slots(hours)] == [(2, 21), (4, 8)]
    assert best_slots(hours, top=1)[0]["hour"] == 21
