"""The simulator's knobs: one frozen value, validated once.

Every distribution the simulator draws from is named here, with its unit.
The defaults are calibrated so that 3,000 members over 180 days end with
roughly a third active, a third silent, a fifth gone and an eighth new
(see docs/simulator.md for the measured shares). Changing `members` never
changes what an existing member does; changing anything else may.

    >>> cfg = SimConfig(members=100, days=30, seed=7)
    >>> cfg.end.isoformat()
    '2026-05-31T00:00:00+00:00'
"""

import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qunyun.domain import Platform, ensure_utc

# Knobs that are probabilities or shares of members / events.
_SHARES = (
    "initial_cohort_share",
    "lurker_share",
    "reply_share",
    "ack_share",
    "english_share",
    "english_handle_share",
    "night_owl_share",
    "leave_share",
    "rejoin_share",
    "buyer_share",
    "coupon_share",
    "checkin_share",
    "phone_share",
    "complaint_before_leave_share",
    "poll_vote_share",
    "event_attend_share",
)

# Knobs that are rates, durations or factors: finite and not negative.
_NON_NEGATIVE = (
    "initial_cohort_days",
    "activity_scale",
    "message_rate_mean",
    "lurker_message_rate",
    "views_per_day",
    "reactions_per_day",
    "reactions_per_message",
    "shares_per_message",
    "lifetime_shape",
    "lifetime_scale_days",
    "leave_delay_days",
    "rejoin_delay_days",
    "rejoin_rate_factor",
    "purchase_rate_mean",
    "purchase_amount_sigma",
    "complaint_rate",
    "checkin_streak_days",
    "checkin_streaks_per_day",
)

# Knobs that must be strictly positive (shapes, scales, medians, periods).
_POSITIVE = (
    "message_rate_shape",
    "lifetime_shape",
    "lifetime_scale_days",
    "purchase_amount_median",
    "poll_every_days",
    "event_every_days",
)


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes a simulated community; same config → same data.

    Rates are per day of a member's *alive* time (between joining and
    dropping out) unless stated otherwise. Shares are in [0, 1].
    """

    # --- the community -----------------------------------------------------
    members: int = 3000
    days: int = 180
    seed: int = 42
    start: datetime = datetime(2026, 5, 1, tzinfo=UTC)
    platform: Platform = Platform.WECHAT
    community: str = "demo-community"
    community_name: str = "群运体验社群"
    # Diurnal patterns, check-in mornings and event evenings are local time here.
    timezone: str = "Asia/Shanghai"

    # --- joining -----------------------------------------------------------
    # Share of members in the founding cohort, who join within the first days;
    # the rest join uniformly over the remaining period.
    initial_cohort_share: float = 0.30
    initial_cohort_days: float = 7.0

    # --- writing -----------------------------------------------------------
    # Lurkers read and react but (almost) never write.
    lurker_share: float = 0.36
    # Writers' latent message rate is Gamma(shape, mean/shape) messages/day:
    # a shape below 1 makes most writers quiet and a few very chatty.
    message_rate_mean: float = 0.5
    message_rate_shape: float = 0.8
    # Lurkers' rates are exponential around this (messages/day): ~0.3 in 180 days.
    lurker_message_rate: float = 0.002
    # Of spoken messages: share that reply to an earlier message, share that
    # are bare acknowledgements (收到, 谢谢, +1 ...).
    reply_share: float = 0.30
    ack_share: float = 0.12
    # Overall share of messages in English; members with an English handle
    # write English far more often than the rest.
    english_share: float = 0.12
    english_handle_share: float = 0.12
    # Members whose diurnal peak is late at night instead of 08/12/21h.
    night_owl_share: float = 0.10

    # --- volume: the knobs for activities per member -----------------------
    # Multiplies every behavioural rate (messages, views, reactions, shares,
    # purchases, complaints, check-ins, turnout) but no lifetime, join or
    # leave. The segment shares are calibrated at 1.0; below it members write
    # less often, so more of them look silent.
    activity_scale: float = 1.0
    # Mean `view` events per alive day; member rates are Gamma(2) around it.
    # Views move no segment, so this tunes volume alone (see the docs table).
    views_per_day: float = 1.0
    # Reactions per alive day for everybody, plus per message written.
    reactions_per_day: float = 0.04
    reactions_per_message: float = 0.4
    shares_per_message: float = 0.05

    # --- dropping out, leaving, coming back --------------------------------
    # Pareto/NBD-style lifetimes: a member's dropout hazard is
    # Gamma(lifetime_shape, rate=lifetime_scale_days) per day and the lifetime
    # exponential with that hazard, so P(alive after t days) = (β/(β+t))^s.
    lifetime_shape: float = 1.0
    lifetime_scale_days: float = 150.0
    # Share of dropped-out members who leave the group (the rest stay muted),
    # and the mean of the exponential delay from dropping out to leaving.
    leave_share: float = 0.6
    leave_delay_days: float = 10.0
    # Share of leavers who join again after a mean delay, then write at
    # `rejoin_rate_factor` times their old rates with a fresh lifetime.
    rejoin_share: float = 0.10
    rejoin_delay_days: float = 21.0
    rejoin_rate_factor: float = 0.5

    # --- commerce ----------------------------------------------------------
    # Buyers purchase at Gamma(1.5)-distributed rates around the mean
    # (purchases/day); amounts are lognormal CNY, priced like "89.90".
    buyer_share: float = 0.35
    purchase_rate_mean: float = 0.015
    purchase_amount_median: float = 89.0
    purchase_amount_sigma: float = 0.8
    # Share of purchases paid with a coupon (a coupon_redeem at the same instant).
    coupon_share: float = 0.2

    # --- rituals and rarities ----------------------------------------------
    # Members who do daily check-in streaks (打卡): streak starts per alive
    # day and mean streak length.
    checkin_share: float = 0.15
    checkin_streaks_per_day: float = 0.03
    checkin_streak_days: float = 9.0
    # A poll every N days at 12:00 local (votes follow within hours) and an
    # online event every N days at 20:00 local; shares are the turnout among
    # alive writers (lurkers turn out at a quarter of it).
    poll_every_days: int = 7
    poll_vote_share: float = 0.25
    event_every_days: int = 14
    event_attend_share: float = 0.12
    # Complaints per alive day, and share of leavers who complain just before.
    complaint_rate: float = 0.002
    complaint_before_leave_share: float = 0.15
    # Members carrying a (fake, deterministic) phone on their join record.
    phone_share: float = 0.20

    def __post_init__(self) -> None:
        # Normalise to UTC once so every derived instant is aware UTC.
        object.__setattr__(self, "start", ensure_utc(self.start))
        if self.members < 0 or self.days <= 0:
            raise ValueError("members must be >= 0 and days > 0")
        _check_ranges(self)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc

    @property
    def end(self) -> datetime:
        """The instant the simulation stops: `start + days` (exclusive)."""
        return self.start + timedelta(days=self.days)

    @property
    def knobs(self) -> dict[str, object]:
        """All fields by name: for docs, logs and reproducing a run."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check_ranges(config: SimConfig) -> None:
    """Raise ValueError naming the first knob outside its domain."""
    for name in _SHARES:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {value}")
    for name in _NON_NEGATIVE:
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {value}")
    for name in _POSITIVE:
        value = getattr(config, name)
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
