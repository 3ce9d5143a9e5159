"""Recording a member's response: checked, stored once, and recorded as the member's activity.

Runs in the caller's transaction, like every action in `surveys.py`. Replays:
the same key with the same payload returns the stored response (`replayed`),
with another payload raises KeyConflictError. One response per member per
survey: a second one under another key is returned as a replay when its
answers are the same, and refused with AlreadyAnsweredError when they differ —
the first answer stands; nothing here overwrites.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, select

from qunyun.domain import ActivityKind, Clock, ensure_utc
from qunyun.feedback.answers import Answers, check_answers
from qunyun.feedback.errors import AlreadyAnsweredError, KeyConflictError
from qunyun.feedback.questions import SurveyKind
from qunyun.feedback.surveys import Survey, fingerprint, get_survey, insert_if_new, live_member, require_open
from qunyun.store.feedback_tables import survey_responses, surveys
from qunyun.store.member_activity import SOURCE as ACTIVITY_SOURCE
from qunyun.store.member_activity import MemberActivity, activity_key, record_member_activity
from qunyun.store.tables import activities

_ACTIVITY_TEXT_LIMIT = 500


@dataclass(frozen=True)
class NewResponse:
    slug: str
    member_id: int
    answers: Any  # as received; checked against the definition
    key: str
    community_id: int | None = None  # None: the survey's community, else where the member was last seen
    at: datetime | None = None  # None: now (answers imported from elsewhere give their own time)


@dataclass(frozen=True)
class Response:
    id: int
    survey_id: int
    member_id: int
    community_id: int
    answers: Answers
    submitted_at: datetime
    key: str
    replayed: bool  # True when this call wrote nothing (a replay or an identical second response)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "member_id": self.member_id,
            "community_id": self.community_id,
            "answers": self.answers,
            "submitted_at": self.submitted_at,
            "key": self.key,
            "replayed": self.replayed,
        }


def record_response(conn: Connection, workspace_id: int, clock: Clock, request: NewResponse) -> Response:
    """Check and store one member's answers, and record them as the member's activity."""
    survey = get_survey(conn, workspace_id, request.slug)
    answers = check_answers(survey.definition, request.answers, survey.slug)
    asked = {
        "survey": survey.id,
        "member": request.member_id,
        "answers": answers,
        "community": request.community_id,
        "at": request.at and ensure_utc(request.at).isoformat(),
    }
    print_ = fingerprint(asked)
    earlier = _earlier(conn, workspace_id, survey.id, None, request.key, print_, answers)
    if earlier is not None:
        return earlier
    member = live_member(conn, workspace_id, request.member_id)
    at = ensure_utc(request.at) if request.at else clock.now()
    require_open(survey, at)
    earlier = _earlier(conn, workspace_id, survey.id, member, request.key, print_, answers)
    if earlier is not None:
        return earlier
    community = _record_activity(conn, workspace_id, survey, member, answers, request, at)
    values = {
        "workspace_id": workspace_id,
        "survey_id": survey.id,
        "member_id": member,
        "community_id": community,
        "answers": answers,
        "submitted_at": at,
        "idempotency_key": request.key,
        "fingerprint": print_,
    }
    if insert_if_new(conn, survey_responses, values):
        return _response(conn, workspace_id, request.key, replayed=False)
    # Lost a race with a writer of the same key or of this member's other response: judge theirs.
    earlier = _earlier(conn, workspace_id, survey.id, member, request.key, print_, answers)
    assert earlier is not None
    if earlier.key != request.key:
        # The other writer used its own key, so the activity recorded above under ours is
        # one too many; it is not committed yet, so no one has seen it.
        conn.execute(delete(activities).where(*_activity_of(workspace_id, request.key)))
    return earlier


def _earlier(
    conn: Connection,
    workspace_id: int,
    survey_id: int,
    member_id: int | None,
    key: str,
    print_: str,
    answers: Answers,
) -> Response | None:
    """A stored response this request repeats (by key, or the member's own), or None.

    Raises when the request contradicts it: the key with another payload, or the
    member with other answers.
    """
    by_key = conn.execute(
        select(survey_responses).where(
            survey_responses.c.workspace_id == workspace_id, survey_responses.c.idempotency_key == key
        )
    ).first()
    if by_key is not None:
        if by_key.fingerprint != print_:
            raise KeyConflictError(key, "survey response")
        return _as_response(by_key, replayed=True)
    if member_id is None:
        return None
    mine = conn.execute(
        select(survey_responses).where(
            survey_responses.c.survey_id == survey_id, survey_responses.c.member_id == member_id
        )
    ).first()
    if mine is None:
        return None
    if mine.answers != answers:
        slug = conn.execute(select(surveys.c.slug).where(surveys.c.id == survey_id)).scalar_one()
        raise AlreadyAnsweredError(slug, member_id)
    return _as_response(mine, replayed=True)


def _response(conn: Connection, workspace_id: int, key: str, *, replayed: bool) -> Response:
    row = conn.execute(
        select(survey_responses).where(
            survey_responses.c.workspace_id == workspace_id, survey_responses.c.idempotency_key == key
        )
    ).one()
    return _as_response(row, replayed=replayed)


def _as_response(row: Row[Any], *, replayed: bool) -> Response:
    return Response(
        id=int(row.id),
        survey_id=int(row.survey_id),
        member_id=int(row.member_id),
        community_id=int(row.community_id),
        answers=dict(row.answers),
        submitted_at=row.submitted_at,
        key=row.idempotency_key,
        replayed=replayed,
    )


def _record_activity(
    conn: Connection,
    workspace_id: int,
    survey: Survey,
    member_id: int,
    answers: Answers,
    request: NewResponse,
    at: datetime,
) -> int:
    """Record the answer as the member's activity; the community it was recorded in."""
    key = _activity_key(workspace_id, request.key)
    kind = ActivityKind.POLL_VOTE if survey.kind == SurveyKind.POLL else ActivityKind.SURVEY_ANSWER
    summary = "; ".join(f"{q}={_shown(v)}" for q, v in answers.items())
    event = MemberActivity(
        member_id=member_id,
        kind=kind,
        at=at,
        key=key,
        community_id=request.community_id or survey.community_id,
        text=summary[:_ACTIVITY_TEXT_LIMIT],
        reference_id=f"survey:{survey.slug}",
    )
    record_member_activity(conn, workspace_id, event)
    community = conn.execute(
        select(activities.c.community_id).where(*_activity_of(workspace_id, request.key))
    ).scalar_one()
    return int(community)


def _activity_key(workspace_id: int, key: str) -> str:
    # Activity keys are unique per source across workspaces: the workspace makes ours unique.
    return f"survey-response:{workspace_id}:{key}"


def _activity_of(workspace_id: int, key: str) -> tuple[ColumnElement[bool], ...]:
    hashed = activity_key(_activity_key(workspace_id, key))
    return (activities.c.source == ACTIVITY_SOURCE, activities.c.idempotency_key == hashed)


def _shown(value: int | str | list[str]) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)
