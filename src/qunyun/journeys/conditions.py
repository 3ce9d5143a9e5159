"""Evaluating a step's `if` against the database, the member's view and the enrolment's context."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from qunyun.engage.checkins import streak_of
from qunyun.journeys.definition import Condition
from qunyun.journeys.events import did_since
from qunyun.journeys.views import MemberView
from qunyun.store.engage_tables import checkins, referrals
from qunyun.store.feedback_tables import survey_responses, surveys


class Facts:
    """What a condition may ask about one enrolment."""

    def __init__(
        self,
        conn: Connection,
        workspace_id: int,
        view: MemberView | None,
        context: dict[str, Any],
        enrolled_at: datetime,
        now: datetime,
        locale: str,
    ) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.view = view
        self.context = context
        self.enrolled_at = enrolled_at
        self.now = now
        self.locale = locale

    def holds(self, cond: Condition) -> bool:  # noqa: C901 - one branch per test, each one line
        view = self.view
        if cond.all is not None:
            return all(self.holds(c) for c in cond.all)
        if cond.any is not None:
            return any(self.holds(c) for c in cond.any)
        if cond.not_ is not None:
            return not self.holds(cond.not_)
        if cond.waited_activity is not None:
            return bool(self.context.get("waited_activity")) is cond.waited_activity
        if cond.schedule_is is not None:
            return self.context.get("schedule") == cond.schedule_is
        if cond.locale_is is not None:
            return self.locale == cond.locale_is
        if view is None:
            return False
        if cond.did is not None:
            return did_since(self.conn, view.member_id, list(cond.did), self.enrolled_at, self.now)
        if cond.segment_is is not None:
            return view.segment in cond.segment_is
        if cond.has_tag is not None:
            return cond.has_tag in view.tags
        if cond.points_at_least is not None:
            return view.points >= cond.points_at_least
        if cond.survey_answer is not None:
            return self._answered(view.member_id, cond)
        if cond.checkin_streak_at_least is not None:
            return self._streak(view) >= cond.checkin_streak_at_least
        count = self._referrals(view.member_id)
        if cond.referrals_at_least is not None:
            return count >= cond.referrals_at_least
        return count == cond.referrals_exactly

    def _answered(self, member_id: int, cond: Condition) -> bool:
        spec = cond.survey_answer
        assert spec is not None
        row = self.conn.execute(
            select(survey_responses.c.answers)
            .join(surveys, surveys.c.id == survey_responses.c.survey_id)
            .where(
                surveys.c.workspace_id == self.workspace_id,
                surveys.c.slug == spec.survey,
                survey_responses.c.member_id == member_id,
            )
            .order_by(survey_responses.c.submitted_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return False
        answer = row.answers.get(spec.question)
        values = answer if isinstance(answer, list) else [answer]
        return any(str(v) in spec.any_of for v in values)

    def streak(self) -> int:
        return 0 if self.view is None else self._streak(self.view)

    def referrals(self) -> int:
        return 0 if self.view is None else self._referrals(self.view.member_id)

    def _streak(self, view: MemberView) -> int:
        days = self.conn.execute(
            select(checkins.c.day)
            .where(checkins.c.workspace_id == self.workspace_id, checkins.c.member_id == view.member_id)
            .order_by(checkins.c.day.desc())
            .limit(400)
        ).scalars()
        return streak_of(sorted(days), self.now.astimezone(view.zone).date()).current

    def _referrals(self, member_id: int) -> int:
        return int(
            self.conn.execute(
                select(func.count()).where(
                    referrals.c.workspace_id == self.workspace_id,
                    referrals.c.inviter_id == member_id,
                    referrals.c.status == "credited",
                )
            ).scalar_one()
        )
