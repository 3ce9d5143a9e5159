"""Survey actions: create, close, deliver to members (responses: `responses.py`).

Each action runs in the caller's transaction (a `Connection` inside
`engine.begin()`), so a journey step can send a survey together with its
outbox row, and everything one action wrote commits or rolls back at once.

Replays are exact. Every write carries an idempotency key (a survey: its
slug); the same key with the same payload returns the first result and writes
nothing; the same key with another payload raises KeyConflictError. The
payload is what the caller asked for, so a replay that leaves the time to the
clock still matches.

"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qunyun.domain import Clock, ensure_utc
from qunyun.feedback.errors import (
    KeyConflictError,
    SlugTakenError,
    SurveyClosedError,
    SurveyDefinitionError,
    SurveyNotFoundError,
)
from qunyun.feedback.questions import SurveyDefinition, SurveyKind
from qunyun.store.feedback_tables import survey_deliveries, surveys
from qunyun.store.member_activity import require_member
from qunyun.store.merges import resolve_live_member


@dataclass(frozen=True)
class Survey:
    id: int
    slug: str
    kind: SurveyKind
    definition: SurveyDefinition
    community_id: int | None
    opens_at: datetime
    closes_at: datetime | None
    created_at: datetime

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at and (self.closes_at is None or at < self.closes_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "kind": self.kind.value,
            "title": self.definition.title.model_dump(by_alias=True),
            "community_id": self.community_id,
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "created_at": self.created_at,
            "definition": self.definition.model_dump(by_alias=True, mode="json", exclude_none=True),
        }


@dataclass(frozen=True)
class NewSurvey:
    definition: SurveyDefinition
    slug: str | None = None  # overrides the definition's own slug
    community_id: int | None = None
    opens_at: datetime | None = None  # None: now
    closes_at: datetime | None = None  # None: open until closed


def fingerprint(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def insert_if_new(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless a unique key is already taken; True if the row went in.

    Judged by RETURNING, not rowcount: with the id returned implicitly, PostgreSQL's rowcount is -1.
    """
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    return conn.execute(statement).first() is not None


def _survey(row: Row[Any]) -> Survey:
    return Survey(
        id=int(row.id),
        slug=row.slug,
        kind=SurveyKind(row.kind),
        definition=SurveyDefinition.model_validate(row.definition),
        community_id=row.community_id,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        created_at=row.created_at,
    )


def find_survey(conn: Connection, workspace_id: int, slug: str) -> Survey | None:
    row = conn.execute(
        select(surveys).where(surveys.c.workspace_id == workspace_id, surveys.c.slug == slug)
    ).first()
    return None if row is None else _survey(row)


def get_survey(conn: Connection, workspace_id: int, slug: str) -> Survey:
    survey = find_survey(conn, workspace_id, slug)
    if survey is None:
        raise SurveyNotFoundError(slug)
    return survey


def list_surveys(conn: Connection, workspace_id: int) -> list[Survey]:
    rows = conn.execute(
        select(surveys)
        .where(surveys.c.workspace_id == workspace_id)
        .order_by(surveys.c.created_at, surveys.c.id)
    )
    return [_survey(r) for r in rows]


def create_survey(
    conn: Connection, workspace_id: int, clock: Clock, request: NewSurvey
) -> tuple[Survey, bool]:
    """The survey, and whether this call created it (False: the same request came before)."""
    slug = request.slug or request.definition.slug
    if slug is None:
        raise SurveyDefinitionError("the survey needs a slug (give --slug, or `slug` in the file)")
    definition = request.definition.model_copy(update={"slug": slug})
    dumped = definition.model_dump(by_alias=True, mode="json", exclude_none=True)
    opens_at = ensure_utc(request.opens_at) if request.opens_at else clock.now()
    closes_at = ensure_utc(request.closes_at) if request.closes_at else None
    if closes_at is not None and closes_at <= opens_at:
        raise SurveyDefinitionError(
            f"survey {slug!r}: closes at {closes_at} is not after opens at {opens_at}"
        )
    asked = {
        "definition": dumped,
        "community_id": request.community_id,
        "opens_at": request.opens_at and opens_at.isoformat(),
        "closes_at": closes_at and closes_at.isoformat(),
    }
    values = {
        "workspace_id": workspace_id,
        "slug": slug,
        "kind": definition.kind.value,
        "title": definition.title.zh_cn[:200],
        "definition": dumped,
        "fingerprint": fingerprint(asked),
        "community_id": request.community_id,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "created_at": clock.now(),
    }
    inserted = insert_if_new(conn, surveys, values)
    stored = conn.execute(
        select(surveys).where(surveys.c.workspace_id == workspace_id, surveys.c.slug == slug)
    ).one()
    if stored.fingerprint != values["fingerprint"]:
        raise SlugTakenError(slug)
    return _survey(stored), inserted


def close_survey(conn: Connection, workspace_id: int, clock: Clock, slug: str) -> Survey:
    """Stop taking answers now (a survey already closed keeps its closing time)."""
    survey = get_survey(conn, workspace_id, slug)
    now = clock.now()
    if survey.closes_at is None or survey.closes_at > now:
        conn.execute(
            update(surveys).where(surveys.c.id == survey.id).values(closes_at=max(now, survey.opens_at))
        )
    return get_survey(conn, workspace_id, slug)


def require_open(survey: Survey, at: datetime) -> None:
    if at < survey.opens_at:
        raise SurveyClosedError(f"survey {survey.slug!r} opens at {survey.opens_at}", code="survey.not_open")
    if not survey.is_open(at):
        raise SurveyClosedError(f"survey {survey.slug!r} closed at {survey.closes_at}", code="survey.closed")


def live_member(conn: Connection, workspace_id: int, member_id: int) -> int:
    require_member(conn, workspace_id, member_id)
    return resolve_live_member(conn, workspace_id, member_id)


def record_delivery(
    conn: Connection, workspace_id: int, clock: Clock, slug: str, member_id: int, key: str
) -> bool:
    """Record that the survey was sent to the member; True if this call recorded it.

    The message itself goes out through the journey engine's outbox (Step 7);
    this is the record that says who was asked, for response rates.
    """
    survey = get_survey(conn, workspace_id, slug)
    member = live_member(conn, workspace_id, member_id)
    stored = _delivery(conn, workspace_id, key)
    if stored is not None:
        return _replayed_delivery(stored, survey.id, member, key)
    now = clock.now()
    require_open(survey, now)
    values = {
        "workspace_id": workspace_id,
        "survey_id": survey.id,
        "member_id": member,
        "sent_at": now,
        "idempotency_key": key,
    }
    if insert_if_new(conn, survey_deliveries, values):
        return True
    # A concurrent writer stored the key between our read and our insert.
    stored = _delivery(conn, workspace_id, key)
    assert stored is not None
    return _replayed_delivery(stored, survey.id, member, key)


def _delivery(conn: Connection, workspace_id: int, key: str) -> Row[Any] | None:
    return conn.execute(
        select(survey_deliveries).where(
            survey_deliveries.c.workspace_id == workspace_id, survey_deliveries.c.idempotency_key == key
        )
    ).first()


def _replayed_delivery(stored: Row[Any], survey_id: int, member_id: int, key: str) -> bool:
    if (stored.survey_id, stored.member_id) != (survey_id, member_id):
        raise KeyConflictError(key, "survey delivery")
    return False
