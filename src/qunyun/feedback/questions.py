"""What a survey asks: the definition model and its rules (docs/surveys.md).

A definition is a kind (survey, poll, nps, exit), a title and a list of
questions. Each question has an id that answers are keyed by, a kind, and
labels in zh-CN and en:

    single_choice     one option id                       "reason": "too_many_messages"
    multiple_choice   a list of distinct option ids        "topics": ["photo", "reading"]
    nps               an integer 0-10 (Net Promoter Score) "score": 9
    satisfaction      an integer 1-5                       "satisfied": 4
    text              a string up to `max_length` chars    "why": "内容很实用"

Definitions are validated once, when loaded (files: `definitions.py`);
answers are checked against them in `answers.py`.
"""

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

QuestionId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
OptionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
LabelText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

MAX_TEXT_LENGTH = 5000


class SurveyKind(StrEnum):
    SURVEY = "survey"
    POLL = "poll"  # choice questions only; an answer is recorded as a poll vote
    NPS = "nps"
    EXIT = "exit"  # asked of members who left (MISSION.md section 4, churned member win-back)


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    NPS = "nps"
    SATISFACTION = "satisfaction"
    TEXT = "text"


CHOICE_KINDS = frozenset({QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE})
SCALES = {QuestionKind.NPS: (0, 10), QuestionKind.SATISFACTION: (1, 5)}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Label(_Model):
    """The same words in both languages the product speaks."""

    zh_cn: LabelText = Field(alias="zh-CN")
    en: LabelText

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh_cn


class Option(_Model):
    id: OptionId
    label: Label


class RequiredIf(_Model):
    """The question becomes required when an earlier choice question got this option."""

    question: QuestionId
    option: OptionId


class Question(_Model):
    id: QuestionId
    kind: QuestionKind
    label: Label
    required: bool = True
    options: list[Option] = Field(default_factory=list, max_length=30)
    min_choices: int | None = Field(None, ge=0)
    max_choices: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=1, le=MAX_TEXT_LENGTH)
    required_if: RequiredIf | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        choice = self.kind in CHOICE_KINDS
        if choice and len(self.options) < 2:
            raise ValueError(f"a {self.kind} question needs at least 2 options")
        if not choice and self.options:
            raise ValueError(f"a {self.kind} question has no options")
        if self.kind != QuestionKind.MULTIPLE_CHOICE and (self.min_choices, self.max_choices) != (None, None):
            raise ValueError("min_choices/max_choices are for multiple_choice questions")
        if self.kind != QuestionKind.TEXT and self.max_length is not None:
            raise ValueError("max_length is for text questions")
        if self.required and self.required_if is not None:
            raise ValueError("required_if needs required = false (it says when the answer becomes required)")
        return self._checked_options()

    def _checked_options(self) -> Self:
        ids = [o.id for o in self.options]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate option ids: {', '.join(duplicates)}")
        low, high = self.choice_bounds
        if self.kind == QuestionKind.MULTIPLE_CHOICE and not low <= high <= len(self.options):
            raise ValueError(f"need min_choices <= max_choices <= {len(self.options)} options")
        return self

    @property
    def choice_bounds(self) -> tuple[int, int]:
        """(fewest, most) options a multiple-choice answer may pick."""
        return (
            1 if self.min_choices is None else self.min_choices,
            len(self.options) if self.max_choices is None else self.max_choices,
        )

    @property
    def text_limit(self) -> int:
        return 1000 if self.max_length is None else self.max_length

    def option_ids(self) -> list[str]:
        return [o.id for o in self.options]


class SurveyDefinition(_Model):
    """A whole survey as written in a definition file (the slug may come from the command line)."""

    slug: Slug | None = None
    kind: SurveyKind = SurveyKind.SURVEY
    title: Label
    intro: Label | None = None
    questions: list[Question] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [q.id for q in self.questions]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate question ids: {', '.join(duplicates)}")
        for index, question in enumerate(self.questions):
            if question.required_if is not None:
                _check_condition(self.questions[:index], question)
        return self._fits_kind()

    def _fits_kind(self) -> Self:
        kinds = {q.kind for q in self.questions}
        if self.kind == SurveyKind.POLL and not kinds <= CHOICE_KINDS:
            raise ValueError("a poll asks only single_choice or multiple_choice questions")
        if self.kind == SurveyKind.NPS and QuestionKind.NPS not in kinds:
            raise ValueError("an nps survey needs a question of kind nps")
        return self

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def _check_condition(earlier: list[Question], question: Question) -> None:
    condition = question.required_if
    assert condition is not None
    target = next((q for q in earlier if q.id == condition.question), None)
    if target is None or target.kind not in CHOICE_KINDS:
        raise ValueError(
            f"question {question.id!r}: required_if.question {condition.question!r} "
            "is not an earlier choice question"
        )
    if condition.option not in target.option_ids():
        raise ValueError(
            f"question {question.id!r}: required_if.option {condition.option!r} "
            f"is not an option of {target.id!r}"
        )
