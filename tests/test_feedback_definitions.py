"""Survey definitions and answers: what is accepted, and errors that name the file, field and question."""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.feedback import (
    AnswerError,
    QuestionKind,
    SurveyDefinitionError,
    SurveyKind,
    builtin_definition,
    check_answers,
    choice_counts,
    load_definition,
    nps,
    parse_definition,
    satisfaction,
)


def _label(text: str) -> dict[str, str]:
    return {"zh-CN": f"{text}（中文）", "en": text}


def _poll(**question: Any) -> dict[str, Any]:
    base = {
        "id": "topics",
        "kind": "multiple_choice",
        "label": _label("Topics"),
        "options": [{"id": i, "label": _label(i)} for i in ("photo", "reading", "travel")],
    }
    return {"slug": "topics", "kind": "poll", "title": _label("Poll"), "questions": [base | question]}


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_builtins_carry_the_mission_reasons_in_both_languages() -> None:
    exit_survey = builtin_definition("exit")
    assert exit_survey.kind == SurveyKind.EXIT
    reason = exit_survey.question("reason")
    assert reason is not None
    assert reason.option_ids() == ["boring_content", "too_few_benefits", "too_many_messages", "other"]
    assert [o.label.text("zh-CN") for o in reason.options] == [
        "内容无聊",
        "福利太少",
        "消息太多，打扰到我",
        "其他",
    ]
    assert reason.options[1].label.text("en") == "Too few benefits"
    score = builtin_definition("nps").question("score")
    assert score is not None
    assert score.kind == QuestionKind.NPS
    assert score.label.text("zh-CN").startswith("您有多大可能把本社群推荐给朋友？")


def test_a_toml_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "sat.toml"
    path.write_text(
        'slug = "sat"\ntitle = { zh-CN = "满意度", en = "Satisfaction" }\n'
        '[[questions]]\nid = "overall"\nkind = "satisfaction"\n'
        'label = { zh-CN = "您满意吗？", en = "Are you satisfied?" }\n',
        encoding="utf-8",
    )
    definition = load_definition(path)
    assert (definition.slug, definition.kind, definition.questions[0].kind) == (
        "sat",
        SurveyKind.SURVEY,
        QuestionKind.SATISFACTION,
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"options": [{"id": "photo", "label": {"zh-CN": "摄影"}}]},
            "questions[0] (id 'topics').options[0] (id 'photo').label.en: Field required",
        ),
        ({"kind": "nps", "options": []}, "a poll asks only single_choice or multiple_choice questions"),
        ({"kind": "ranking"}, "questions[0] (id 'topics').kind"),
        ({"id": "Bad Id"}, "questions[0] (id 'Bad Id').id"),
        ({"max_choices": 5}, "need min_choices <= max_choices <= 3 options"),
        ({"max_length": 20}, "max_length is for text questions"),
        ({"colour": "red"}, "questions[0] (id 'topics').colour: Extra inputs are not permitted"),
    ],
)
def test_bad_definitions_name_the_file_and_field(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    path = _write(tmp_path, "poll.json", _poll(**change))
    with pytest.raises(SurveyDefinitionError) as caught:
        load_definition(path)
    assert caught.value.code == "survey.bad_definition"
    assert str(path) in caught.value.message
    assert fragment in caught.value.message


def test_required_if_must_point_at_an_earlier_choice(tmp_path: Path) -> None:
    data = json.loads(json.dumps(_poll()))
    data["kind"] = "survey"
    data["questions"].append(
        {
            "id": "why",
            "kind": "text",
            "label": _label("Why"),
            "required": False,
            "required_if": {"question": "topics", "option": "cooking"},
        }
    )
    with pytest.raises(SurveyDefinitionError, match="'cooking' is not an option of 'topics'"):
        load_definition(_write(tmp_path, "s.json", data))


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("broken.toml", "slug = [", "not valid TOML"),
        ("broken.json", '{"slug": ', "not valid JSON"),
        ("list.json", "[1, 2]", "must be a table/object"),
        ("survey.yaml", "slug: x", "use a .toml or .json definition file"),
        ("empty.json", "{}", "title: Field required"),
    ],
)
def test_unreadable_or_hostile_files(tmp_path: Path, name: str, content: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SurveyDefinitionError) as caught:
        load_definition(path)
    assert name in caught.value.message
    assert fragment in caught.value.message


def test_binary_and_huge_files_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SurveyDefinitionError, match="cannot read"):
        load_definition(binary)
    huge = tmp_path / "h.json"
    huge.write_text('{"slug": "' + "x" * 1_100_000 + '"}', encoding="utf-8")
    with pytest.raises(SurveyDefinitionError, match="larger than"):
        load_definition(huge)
    with pytest.raises(SurveyDefinitionError, match="cannot read"):
        load_definition(tmp_path / "missing.json")


def test_many_problems_are_summarised() -> None:
    questions = [{"id": f"q{i}", "kind": "text"} for i in range(8)]
    text = json.dumps({"title": _label("t"), "questions": questions})
    with pytest.raises(SurveyDefinitionError, match=r"and 3 more$"):
        parse_definition(text, "json", "inline")


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        ({"reason": "bored"}, "question 'reason': unknown option 'bored'"),
        ({}, "question 'reason': an answer is required"),
        ({"reason": "other"}, "question 'other_reason': an answer is required when 'reason' is 'other'"),
        ({"reason": "other", "other_reason": "   "}, "'other_reason': an answer is required when"),
        ({"reason": "other", "other_reason": "太" * 501}, "too long: 501 characters, at most 500"),
        ({"reason": ["other"]}, "give one option id as a string"),
        ({"reason": "other", "mood": "sad"}, "unknown question 'mood'"),
        ([1, 2], "answers must be a JSON object"),
    ],
)
def test_bad_answers_name_the_question(answers: Any, problem: str) -> None:
    with pytest.raises(AnswerError) as caught:
        check_answers(builtin_definition("exit"), answers)
    assert caught.value.code == "survey.bad_answer"
    assert problem in caught.value.message


@pytest.mark.parametrize(
    ("score", "problem"),
    [(11, "11 is out of range 0-10"), (-1, "out of range"), (True, "whole number"), ("9", "whole number")],
)
def test_nps_scores_are_whole_numbers_from_0_to_10(score: Any, problem: str) -> None:
    with pytest.raises(AnswerError, match=problem):
        check_answers(builtin_definition("nps"), {"score": score})


def test_good_answers_are_normalised() -> None:
    assert check_answers(builtin_definition("exit"), {"reason": "other", "other_reason": " 群太多了 "}) == {
        "reason": "other",
        "other_reason": "群太多了",
    }
    assert check_answers(builtin_definition("nps"), {"score": 0, "why": ""}) == {"score": 0}


def test_multiple_choice_bounds() -> None:
    definition = parse_definition(json.dumps(_poll(min_choices=1, max_choices=2)), "json", "poll")
    assert check_answers(definition, {"topics": ["photo", "travel"]}) == {"topics": ["photo", "travel"]}
    for bad, problem in [
        (["photo", "photo"], "chosen twice"),
        (["photo", "reading", "travel"], "choose between 1 and 2 options, not 3"),
        ([], "an answer is required"),
        ("photo", "give a list of option ids"),
    ]:
        with pytest.raises(AnswerError, match=problem):
            check_answers(definition, {"topics": bad})


def test_nps_against_hand_computed_figures() -> None:
    # 5 promoters (10, 10, 9, 9, 9), 2 passives (8, 7), 3 detractors (6, 3, 0): 50% − 30% = 20.
    result = nps([10, 10, 9, 9, 9, 8, 7, 6, 3, 0])
    assert result is not None
    assert (result.promoters, result.passives, result.detractors, result.score) == (5, 2, 3, 20.0)
    assert result.distribution == (1, 0, 0, 1, 0, 0, 1, 1, 1, 3, 2)
    extremes = [nps([10] * 4), nps([0, 6]), nps([7, 8])]
    assert [r.score if r else None for r in extremes] == [100.0, -100.0, 0.0]
    assert nps([]) is None


def test_satisfaction_against_hand_computed_figures() -> None:
    result = satisfaction([5, 5, 4, 3, 1])
    assert result is not None
    assert (result.mean, result.csat, result.distribution) == (3.6, 0.6, (1, 0, 1, 1, 2))
    assert satisfaction([]) is None


def test_choice_counts_keep_every_option() -> None:
    counts = choice_counts(["a", "b", "c"], [["a", "b"], ["a"], "b", ["a"]])
    assert counts.counts == {"a": 3, "b": 2, "c": 0}
    assert (counts.share("a"), counts.share("c")) == (0.75, 0.0)
    assert choice_counts(["a", "b"], []).share("a") is None


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=200))
def test_nps_matches_the_textbook_formula(scores: list[int]) -> None:
    result = nps(scores)
    if not scores:
        assert result is None
        return
    assert result is not None
    promoters = len([s for s in scores if s in (9, 10)])
    detractors = len([s for s in scores if s <= 6])
    expected = (promoters / len(scores) - detractors / len(scores)) * 100
    assert result.score == pytest.approx(expected)
    assert -100 <= result.score <= 100
    assert result.promoters + result.passives + result.detractors == len(scores) == sum(result.distribution)
