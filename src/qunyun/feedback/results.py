"""Survey results and brand scores read from stored responses.

`survey_results`: one survey, question by question (NPS, satisfaction, choice
counts, free text), optionally within a time window and one community.
`brand_scores`: NPS and satisfaction over every survey's nps and satisfaction
questions, per time range: the figures `qunyun metrics` reports per period.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, exists, func, select

from qunyun.feedback.answers import Answer, Answers
from qunyun.feedback.questions import CHOICE_KINDS, Question, QuestionKind, SurveyDefinition
from qunyun.feedback.scores import ChoiceCounts, Nps, Satisfaction, choice_counts, nps, satisfaction
from qunyun.feedback.surveys import Survey, get_survey
from qunyun.store.feedback_tables import survey_deliveries, survey_responses, surveys


@dataclass(frozen=True)
class Window:
    """Responses submitted in [start, end) (open ends: no bound), in one community or all."""

    start: datetime | None = None
    end: datetime | None = None
    community_id: int | None = None


@dataclass(frozen=True)
class TextAnswer:
    member_id: int
    submitted_at: datetime
    text: str


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    answered: int
    nps: Nps | None = None
    satisfaction: Satisfaction | None = None
    choices: ChoiceCounts | None = None
    texts: list[TextAnswer] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.question.id,
            "kind": self.question.kind.value,
            "label": self.question.label.model_dump(by_alias=True),
            "answered": self.answered,
        }
        if self.question.kind == QuestionKind.NPS:
            out["nps"] = None if self.nps is None else self.nps.as_dict()
        if self.question.kind == QuestionKind.SATISFACTION:
            out["satisfaction"] = None if self.satisfaction is None else self.satisfaction.as_dict()
        if self.choices is not None:
            out["choices"] = self.choices.as_dict()
        if self.question.kind == QuestionKind.TEXT:
            out["texts"] = [
                {"member_id": t.member_id, "submitted_at": t.submitted_at, "text": t.text} for t in self.texts
            ]
        return out


@dataclass(frozen=True)
class SurveyResults:
    survey: Survey
    responses: int
    delivered: int  # distinct members the survey was sent to (whole survey, no window)
    delivered_responded: int  # … of whom answered (whole survey)
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float | None:
        return None if self.delivered == 0 else self.delivered_responded / self.delivered

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey": self.survey.slug,
            "kind": self.survey.kind.value,
            "responses": self.responses,
            "delivered": self.delivered,
            "response_rate": self.response_rate,
            "questions": [q.as_dict() for q in self.questions],
        }


@dataclass(frozen=True)
class BrandScores:
    start: datetime
    end: datetime
    nps: Nps | None
    satisfaction: Satisfaction | None


def _within(query: Select[Any], window: Window) -> Select[Any]:
    if window.start is not None:
        query = query.where(survey_responses.c.submitted_at >= window.start)
    if window.end is not None:
        query = query.where(survey_responses.c.submitted_at < window.end)
    if window.community_id is not None:
        query = query.where(survey_responses.c.community_id == window.community_id)
    return query


def survey_results(
    conn: Connection, workspace_id: int, slug: str, window: Window = Window()
) -> SurveyResults:
    survey = get_survey(conn, workspace_id, slug)
    query = select(
        survey_responses.c.member_id, survey_responses.c.submitted_at, survey_responses.c.answers
    ).where(survey_responses.c.survey_id == survey.id)
    rows = conn.execute(_within(query, window).order_by(survey_responses.c.submitted_at)).all()
    delivered, responded = _delivery_counts(conn, survey.id)
    return SurveyResults(
        survey=survey,
        responses=len(rows),
        delivered=delivered,
        delivered_responded=responded,
        questions=[_question_result(q, rows) for q in survey.definition.questions],
    )


def _delivery_counts(conn: Connection, survey_id: int) -> tuple[int, int]:
    """(distinct members the survey was sent to, how many of them answered)."""
    delivered = (
        select(survey_deliveries.c.member_id).where(survey_deliveries.c.survey_id == survey_id).distinct()
    ).subquery()
    answered = exists().where(
        survey_responses.c.survey_id == survey_id, survey_responses.c.member_id == delivered.c.member_id
    )
    total = conn.execute(select(func.count()).select_from(delivered)).scalar_one()
    responded = conn.execute(select(func.count()).select_from(delivered).where(answered)).scalar_one()
    return int(total), int(responded)


def _question_result(question: Question, rows: Sequence[Any]) -> QuestionResult:
    given = [(r, r.answers[question.id]) for r in rows if question.id in r.answers]
    values: list[Any] = [value for _, value in given]
    if question.kind == QuestionKind.NPS:
        return QuestionResult(question, len(given), nps=nps(values))
    if question.kind == QuestionKind.SATISFACTION:
        return QuestionResult(question, len(given), satisfaction=satisfaction(values))
    if question.kind in CHOICE_KINDS:
        return QuestionResult(question, len(given), choices=choice_counts(question.option_ids(), values))
    texts = [TextAnswer(int(r.member_id), r.submitted_at, str(value)) for r, value in given]
    return QuestionResult(question, len(given), texts=texts)


def brand_scores(
    conn: Connection,
    workspace_id: int,
    ranges: Sequence[tuple[datetime, datetime]],
    community_id: int | None = None,
) -> list[BrandScores]:
    """NPS and satisfaction per [start, end) range, over every nps / satisfaction question."""
    if not ranges:
        return []
    window = Window(min(s for s, _ in ranges), max(e for _, e in ranges), community_id)
    query = (
        select(
            survey_responses.c.submitted_at, survey_responses.c.answers, surveys.c.id, surveys.c.definition
        )
        .join(surveys, surveys.c.id == survey_responses.c.survey_id)
        .where(survey_responses.c.workspace_id == workspace_id)
    )
    scored = list(_scored_answers(conn.execute(_within(query, window))))
    return [
        BrandScores(
            start,
            end,
            nps(s for at, kind, s in scored if kind == QuestionKind.NPS and start <= at < end),
            satisfaction(
                s for at, kind, s in scored if kind == QuestionKind.SATISFACTION and start <= at < end
            ),
        )
        for start, end in ranges
    ]


def _scored_answers(rows: Iterable[Any]) -> Iterable[tuple[datetime, QuestionKind, int]]:
    """(submitted at, question kind, score) for every nps and satisfaction answer."""
    scales: dict[int, dict[str, QuestionKind]] = {}
    for row in rows:
        if row.id not in scales:
            definition = SurveyDefinition.model_validate(row.definition)
            scales[row.id] = {
                q.id: q.kind
                for q in definition.questions
                if q.kind in (QuestionKind.NPS, QuestionKind.SATISFACTION)
            }
        answers: Answers = row.answers
        for question_id, kind in scales[row.id].items():
            value: Answer | None = answers.get(question_id)
            if isinstance(value, int):
                yield row.submitted_at, kind, value


def survey_counts(conn: Connection, workspace_id: int) -> dict[int, tuple[int, int]]:
    """Per survey id: (responses, distinct members it was delivered to)."""
    responses = (
        select(survey_responses.c.survey_id, func.count())
        .where(survey_responses.c.workspace_id == workspace_id)
        .group_by(survey_responses.c.survey_id)
    )
    delivered = (
        select(survey_deliveries.c.survey_id, func.count(survey_deliveries.c.member_id.distinct()))
        .where(survey_deliveries.c.workspace_id == workspace_id)
        .group_by(survey_deliveries.c.survey_id)
    )
    answered = {int(s): int(n) for s, n in conn.execute(responses)}
    sent = {int(s): int(n) for s, n in conn.execute(delivered)}
    return {s: (answered.get(s, 0), sent.get(s, 0)) for s in answered.keys() | sent.keys()}
