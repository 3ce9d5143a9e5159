"""Listening to members: surveys, polls, NPS and satisfaction, exit surveys (docs/surveys.md).

The public surface; other areas import from here only.
"""

from qunyun.feedback.answers import Answer, Answers, check_answers
from qunyun.feedback.definitions import BUILTINS, builtin_definition, load_definition, parse_definition
from qunyun.feedback.errors import (
    AlreadyAnsweredError,
    AnswerError,
    KeyConflictError,
    SlugTakenError,
    SurveyClosedError,
    SurveyDefinitionError,
    SurveyNotFoundError,
)
from qunyun.feedback.questions import Label, Option, Question, QuestionKind, SurveyDefinition, SurveyKind
from qunyun.feedback.responses import NewResponse, Response, record_response
from qunyun.feedback.results import (
    BrandScores,
    QuestionResult,
    SurveyResults,
    Window,
    brand_scores,
    survey_counts,
    survey_results,
)
from qunyun.feedback.scores import ChoiceCounts, Nps, Satisfaction, choice_counts, nps, satisfaction
from qunyun.feedback.surveys import (
    NewSurvey,
    Survey,
    close_survey,
    create_survey,
    find_survey,
    get_survey,
    list_surveys,
    record_delivery,
)

__all__ = [
    "BUILTINS",
    "AlreadyAnsweredError",
    "Answer",
    "AnswerError",
    "Answers",
    "BrandScores",
    "ChoiceCounts",
    "KeyConflictError",
    "Label",
    "NewResponse",
    "NewSurvey",
    "Nps",
    "Option",
    "Question",
    "QuestionKind",
    "QuestionResult",
    "Response",
    "Satisfaction",
    "SlugTakenError",
    "Survey",
    "SurveyClosedError",
    "SurveyDefinition",
    "SurveyDefinitionError",
    "SurveyKind",
    "SurveyNotFoundError",
    "SurveyResults",
    "Window",
    "brand_scores",
    "builtin_definition",
    "check_answers",
    "choice_counts",
    "close_survey",
    "create_survey",
    "find_survey",
    "get_survey",
    "list_surveys",
    "load_definition",
    "nps",
    "parse_definition",
    "record_delivery",
    "record_response",
    "satisfaction",
    "survey_counts",
    "survey_results",
]
