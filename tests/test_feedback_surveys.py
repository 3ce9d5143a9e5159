"""Survey actions on SQLite and PostgreSQL: exact replays, one response per member, scores."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from conftest import T0
from helpers import row, run_import, write_csv
from qunyun.domain import ActivityKind, FixedClock, IdempotencyConflictError
from qunyun.feedback import (
    AlreadyAnsweredError,
    AnswerError,
    KeyConflictError,
    NewResponse,
    NewSurvey,
    SlugTakenError,
    SurveyClosedError,
    SurveyNotFoundError,
    Window,
    brand_scores,
    builtin_definition,
    close_survey,
    create_survey,
    record_delivery,
    record_response,
    survey_results,
)
from qunyun.store.feedback_tables import survey_deliveries, survey_responses, surveys
from qunyun.store.member_activity import UnknownMemberError
from qunyun.store.tables import activities, communities, identities

OPENS = T0 - timedelta(days=30)
NPS_SCORES = [10, 10, 9, 9, 9, 8, 7, 6, 3, 0]  # NPS 20 (see test_feedback_definitions)


@pytest.fixture
def members(engine: Engine, workspace_id: int, tmp_path: Path) -> list[int]:
    """Ten members who joined g1 (wechat) and one who joined g2 (telegram); ids in that order."""
    rows = [row("2026-05-01T08:00:00+08:00", f"u{i}", "join") for i in range(10)]
    rows.append(row("2026-05-01T08:00:00+08:00", "t1", "join", community="g2", platform="telegram"))
    run_import(engine, workspace_id, write_csv(tmp_path / "members.csv", rows))
    with engine.connect() as conn:
        found = {r.external_id: r.member_id for r in conn.execute(select(identities))}
    return [int(found[f"u{i}"]) for i in range(10)] + [int(found["t1"])]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _survey_activities(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        query = select(activities.c.kind, activities.c.reference_id).where(activities.c.source == "qunyun")
        return [tuple(r) for r in conn.execute(query.order_by(activities.c.id))]  # type: ignore[misc]  # 2 columns


def _create(engine: Engine, workspace_id: int, clock: FixedClock, builtin: str = "nps", **kw: Any) -> None:
    request = NewSurvey(builtin_definition(builtin), opens_at=OPENS, **kw)
    with engine.begin() as conn:
        create_survey(conn, workspace_id, clock, request)


def _answer(engine: Engine, workspace_id: int, clock: FixedClock, request: NewResponse) -> Any:
    with engine.begin() as conn:
        return record_response(conn, workspace_id, clock, request)


def test_create_is_idempotent_by_slug_and_definition(
    engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    request = NewSurvey(builtin_definition("nps"), opens_at=OPENS)
    with engine.begin() as conn:
        first, created = create_survey(conn, workspace_id, clock, request)
    clock.advance(timedelta(hours=1))
    with engine.begin() as conn:
        again, created_again = create_survey(conn, workspace_id, clock, request)
    assert (created, created_again, again.id, again.created_at) == (True, False, first.id, T0)
    assert _count(engine, surveys) == 1
    with engine.begin() as conn, pytest.raises(SlugTakenError) as caught:
        create_survey(conn, workspace_id, clock, NewSurvey(builtin_definition("exit"), slug="nps"))
    assert caught.value.code == "survey.slug_taken"
    with engine.begin() as conn:
        _, made = create_survey(
            conn, workspace_id, clock, NewSurvey(builtin_definition("exit"), slug="exit-2")
        )
    assert made


def test_a_response_is_stored_once_with_its_activity(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock)
    request = NewResponse("nps", members[0], {"score": 9, "why": "干货多"}, key="h5:1")
    first = _answer(engine, workspace_id, clock, request)
    clock.advance(timedelta(minutes=5))
    replay = _answer(engine, workspace_id, clock, request)
    assert (first.replayed, replay.replayed, replay.id, replay.submitted_at) == (False, True, first.id, T0)
    assert (_count(engine, survey_responses), _survey_activities(engine)) == (
        1,
        [(ActivityKind.SURVEY_ANSWER.value, "survey:nps")],
    )
    with engine.connect() as conn:
        g1 = conn.execute(select(communities.c.id).where(communities.c.external_id == "g1")).scalar_one()
    assert first.community_id == g1


def test_a_key_reused_for_other_answers_is_a_conflict(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock)
    _answer(engine, workspace_id, clock, NewResponse("nps", members[0], {"score": 9}, key="k"))
    for other in (
        NewResponse("nps", members[0], {"score": 3}, key="k"),
        NewResponse("nps", members[1], {"score": 9}, key="k"),
    ):
        with pytest.raises(KeyConflictError) as caught:
            _answer(engine, workspace_id, clock, other)
        assert isinstance(caught.value, IdempotencyConflictError)
        assert caught.value.code == "survey.key_conflict"
    assert (_count(engine, survey_responses), len(_survey_activities(engine))) == (1, 1)


def test_one_response_per_member(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock)
    _answer(engine, workspace_id, clock, NewResponse("nps", members[0], {"score": 9}, key="a"))
    same = _answer(engine, workspace_id, clock, NewResponse("nps", members[0], {"score": 9}, key="b"))
    assert same.replayed
    with pytest.raises(AlreadyAnsweredError) as caught:
        _answer(engine, workspace_id, clock, NewResponse("nps", members[0], {"score": 2}, key="c"))
    assert caught.value.code == "survey.already_answered"
    assert (_count(engine, survey_responses), len(_survey_activities(engine))) == (1, 1)


def test_refusals_write_nothing(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock, closes_at=T0 + timedelta(days=1))
    cases: list[tuple[NewResponse, type[Exception], str]] = [
        (NewResponse("nps", 999_999, {"score": 9}, key="x1"), UnknownMemberError, "member.not_found"),
        (NewResponse("nope", members[0], {"score": 9}, key="x2"), SurveyNotFoundError, "survey.not_found"),
        (NewResponse("nps", members[0], {"score": 12}, key="x3"), AnswerError, "survey.bad_answer"),
        (
            NewResponse("nps", members[0], {"score": 9}, key="x4", at=OPENS - timedelta(1)),
            SurveyClosedError,
            "survey.not_open",
        ),
        (
            NewResponse("nps", members[0], {"score": 9}, key="x5", at=T0 + timedelta(days=2)),
            SurveyClosedError,
            "survey.closed",
        ),
    ]
    for request, error, code in cases:
        with pytest.raises(error) as caught:
            _answer(engine, workspace_id, clock, request)
        assert getattr(caught.value, "code", None) == code
    clock.advance(timedelta(hours=1))
    with engine.begin() as conn:
        closed = close_survey(conn, workspace_id, clock, "nps")
    assert closed.closes_at == T0 + timedelta(hours=1)
    with pytest.raises(SurveyClosedError, match="closed at"):
        _answer(engine, workspace_id, clock, NewResponse("nps", members[0], {"score": 9}, key="x6"))
    assert (_count(engine, survey_responses), _survey_activities(engine)) == (0, [])


def test_a_replay_after_closing_still_returns_the_first_result(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock)
    request = NewResponse("nps", members[0], {"score": 10}, key="late")
    first = _answer(engine, workspace_id, clock, request)
    with engine.begin() as conn:
        close_survey(conn, workspace_id, clock, "nps")
    clock.advance(timedelta(days=1))
    assert _answer(engine, workspace_id, clock, request).id == first.id


def test_deliveries_are_recorded_once(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock, "exit")
    with engine.begin() as conn:
        added = [record_delivery(conn, workspace_id, clock, "exit", m, f"exit:{m}") for m in members[:4]]
        again = record_delivery(conn, workspace_id, clock, "exit", members[0], f"exit:{members[0]}")
        with pytest.raises(KeyConflictError):
            record_delivery(conn, workspace_id, clock, "exit", members[1], f"exit:{members[0]}")
    assert (added, again, _count(engine, survey_deliveries)) == ([True] * 4, False, 4)
    _answer(
        engine,
        workspace_id,
        clock,
        NewResponse("exit", members[0], {"reason": "too_many_messages"}, key="e0"),
    )
    with engine.connect() as conn:
        results = survey_results(conn, workspace_id, "exit")
    assert (results.delivered, results.responses, results.response_rate) == (4, 1, 0.25)


def test_nps_and_exit_results_against_hand_computed_figures(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock)
    _create(engine, workspace_id, clock, "exit")
    for i, (member, score) in enumerate(zip(members, NPS_SCORES, strict=False)):
        at = T0 + timedelta(days=i)  # one answer a day, so windows can cut them
        _answer(engine, workspace_id, clock, NewResponse("nps", member, {"score": score}, key=f"n{i}", at=at))
    reasons = ["boring_content", "too_many_messages", "too_many_messages", "other"]
    for i, reason in enumerate(reasons):
        answers = {"reason": reason} | ({"other_reason": "换工作了"} if reason == "other" else {})
        _answer(engine, workspace_id, clock, NewResponse("exit", members[i], answers, key=f"e{i}"))
    with engine.connect() as conn:
        whole = survey_results(conn, workspace_id, "nps")
        first_five = survey_results(conn, workspace_id, "nps", Window(T0, T0 + timedelta(days=5)))
        empty = survey_results(conn, workspace_id, "nps", Window(T0 + timedelta(days=50)))
        exits = survey_results(conn, workspace_id, "exit")
    assert whole.questions[0].nps is not None
    assert (whole.responses, whole.questions[0].nps.score) == (10, 20.0)
    assert first_five.questions[0].nps is not None
    assert first_five.questions[0].nps.score == 100.0  # 10, 10, 9, 9, 9
    assert (empty.responses, empty.questions[0].nps, empty.response_rate) == (0, None, None)
    assert empty.as_dict()["questions"][0]["nps"] is None
    choices = exits.questions[0].choices
    assert choices is not None
    assert choices.counts == {"boring_content": 1, "too_few_benefits": 0, "too_many_messages": 2, "other": 1}
    assert [t.text for t in exits.questions[1].texts] == ["换工作了"]


def test_brand_scores_per_range_and_community(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    _create(engine, workspace_id, clock)
    for i, (member, score) in enumerate(zip(members, NPS_SCORES, strict=False)):
        _answer(engine, workspace_id, clock, NewResponse("nps", member, {"score": score}, key=f"n{i}"))
    with engine.connect() as conn:
        g2 = conn.execute(select(communities.c.id).where(communities.c.external_id == "g2")).scalar_one()
    _answer(
        engine, workspace_id, clock, NewResponse("nps", members[10], {"score": 0}, key="t1", community_id=g2)
    )
    day = (T0, T0 + timedelta(days=1))
    later = (T0 + timedelta(days=1), T0 + timedelta(days=2))
    with engine.connect() as conn:
        everywhere, nothing = brand_scores(conn, workspace_id, [day, later])
        (only_g2,) = brand_scores(conn, workspace_id, [day], community_id=g2)
    assert everywhere.nps is not None
    assert (everywhere.nps.responses, everywhere.nps.detractors) == (11, 4)
    assert everywhere.nps.score == pytest.approx(100 * (5 - 4) / 11)
    assert (nothing.nps, nothing.satisfaction, everywhere.satisfaction) == (None, None, None)
    assert only_g2.nps is not None
    assert only_g2.nps.score == -100.0


def test_a_poll_answer_is_a_poll_vote(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int], tmp_path: Path
) -> None:
    from qunyun.feedback import load_definition

    path = tmp_path / "poll.toml"
    path.write_text(
        'slug = "lunch"\nkind = "poll"\ntitle = { zh-CN = "午餐", en = "Lunch" }\n'
        '[[questions]]\nid = "dish"\nkind = "single_choice"\n'
        'label = { zh-CN = "吃什么？", en = "What for lunch?" }\n'
        'options = [{ id = "noodles", label = { zh-CN = "面", en = "Noodles" } },'
        ' { id = "rice", label = { zh-CN = "饭", en = "Rice" } }]\n',
        encoding="utf-8",
    )
    with engine.begin() as conn:
        create_survey(conn, workspace_id, clock, NewSurvey(load_definition(path)))
    _answer(engine, workspace_id, clock, NewResponse("lunch", members[0], {"dish": "rice"}, key="p1"))
    assert _survey_activities(engine) == [(ActivityKind.POLL_VOTE.value, "survey:lunch")]


def _wait_until_blocked(engine: Engine, timeout: float = 30.0) -> None:
    """Return once another session of this database waits on a lock (no fixed sleep)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            probe.rollback()  # a fresh snapshot of pg_stat_activity for the next look
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second writer never blocked on the first")


def test_racing_second_response_leaves_one_response_and_one_activity(
    engine: Engine, workspace_id: int, clock: FixedClock, members: list[int]
) -> None:
    """Two writers, two keys, same member and answers: the loser returns the winner's response."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no race to lose")
    _create(engine, workspace_id, clock)
    winner = engine.connect()
    transaction = winner.begin()
    record_response(winner, workspace_id, clock, NewResponse("nps", members[0], {"score": 8}, key="phone"))
    with ThreadPoolExecutor(1) as pool:
        # The loser checks first (sees nothing committed), then waits on the winner's unique row.
        loser = pool.submit(
            _answer, engine, workspace_id, clock, NewResponse("nps", members[0], {"score": 8}, key="h5")
        )
        _wait_until_blocked(engine)  # the loser is inside its insert, queued behind the winner's row
        transaction.commit()
        result = loser.result(timeout=30)
    winner.close()
    assert (result.replayed, result.key) == (True, "phone")
    assert (_count(engine, survey_responses), len(_survey_activities(engine))) == (1, 1)
