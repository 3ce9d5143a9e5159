"""The point processes that place a cohort's events in time, vectorised.

Each function returns a `Part`: flat arrays of (owner, time, kind, amount)
for one kind of behaviour across all members of a cohort. Events only ever
fall inside a member's alive stints, so after dropout there is nothing but
the leave (and, after a rejoin, the new stint).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qunyun.domain import ActivityKind
from qunyun.sim.config import SimConfig
from qunyun.sim.diurnal import DAY, HOUR, LocalDays, Profile, hours, retime
from qunyun.sim.population import Cohort

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

# Kind codes used in the arrays: the index into this tuple.
KINDS: tuple[ActivityKind, ...] = tuple(ActivityKind)
CODE: dict[ActivityKind, int] = {kind: i for i, kind in enumerate(KINDS)}

_POLL_HOUR = 12.0  # polls are posted at noon local ...
_POLL_RESPONSE_HOURS = 5.0  # ... and answered over the afternoon and evening
_EVENT_HOUR = 20.0  # online events start at 20:00 local


@dataclass(frozen=True)
class Part:
    """Events of one kind: parallel arrays, owner is the index in the cohort."""

    owner: Ints
    t: Floats
    kind: Ints
    amount: Ints  # minor units for purchases, 0 otherwise

    @classmethod
    def of(cls, owner: Ints, t: Floats, kind: ActivityKind, amount: Ints | None = None) -> "Part":
        n = len(owner)
        return cls(
            owner=owner.astype(np.int64),
            t=t,
            kind=np.full(n, CODE[kind], dtype=np.int64),
            amount=np.zeros(n, dtype=np.int64) if amount is None else amount,
        )


@dataclass(frozen=True)
class Stints:
    """Alive intervals, flattened: a rejoined member has two."""

    owner: Ints
    start: Floats
    stop: Floats
    factor: Floats  # rate multiplier: 1 at first, damped after a rejoin

    @classmethod
    def of(cls, cohort: Cohort, config: SimConfig) -> "Stints":
        m = cohort.membership
        owner = np.repeat(np.arange(cohort.size, dtype=np.int64), 2)
        start, stop = m.start.ravel(), m.stop.ravel()
        factor = np.tile([1.0, config.rejoin_rate_factor], cohort.size)
        keep = np.isfinite(start) & (stop > start)
        return cls(owner[keep], start[keep], stop[keep], factor[keep])

    @property
    def days(self) -> Floats:
        return (self.stop - self.start) / DAY

    def inside(self, index: Ints, t: Floats) -> NDArray[np.bool_]:
        """Whether each t lies within the stint it was drawn for."""
        return (t >= self.start[index]) & (t < self.stop[index])


def profiles(cohort: Cohort) -> Ints:
    """Each member's diurnal profile."""
    return np.where(cohort.owl, Profile.OWL, Profile.DAY).astype(np.int64)


def poisson(
    rng: np.random.Generator,
    grid: LocalDays,
    stints: Stints,
    rate: Floats,
    kind: ActivityKind,
    profile: Ints,
) -> Part:
    """A homogeneous Poisson process per stint at `rate[owner]` per day.

    The process picks the day; the time of day is then redrawn from the
    member's diurnal profile. Draws that the redraw pushes out of the stint
    (first and last day only) are dropped.
    """
    counts = rng.poisson(rate[stints.owner] * stints.factor * stints.days)
    index = np.repeat(np.arange(len(counts)), counts)
    span = stints.stop - stints.start
    t = stints.start[index] + rng.random(len(index)) * span[index]
    owner = stints.owner[index]
    t = retime(rng, grid, t, profile[owner])
    keep = stints.inside(index, t)
    return Part.of(owner[keep], t[keep], kind)


def checkins(
    rng: np.random.Generator, grid: LocalDays, stints: Stints, cohort: Cohort, config: SimConfig
) -> Part:
    """Daily check-in streaks: geometric lengths, one check-in per local day."""
    rate = cohort.checkin * config.checkin_streaks_per_day * config.activity_scale
    counts = rng.poisson(rate[stints.owner] * stints.factor * stints.days)
    index = np.repeat(np.arange(len(counts)), counts)
    first_day = grid.day_of(stints.start[index] + rng.random(len(index)) * stints.days[index] * DAY)
    length = rng.geometric(1.0 / max(config.checkin_streak_days, 1.0), len(index))
    streak = np.repeat(np.arange(len(index)), length)
    offset = np.arange(len(streak)) - np.repeat(np.cumsum(length) - length, length)
    day = np.minimum(first_day[streak] + offset, len(grid.midnights) - 1)
    index = index[streak]
    # Overlapping streaks of one member would check in twice a day: keep one.
    _, unique = np.unique(index * len(grid.midnights) + day, return_index=True)
    index, day = index[unique], day[unique]
    t = grid.midnights[day] + hours(rng, np.full(len(day), Profile.CHECKIN, dtype=np.int64))
    keep = stints.inside(index, t)
    return Part.of(stints.owner[index][keep], t[keep], ActivityKind.CHECKIN)


def schedule(grid: LocalDays, every_days: int, first_day: int, hour: float) -> Floats:
    """Instants of a recurring community happening at a local hour."""
    days = np.arange(first_day, len(grid.midnights), every_days)
    return grid.midnights[days] + hour * HOUR


def turnout(
    rng: np.random.Generator,
    stints: Stints,
    moments: Floats,
    probability: Floats,
    kind: ActivityKind,
    delay: Callable[[int], Floats],
) -> Part:
    """Members alive at a scheduled moment respond with `probability[owner]`.

    Each response comes `delay(n)` seconds after its moment (n responses).
    """
    low = np.searchsorted(moments, stints.start)
    high = np.searchsorted(moments, stints.stop)
    pairs = np.maximum(high - low, 0)
    index = np.repeat(np.arange(len(pairs)), pairs)
    moment = np.arange(len(index)) - np.repeat(np.cumsum(pairs) - pairs, pairs) + low[index]
    p = np.minimum(probability[stints.owner[index]] * stints.factor[index], 1.0)
    respond = rng.random(len(index)) < p
    index, moment = index[respond], moment[respond]
    t = moments[moment] + delay(len(index))
    keep = stints.inside(index, t)
    return Part.of(stints.owner[index][keep], t[keep], kind)


def polls_and_events(
    rng: np.random.Generator, grid: LocalDays, stints: Stints, cohort: Cohort, config: SimConfig
) -> list[Part]:
    """Votes on the weekly poll and attendance of the fortnightly online event."""
    # Lurkers turn out at a quarter of the writers' rate.
    engagement = np.where(cohort.lurker, 0.25, 1.0) * config.activity_scale
    polls = schedule(grid, config.poll_every_days, 2, _POLL_HOUR)
    events = schedule(grid, config.event_every_days, 8, _EVENT_HOUR)
    votes = turnout(
        rng,
        stints,
        polls,
        engagement * config.poll_vote_share,
        ActivityKind.POLL_VOTE,
        lambda n: rng.exponential(_POLL_RESPONSE_HOURS * HOUR, n),
    )
    attendance = turnout(
        rng,
        stints,
        events,
        engagement * config.event_attend_share,
        ActivityKind.EVENT_ATTEND,
        lambda n: rng.uniform(-5 * 60.0, 15 * 60.0, n),
    )
    return [votes, attendance]


def purchases(
    rng: np.random.Generator,
    grid: LocalDays,
    stints: Stints,
    cohort: Cohort,
    config: SimConfig,
) -> list[Part]:
    """Purchases with lognormal CNY amounts, some paid with a coupon (a coupon_redeem)."""
    bought = poisson(rng, grid, stints, cohort.purchase_rate, ActivityKind.PURCHASE, profiles(cohort))
    n = len(bought.owner)
    raw = rng.lognormal(np.log(config.purchase_amount_median), config.purchase_amount_sigma, n)
    # Shop prices end in .90: 19.90, 89.90, ...; kept within 19.90 and 999.00.
    minor = np.clip(np.ceil(raw / 10.0) * 1000 - 10, 1990, 99900).astype(np.int64)
    # The coupon is redeemed at checkout: same instant as the purchase.
    with_coupon = rng.random(n) < config.coupon_share
    coupon = Part.of(bought.owner[with_coupon], bought.t[with_coupon], ActivityKind.COUPON_REDEEM)
    return [Part(bought.owner, bought.t, bought.kind, minor), coupon]


def last_words(rng: np.random.Generator, cohort: Cohort, config: SimConfig) -> Part:
    """A complaint in the last day before dropping out, by some who then leave."""
    m = cohort.membership
    owner = np.repeat(np.arange(cohort.size, dtype=np.int64), 2)
    start, stop, leave = m.start.ravel(), m.stop.ravel(), m.leave.ravel()
    complains = rng.random(len(owner)) < config.complaint_before_leave_share
    before = rng.random(len(owner)) * np.minimum(DAY, stop - start)
    keep = complains & np.isfinite(leave) & (stop > start)
    return Part.of(owner[keep], (stop - before)[keep], ActivityKind.COMPLAINT)


def membership(cohort: Cohort) -> list[Part]:
    """Join at the start of every stint, leave where the member left."""
    m = cohort.membership
    owner = np.repeat(np.arange(cohort.size, dtype=np.int64), 2)
    start, leave = m.start.ravel(), m.leave.ravel()
    joined, left = np.isfinite(start), np.isfinite(leave)
    return [
        Part.of(owner[joined], start[joined], ActivityKind.JOIN),
        Part.of(owner[left], leave[left], ActivityKind.LEAVE),
    ]
