"""What can go wrong with surveys, each with a stable code for scripts.

    QunyunError
    ├── SurveyDefinitionError   survey.bad_definition   (names the file and the field)
    ├── AnswerError             survey.bad_answer       (names the question and the problem)
    ├── SurveyNotFoundError     survey.not_found        (a NotFoundError)
    ├── SurveyClosedError       survey.closed, survey.not_open
    ├── AlreadyAnsweredError    survey.already_answered
    ├── SlugTakenError          survey.slug_taken
    └── KeyConflictError        survey.key_conflict     (also an IdempotencyConflictError)

An unknown member is `qunyun.store.member_activity.UnknownMemberError`
(member.not_found), as everywhere else.
"""

from qunyun.domain import IdempotencyConflictError
from qunyun.errors import NotFoundError, QunyunError


class SurveyDefinitionError(QunyunError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="survey.bad_definition")


class AnswerError(QunyunError):
    def __init__(self, survey: str, problems: list[str]) -> None:
        super().__init__(f"survey {survey!r}: " + "; ".join(problems), code="survey.bad_answer")
        self.problems = problems


class SurveyNotFoundError(NotFoundError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no survey {slug!r} in this workspace", code="survey.not_found")


class SurveyClosedError(QunyunError):
    pass


class AlreadyAnsweredError(QunyunError):
    def __init__(self, slug: str, member_id: int) -> None:
        super().__init__(
            f"member {member_id} already answered survey {slug!r} differently (one response per member)",
            code="survey.already_answered",
        )


class SlugTakenError(QunyunError):
    def __init__(self, slug: str) -> None:
        super().__init__(
            f"survey {slug!r} already exists with a different definition; choose another --slug",
            code="survey.slug_taken",
        )


class KeyConflictError(QunyunError, IdempotencyConflictError):
    """A reused idempotency key with a different payload.

    Both a QunyunError (the CLI prints one line with the code) and the domain's
    IdempotencyConflictError (callers that catch that across areas still do).
    """

    def __init__(self, key: str, what: str) -> None:
        message = f"idempotency key {key!r} was already used for a different {what}"
        # The two bases take different arguments, so neither __init__ chain is used.
        Exception.__init__(self, message)
        self.message = message
        self.code = "survey.key_conflict"
        self.key = key
