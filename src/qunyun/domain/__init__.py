"""Plain types shared by every layer: no I/O, nothing of ours imported."""

from qunyun.domain.activity import IMPORT_COLUMNS, ActivityRecord, Money, to_minor_units
from qunyun.domain.clock import Clock, FixedClock, SystemClock
from qunyun.domain.facts import BASELINE_WINDOW_DAYS, OLDEST_KEPT, RECENT_WINDOW_DAYS, MemberFacts
from qunyun.domain.kinds import (
    ANY_KINDS,
    INTERACTION_KINDS,
    MESSAGE_KINDS,
    SYSTEM_KINDS,
    ActivityKind,
    Platform,
    Segment,
    Stage,
)
from qunyun.domain.sends import Claimed, IdempotencyConflictError
from qunyun.domain.timeutil import add_months, ensure_utc, months_between

__all__ = [
    "ANY_KINDS",
    "BASELINE_WINDOW_DAYS",
    "IMPORT_COLUMNS",
    "INTERACTION_KINDS",
    "MESSAGE_KINDS",
    "OLDEST_KEPT",
    "RECENT_WINDOW_DAYS",
    "SYSTEM_KINDS",
    "ActivityKind",
    "ActivityRecord",
    "Claimed",
    "Clock",
    "FixedClock",
    "IdempotencyConflictError",
    "MemberFacts",
    "Money",
    "Platform",
    "Segment",
    "Stage",
    "SystemClock",
    "add_months",
    "ensure_utc",
    "months_between",
    "to_minor_units",
]
