"""One member's answers checked against a definition, before anything is stored.

Answers are a JSON object keyed by question id (formats in `questions.py`).
Every problem is reported at once, each naming its question:

>>> from qunyun.feedback.definitions import builtin_definition
>>> check_answers(builtin_definition("nps"), {"score": 9, "why": " 很实用 "})
{'score': 9, 'why': '很实用'}
>>> check_answers(builtin_definition("nps"), {"score": 11})
Traceback (most recent call last):
...
qunyun.feedback.errors.AnswerError: survey 'nps': question 'score': 11 is out of range 0-10
"""

from collections.abc import Callable, Mapping
from typing import Any

from qunyun.feedback.errors import AnswerError
from qunyun.feedback.questions import SCALES, Question, QuestionKind, SurveyDefinition

Answer = int | str | list[str]
Answers = dict[str, Answer]


class _ProblemError(ValueError):
    pass


def check_answers(definition: SurveyDefinition, raw: Any, slug: str | None = None) -> Answers:
    """The answers, normalised (text stripped, empty answers dropped); AnswerError otherwise."""
    name = slug or definition.slug or "survey"
    if not isinstance(raw, Mapping):
        raise AnswerError(name, ["answers must be a JSON object keyed by question id"])
    problems = [f"unknown question {key!r}" for key in raw if definition.question(str(key)) is None]
    answers: Answers = {}
    wrong: set[str] = set()
    for question in definition.questions:
        try:
            value = _one(question, raw.get(question.id))
        except _ProblemError as problem:
            problems.append(f"question {question.id!r}: {problem}")
            wrong.add(question.id)
            continue
        if value is not None:
            answers[question.id] = value
    problems += _missing(definition, answers, wrong)
    if problems:
        raise AnswerError(name, problems)
    return answers


def _missing(definition: SurveyDefinition, answers: Answers, wrong: set[str]) -> list[str]:
    """Required questions left unanswered (a wrong answer is reported once, as wrong)."""
    missing = []
    for question in definition.questions:
        if question.id in answers or question.id in wrong:
            continue
        condition = question.required_if
        if question.required:
            missing.append(f"question {question.id!r}: an answer is required")
        elif condition is not None and _chose(answers.get(condition.question), condition.option):
            missing.append(
                f"question {question.id!r}: an answer is required when "
                f"{condition.question!r} is {condition.option!r}"
            )
    return missing


def _chose(answer: Answer | None, option: str) -> bool:
    return answer == option or (isinstance(answer, list) and option in answer)


def _one(question: Question, value: Any) -> Answer | None:
    if value is None:
        return None
    return _CHECKS[question.kind](question, value)


def _single(question: Question, value: Any) -> Answer:
    if not isinstance(value, str):
        raise _ProblemError("give one option id as a string")
    return _known(question, value)


def _known(question: Question, value: str) -> str:
    if value not in question.option_ids():
        raise _ProblemError(f"unknown option {value!r} (options: {', '.join(question.option_ids())})")
    return value


def _multiple(question: Question, value: Any) -> Answer | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _ProblemError("give a list of option ids")
    chosen = [_known(question, v) for v in value]
    if len(set(chosen)) != len(chosen):
        raise _ProblemError("an option is chosen twice")
    low, high = question.choice_bounds
    if not chosen and low > 0:
        return None  # an empty list is no answer: required-ness decides
    if not low <= len(chosen) <= high:
        raise _ProblemError(f"choose between {low} and {high} options, not {len(chosen)}")
    return chosen


def _scale(question: Question, value: Any) -> Answer:
    # bool is an int in Python; true/false is never a score.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ProblemError(f"give a whole number, not {value!r}")
    low, high = SCALES[question.kind]
    if not low <= value <= high:
        raise _ProblemError(f"{value} is out of range {low}-{high}")
    return value


def _text(question: Question, value: Any) -> Answer | None:
    if not isinstance(value, str):
        raise _ProblemError("give the answer as a string")
    text = value.strip()
    if len(text) > question.text_limit:
        raise _ProblemError(f"too long: {len(text)} characters, at most {question.text_limit}")
    return text or None


_CHECKS: dict[QuestionKind, Callable[[Question, Any], Answer | None]] = {
    QuestionKind.SINGLE_CHOICE: _single,
    QuestionKind.MULTIPLE_CHOICE: _multiple,
    QuestionKind.NPS: _scale,
    QuestionKind.SATISFACTION: _scale,
    QuestionKind.TEXT: _text,
}
