"""The playbook schema: what a playbook YAML file may say (docs/playbooks.md).

A playbook is a trigger (who enters and when), an audience (who may enter),
a list of steps (waits, conditions and actions), a goal and exit rules, a
re-entry cooldown and a holdout share. Every model forbids unknown keys, so a
misspelt field is an error that names the field and its line, never a silent
default.
"""

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, Self

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qunyun.domain import Platform, Segment, Stage

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # any instant: validating a cron expression needs one
LOCALES = ("zh-CN", "en")

# Activity triggers: every member activity kind, plus events Qunyun derives from them.
# Every member activity kind (never the ones Qunyun writes itself), then events derived from them
# (journeys/events.py). Spelled out for the type checker; a test keeps it equal to ActivityKind.
ActivityEvent = Literal[
    "join", "leave", "message", "reply", "reaction", "share", "view", "checkin", "poll_vote",
    "survey_answer", "purchase", "coupon_redeem", "referral", "event_attend", "complaint",
    "first_purchase", "negative_message", "sensitive_word", "spam", "opt_out",
]  # fmt: skip
DERIVED_EVENTS = ("first_purchase", "negative_message", "sensitive_word", "spam", "opt_out")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = str | dict[Literal["zh-CN", "en"], str]


def localised(text: Text, locale: str) -> str:
    """The text in `locale`, falling back to zh-CN, then to whatever is there."""
    if isinstance(text, str):
        return text
    return text.get(locale) or text.get("zh-CN") or next(iter(text.values()))  # type: ignore[call-overload]


class Duration(_Model):
    days: float = 0
    hours: float = 0
    minutes: float = 0

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if min(self.days, self.hours, self.minutes) < 0 or self.delta <= timedelta(0):
            raise ValueError("a duration needs a positive number of days, hours or minutes")
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class Range(_Model):
    min: float | None = None
    max: float | None = None

    def holds(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class Schedule(_Model):
    """A cron expression read in the community's timezone; `name` lets steps tell schedules apart."""

    cron: str
    name: str = "default"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        try:
            CronSim(value, _EPOCH)
        except CronSimError as exc:
            raise ValueError(f"not a cron expression: {exc}") from exc
        return value


_TRIGGER_KINDS = ("segment_entered", "segment_left", "stage_entered", "stage_left", "activity", "schedule")


class Trigger(_Model):
    """Exactly one of: a segment or stage change, an activity, a schedule, manual."""

    segment_entered: Segment | None = None
    segment_left: Segment | None = None
    stage_entered: Stage | None = None
    stage_left: Stage | None = None
    activity: list[ActivityEvent] | None = None
    schedule: list[Schedule] | None = None
    manual: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        chosen = [name for name in self.model_fields_set if getattr(self, name) not in (None, False)]
        if len(chosen) != 1:
            raise ValueError(
                "a trigger needs exactly one of segment_entered, segment_left, stage_entered, "
                f"stage_left, activity, schedule, manual (got {', '.join(sorted(chosen)) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        for name in _TRIGGER_KINDS:
            if getattr(self, name) is not None:
                return name
        return "manual"


class Audience(_Model):
    """Who may enter. Staff, bots, merged and opted-out members never do."""

    segments: list[Segment] | None = None
    stages: list[Stage] | None = None
    platforms: list[Platform] | None = None
    communities: list[str] | None = None  # external ids or names
    tags_any: list[str] | None = None
    tags_all: list[str] | None = None
    tags_none: list[str] | None = None
    interests_any: list[str] | None = None  # interest topics (Step 5), e.g. 摄影
    min_interest_score: float = 0.5
    points: Range | None = None
    p_alive: Range | None = None
    value: Range | None = None  # expected value (CLV) in the community's currency units
    days_since_join: Range | None = None
    days_since_last_message: Range | None = None
    rank_by: list[Literal["p_alive", "value", "interactions_30d", "points"]] | None = None
    limit: int | None = Field(None, ge=1)
    limit_per: Literal["community", "workspace"] = "community"  # top N of each group, or of all


# --- conditions -------------------------------------------------------------------------


class SurveyAnswer(_Model):
    survey: str
    question: str
    any_of: list[str]


class Condition(_Model):
    """Exactly one test; `all`, `any` and `not` combine them."""

    did: list[ActivityEvent] | None = None  # since the enrolment began
    waited_activity: bool | None = None  # did the last `wait: {for: …}` end with the activity?
    survey_answer: SurveyAnswer | None = None
    segment_is: list[Segment] | None = None
    has_tag: str | None = None
    points_at_least: int | None = None
    checkin_streak_at_least: int | None = None
    referrals_at_least: int | None = None
    referrals_exactly: int | None = None
    schedule_is: str | None = None
    locale_is: Literal["zh-CN", "en"] | None = None
    all: list["Condition"] | None = None
    any: list["Condition"] | None = None
    not_: "Condition | None" = Field(None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if len(self.model_fields_set) != 1:
            raise ValueError(f"a condition needs exactly one test (got {len(self.model_fields_set)})")
        return self


# --- steps ------------------------------------------------------------------------------

LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Wait(_Model):
    """`{days: 2}`, `{until: "09:00"}` (member-local), or `{for: [message], timeout: {days: 3}}`."""

    days: float | None = None
    hours: float | None = None
    minutes: float | None = None
    until: str | None = None
    for_: list[ActivityEvent] | None = Field(None, alias="for")
    timeout: Duration | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        plain = any(v is not None for v in (self.days, self.hours, self.minutes))
        forms = [plain, self.until is not None, self.for_ is not None]
        if sum(forms) != 1:
            raise ValueError("a wait is a duration (days/hours/minutes), `until` a time, or `for` activity")
        if self.until is not None and not LOCAL_TIME.match(self.until):
            raise ValueError(f"until must be a 24-hour HH:MM time, not {self.until!r}")
        if self.for_ is not None and self.timeout is None:
            raise ValueError("a wait for activity needs a timeout")
        if plain:
            Duration(days=self.days or 0, hours=self.hours or 0, minutes=self.minutes or 0)
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days or 0, hours=self.hours or 0, minutes=self.minutes or 0)

    @property
    def until_time(self) -> time | None:
        return time.fromisoformat(self.until) if self.until else None


class SendMessage(_Model):
    template: Text
    channel: str | None = None  # default: the member's platform, or an operator task where bots may not send
    subject: Text | None = None


class PostToCommunity(_Model):
    template: Text
    channel: str | None = None


class AwardPoints(_Model):
    amount: int = Field(ge=1)
    reason: str = "playbook"


class NewCampaign(_Model):
    """The campaign `issue_coupon` creates when the playbook is enabled and it does not exist yet."""

    name: str
    kind: Literal["amount", "percent"] = "amount"
    value: int = Field(ge=1)  # minor units (amount: 2000 = ¥20) or percent off
    validity_days: int = Field(7, ge=1)
    per_member_limit: int = Field(1, ge=1)
    min_spend_minor: int | None = Field(None, ge=1)


class IssueCoupon(_Model):
    campaign: str
    create: NewCampaign | None = None


class SendSurvey(_Model):
    survey: str
    template: Text
    valid_days: int = Field(7, ge=1)
    channel: str | None = None


class NotifyOperator(_Model):
    title: Text
    body: Text = ""
    severity: Literal["info", "warning", "critical"] = "info"


class CallWebhook(_Model):
    url: str | None = None  # default: [webhook] url of qunyun.toml
    payload: dict[str, Any] = Field(default_factory=dict)


class Finish(_Model):
    outcome: Literal["completed", "converted", "exited"] = "completed"


class Step(_Model):
    """One step: exactly one of the keys below (plus an optional `id`)."""

    id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    wait: Wait | None = None
    if_: Condition | None = Field(None, alias="if")
    then: list["Step"] | None = None
    else_: list["Step"] | None = Field(None, alias="else")
    send_message: SendMessage | None = None
    post_to_community: PostToCommunity | None = None
    award_points: AwardPoints | None = None
    issue_coupon: IssueCoupon | None = None
    add_tag: str | None = None
    remove_tag: str | None = None
    send_survey: SendSurvey | None = None
    notify_operator: NotifyOperator | None = None
    call_webhook: CallWebhook | None = None
    finish: Finish | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_action(self) -> Self:
        actions = [n for n in self.model_fields_set if n not in ("id", "then", "else_")]
        if len(actions) != 1:
            raise ValueError(f"a step needs exactly one action (got {', '.join(sorted(actions)) or 'none'})")
        if (self.then is not None or self.else_ is not None) and self.if_ is None:
            raise ValueError("then/else belong to an `if` step")
        if self.if_ is not None and self.then is None:
            raise ValueError("an `if` step needs `then`")
        return self

    @property
    def action(self) -> str:
        for name in self.model_fields_set:
            if name not in ("id", "then", "else_"):
                return name.rstrip("_")
        raise AssertionError("validated steps have an action")


class Goal(_Model):
    """The member did one of these within `within_days` of entering: the enrolment ends as converted."""

    activity: list[ActivityEvent]
    within_days: int = Field(14, ge=1)


class Reentry(_Model):
    allowed: bool = True
    cooldown_days: float = Field(30, ge=0)


def _default_exits() -> "list[ActivityEvent]":
    return ["leave", "opt_out"]


class Playbook(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    title: Text
    description: Text = ""
    subject: Literal["member", "community"] = "member"
    trigger: Trigger
    audience: Audience = Field(default_factory=Audience)
    steps: list[Step] = Field(min_length=1)
    goal: Goal | None = None
    exit_on: list[ActivityEvent] = Field(default_factory=_default_exits)
    reentry: Reentry = Field(default_factory=Reentry)
    holdout: float = Field(0.1, ge=0, le=0.5)
    window_days: int = Field(14, ge=1)  # how long after entry `results` looks for reactivation and harm

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.subject == "community" and self.trigger.schedule is None and not self.trigger.manual:
            raise ValueError("a community playbook is started by a schedule or by hand")
        if self.subject == "community":
            for step in walk(self.steps):
                if step.action in ("send_message", "award_points", "issue_coupon", "send_survey"):
                    raise ValueError(f"a community playbook cannot {step.action} (it has no member)")
        ids = [s.id for s in walk(self.steps) if s.id]
        if len(ids) != len(set(ids)):
            raise ValueError("step ids must be unique")
        return self

    def describe(self, locale: str) -> str:
        return localised(self.title, locale)


def walk(steps: list[Step]) -> list[Step]:
    """Every step, branches included, in document order."""
    out: list[Step] = []
    for step in steps:
        out.append(step)
        out.extend(walk(step.then or []))
        out.extend(walk(step.else_ or []))
    return out


Condition.model_rebuild()
Step.model_rebuild()
