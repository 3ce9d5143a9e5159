"""Latent member traits: who joins when, how much they write, when they stop.

Members are drawn in cohorts of `COHORT_SIZE` consecutive indices, each
from its own random stream `default_rng([seed, cohort, TRAITS])`. A cohort
is always drawn whole and the last one merely truncated, so member i's
traits (and, in `events`, its activities) never depend on how many members
the run has — and memory holds one cohort at a time, however many there are.

Time is float seconds since `SimConfig.start`, floored to whole seconds so
that ground truth and the records agree to the second.

The membership model, per member:
  join ─ alive (stint 0) ─ dropout ─┬─ stays, muted (no activity at all)
                                    └─ leave ─┬─ gone
                                              └─ rejoin ─ alive (stint 1) ─ dropout ─ ...
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qunyun.sim import texts
from qunyun.sim.config import SimConfig
from qunyun.sim.corpus import TOPIC_WEIGHTS
from qunyun.sim.diurnal import DAY, LocalDays, Profile, retime

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Ints = NDArray[np.int64]

COHORT_SIZE = 256
TRAITS, EVENTS = 0, 1  # sub-stream ids under [seed, cohort]
MAX_INTERESTS = 3
# Members with an English handle write English at this rate (capped by the
# overall `english_share`); everyone else makes up the rest of the share.
_HANDLE_ENGLISH_RATE = 0.6
# Floor on the dropout hazard (per day) so lifetimes stay finite floats.
_MIN_HAZARD = 1e-9


@dataclass(frozen=True)
class Membership:
    """Stints of alive time and the membership events around them.

    Arrays are (n, 2): column 0 the first stint, column 1 the stint after a
    rejoin. NaN marks "did not happen before the end of the simulation".
    `stop` is the end of alive time (dropout, or the simulation's end).
    """

    start: Floats
    stop: Floats
    leave: Floats
    dropout: Floats  # (n,) the final dropout; NaN when alive at the end


@dataclass(frozen=True)
class Cohort:
    """The latent traits of `COHORT_SIZE` consecutive members."""

    index: int
    first: int  # global index of the cohort's first member
    member_ids: list[str]
    nicknames: list[str]
    phones: list[str | None]
    lurker: Bools
    owl: Bools
    checkin: Bools
    message_rate: Floats  # messages per alive day (before rejoin damping)
    view_rate: Floats
    purchase_rate: Floats
    english: Floats  # probability that a message is in English
    interests: Ints  # (n, MAX_INTERESTS) topic indices, first `n_interests` valid
    n_interests: Ints
    membership: Membership

    @property
    def size(self) -> int:
        return len(self.member_ids)


def member_id(index: int) -> str:
    """The external id of the member with global index `index`: "m000042"."""
    return f"m{index:06d}"


def draw_cohort(config: SimConfig, grid: LocalDays, index: int) -> Cohort:
    """Traits of cohort `index`; depends on the config, never on `members`."""
    rng = np.random.default_rng([config.seed, index, TRAITS])
    n = COHORT_SIZE
    first = index * n
    owl = rng.random(n) < config.night_owl_share
    join = _join_times(rng, config, grid, owl)
    lurker = rng.random(n) < config.lurker_share
    scale = config.activity_scale
    writer_rate = scale * rng.gamma(
        config.message_rate_shape, config.message_rate_mean / config.message_rate_shape, n
    )
    lurker_rate = scale * rng.exponential(1.0, n) * config.lurker_message_rate
    view_rate = scale * rng.gamma(2.0, 0.5, n) * config.views_per_day
    membership = _membership(rng, config, grid, join, owl)
    buyer = rng.random(n) < config.buyer_share
    purchase_rate = scale * buyer * rng.gamma(1.5, config.purchase_rate_mean / 1.5, n)
    # Lurkers keep check-in streaks too, but less often: it is a tap, not a word.
    checkin = rng.random(n) < config.checkin_share * np.where(lurker, 0.5, 1.0)
    handle = rng.random(n) < config.english_handle_share
    has_phone = rng.random(n) < config.phone_share
    interests, n_interests = _interests(rng, n)
    nicknames = texts.nicknames(rng, handle)
    phones = texts.phones(rng, n)
    return Cohort(
        index=index,
        first=first,
        member_ids=[member_id(first + i) for i in range(n)],
        nicknames=nicknames,
        phones=[p if has else None for p, has in zip(phones, has_phone.tolist(), strict=True)],
        lurker=lurker,
        owl=owl,
        checkin=checkin,
        message_rate=np.where(lurker, lurker_rate, writer_rate),
        view_rate=view_rate,
        purchase_rate=purchase_rate,
        english=_english_rates(config, handle),
        interests=interests,
        n_interests=n_interests,
        membership=membership,
    )


def _join_times(rng: np.random.Generator, config: SimConfig, grid: LocalDays, owl: Bools) -> Floats:
    """A founding cohort in the first days, then a steady inflow to the end."""
    n = len(owl)
    founding_days = min(config.initial_cohort_days, float(config.days))
    founder = rng.random(n) < config.initial_cohort_share
    u = rng.random(n)
    days = np.where(founder, u * founding_days, founding_days + u * (config.days - founding_days))
    raw = days * DAY
    timed = retime(rng, grid, raw, _profile(owl))
    # Retiming may cross the period's edges on its first or last local day.
    end = config.days * DAY
    inside = (timed >= 0) & (timed < end)
    # The last second at the latest: a period shorter than the founding days
    # would otherwise put the inflow exactly at the end.
    return np.floor(np.minimum(np.where(inside, timed, raw), end - 1.0))


def _membership(
    rng: np.random.Generator, config: SimConfig, grid: LocalDays, join: Floats, owl: Bools
) -> Membership:
    """Lifetimes, leaves and rejoins; all draws happen for every member."""
    n = len(join)
    end = config.days * DAY
    hazard = np.maximum(rng.gamma(config.lifetime_shape, 1.0 / config.lifetime_scale_days, n), _MIN_HAZARD)
    drop1 = np.floor(join + rng.exponential(1.0 / hazard) * DAY)
    leave1 = _leave_after(rng, config, grid, drop1, owl)
    rejoins = rng.random(n) < config.rejoin_share
    rejoin_at = _later(rng, grid, leave1, config.rejoin_delay_days, owl)
    rejoin_at = np.where(rejoins & (rejoin_at < end), rejoin_at, np.nan)
    drop2 = np.floor(rejoin_at + rng.exponential(1.0 / hazard) * DAY)
    leave2 = _leave_after(rng, config, grid, drop2, owl)
    rejoined = ~np.isnan(rejoin_at)
    final_drop = np.where(rejoined, drop2, drop1)
    return Membership(
        start=np.stack([join, rejoin_at], axis=1),
        stop=np.stack([np.minimum(drop1, end), np.minimum(drop2, end)], axis=1),
        leave=np.stack([leave1, leave2], axis=1),
        dropout=np.where(final_drop < end, final_drop, np.nan),
    )


def _leave_after(
    rng: np.random.Generator, config: SimConfig, grid: LocalDays, dropout: Floats, owl: Bools
) -> Floats:
    """When each dropped-out member leaves, or NaN (stays muted / after the end)."""
    leaves = rng.random(len(dropout)) < config.leave_share
    at = _later(rng, grid, dropout, config.leave_delay_days, owl)
    return np.where(leaves & (at < config.days * DAY), at, np.nan)


def _later(rng: np.random.Generator, grid: LocalDays, after: Floats, mean_days: float, owl: Bools) -> Floats:
    """An exponential delay after `after`, at a diurnal time, strictly later.

    NaN in, NaN out; draws are made for every entry regardless.
    """
    raw = after + rng.exponential(max(mean_days, 1e-9), len(after)) * DAY
    finite = np.nan_to_num(raw, nan=0.0, posinf=0.0)
    timed = retime(rng, grid, np.clip(finite, 0.0, grid.midnights[-1]), _profile(owl))
    # At least a minute after, so the order of events is never ambiguous.
    return np.floor(np.where(np.isfinite(raw), np.maximum(timed, after + 60.0), np.nan))


def _profile(owl: Bools) -> Ints:
    return np.where(owl, Profile.OWL, Profile.DAY).astype(np.int64)


def _english_rates(config: SimConfig, handle: Bools) -> Floats:
    """Per-member chance of writing English, averaging `english_share`."""
    share, handles = config.english_share, config.english_handle_share
    high = min(_HANDLE_ENGLISH_RATE, share / handles) if handles > 0 else 0.0
    low = max(0.0, (share - handles * high) / (1.0 - handles)) if handles < 1 else 0.0
    return np.where(handle, high, low)


def _interests(rng: np.random.Generator, n: int) -> tuple[Ints, Ints]:
    """1-3 distinct topics per member, popular topics more often (Gumbel top-k)."""
    u = rng.random(n)
    count = 1 + (u > 0.4).astype(np.int64) + (u > 0.8).astype(np.int64)
    weights = np.log(np.asarray(TOPIC_WEIGHTS))
    keys = weights + rng.gumbel(size=(n, len(TOPIC_WEIGHTS)))
    ranked = np.argsort(-keys, axis=1)[:, :MAX_INTERESTS].astype(np.int64)
    return ranked, count
