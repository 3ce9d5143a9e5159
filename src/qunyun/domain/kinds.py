"""The vocabularies: activity kinds, platforms, lifecycle stages and segments."""

from enum import StrEnum


class ActivityKind(StrEnum):
    """What a member did. Stored as the string value; never renumbered."""

    JOIN = "join"
    LEAVE = "leave"
    MESSAGE = "message"
    REPLY = "reply"
    REACTION = "reaction"
    SHARE = "share"
    VIEW = "view"
    CHECKIN = "checkin"
    POLL_VOTE = "poll_vote"
    SURVEY_ANSWER = "survey_answer"
    PURCHASE = "purchase"
    COUPON_REDEEM = "coupon_redeem"
    REFERRAL = "referral"
    EVENT_ATTEND = "event_attend"
    COMPLAINT = "complaint"
    # Written by Qunyun, not by a member: a sensitive word or spam signal found in one of
    # their messages (text = "category:term", reply_to = the message's activity id).
    TEXT_FLAG = "text_flag"
    # Written by Qunyun: a playbook's message reached the member (text = "sent:<playbook>:<step>")
    # or finally could not ("dead:…"); reference_id = the outbox idempotency key.
    DELIVERY = "delivery"


# Kinds Qunyun writes about a member; never imported, never a sign of the member's own activity.
SYSTEM_KINDS: frozenset[ActivityKind] = frozenset({ActivityKind.TEXT_FLAG, ActivityKind.DELIVERY})


# "Spoke": the operator's notion of a message (发言). Replies are messages too.
MESSAGE_KINDS: frozenset[ActivityKind] = frozenset({ActivityKind.MESSAGE, ActivityKind.REPLY})

# Anything that shows the member engaged, beyond merely being present or reading.
INTERACTION_KINDS: frozenset[ActivityKind] = MESSAGE_KINDS | frozenset(
    {
        ActivityKind.REACTION,
        ActivityKind.SHARE,
        ActivityKind.CHECKIN,
        ActivityKind.POLL_VOTE,
        ActivityKind.SURVEY_ANSWER,
        ActivityKind.PURCHASE,
        ActivityKind.COUPON_REDEEM,
        ActivityKind.REFERRAL,
        ActivityKind.EVENT_ATTEND,
        ActivityKind.COMPLAINT,
    }
)

# Any sign of life, reading included; join and leave are membership, not life.
ANY_KINDS: frozenset[ActivityKind] = INTERACTION_KINDS | frozenset({ActivityKind.VIEW})


class Platform(StrEnum):
    WECHAT = "wechat"
    WECOM = "wecom"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    SLACK = "slack"
    MATRIX = "matrix"
    WEB = "web"
    OTHER = "other"


class Stage(StrEnum):
    """Lifecycle stage (seed 000): 新手期 / 成长期 / 成熟期 / 流失期."""

    NEW = "new"
    GROWING = "growing"
    MATURE = "mature"
    CHURNING = "churning"


class Segment(StrEnum):
    """Operating segment (seed 002): 新用户 / 活跃用户 / 沉默用户 / 流失用户."""

    NEW = "new"
    ACTIVE = "active"
    SILENT = "silent"
    CHURNED = "churned"
