"""Per-cohort event generation: behaviour → sorted, numbered, worded events.

`generate` turns one cohort's latent traits into its activities, drawn from
the stream `default_rng([seed, cohort, EVENTS])`. Output is grouped by
member and time-ordered within a member; `seq` numbers each member's events
from 0, which makes `reference_id` = f"{member}-{seq}" stable.

Replies and reactions point at an earlier message by another member. To
keep every member independent of the run's size, a target is only ever
chosen among members with a *lower* index (this cohort's or the previous
cohort's), who exist in every run that contains the replier.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qunyun.domain import ActivityKind
from qunyun.sim import processes as proc
from qunyun.sim import texts
from qunyun.sim.config import SimConfig
from qunyun.sim.corpus import TOPICS
from qunyun.sim.diurnal import LocalDays
from qunyun.sim.population import EVENTS, Cohort

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

_C = proc.CODE
_MESSAGE, _REPLY = _C[ActivityKind.MESSAGE], _C[ActivityKind.REPLY]
_REACTION = _C[ActivityKind.REACTION]
# Share of messages about a topic outside the writer's interests.
_OFF_TOPIC = 0.1
# How replies pick what they answer: walk back a geometric number of
# messages from the reply's time, a few attempts to find an eligible author.
_TARGET_STEP_P = 0.35
_TARGET_ATTEMPTS = 8


@dataclass(frozen=True)
class MessagePool:
    """Messages that may be answered: global author index, time, seq; by time."""

    owner: Ints
    t: Ints
    seq: Ints

    @classmethod
    def empty(cls) -> "MessagePool":
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none)


@dataclass(frozen=True)
class EventBlock:
    """One cohort's events, sorted by (owner, t); arrays are parallel."""

    owner: Ints  # index within the cohort
    t: Ints  # whole seconds since config.start
    kind: Ints  # index into processes.KINDS
    seq: Ints  # the member's running event number
    amount: Ints  # minor units (purchases), else 0
    text: list[str | None]
    target_owner: Ints  # global index of the answered message's author, or -1
    target_seq: Ints


def generate(
    config: SimConfig, grid: LocalDays, cohort: Cohort, previous: MessagePool
) -> tuple[EventBlock, MessagePool]:
    """All events of `cohort`, and the pool of its messages for the next cohort."""
    rng = np.random.default_rng([config.seed, cohort.index, EVENTS])
    owner, t, kind, amount = _sorted(_behaviour(rng, grid, cohort, config))
    seq = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
    spoken = (kind == _MESSAGE) | (kind == _REPLY)
    kind = np.where(spoken & (rng.random(len(kind)) < config.reply_share), _REPLY, kind)
    ack = spoken & (rng.random(len(kind)) < config.ack_share)
    english = rng.random(len(kind)) < cohort.english[owner]
    topic = _topics(rng, cohort, owner)
    gowner = owner + cohort.first
    substantive = spoken & ~ack
    own = MessagePool(gowner[substantive], t[substantive], seq[substantive])
    target_owner, target_seq = _targets(rng, _merge_pools(previous, own), gowner, t, kind)
    text = _texts(rng, kind, topic, english, ack)
    block = EventBlock(owner, t, kind, seq, amount, text, target_owner, target_seq)
    return block, own


def _behaviour(
    rng: np.random.Generator, grid: LocalDays, cohort: Cohort, config: SimConfig
) -> list[proc.Part]:
    """Every process of the model, in a fixed draw order."""
    stints = proc.Stints.of(cohort, config)
    profile = proc.profiles(cohort)
    rate = cohort.message_rate  # already scaled by activity_scale
    scale = config.activity_scale
    reactions = scale * config.reactions_per_day + config.reactions_per_message * rate
    # Lurkers share now and then too: a twentieth of their reaction rate.
    shares = config.shares_per_message * rate + 0.05 * scale * config.reactions_per_day
    complaints = np.full(cohort.size, scale * config.complaint_rate)
    return [
        *proc.membership(cohort),
        proc.poisson(rng, grid, stints, rate, ActivityKind.MESSAGE, profile),
        proc.poisson(rng, grid, stints, cohort.view_rate, ActivityKind.VIEW, profile),
        proc.poisson(rng, grid, stints, reactions, ActivityKind.REACTION, profile),
        proc.poisson(rng, grid, stints, shares, ActivityKind.SHARE, profile),
        proc.poisson(rng, grid, stints, complaints, ActivityKind.COMPLAINT, profile),
        proc.checkins(rng, grid, stints, cohort, config),
        *proc.polls_and_events(rng, grid, stints, cohort, config),
        *proc.purchases(rng, grid, stints, cohort, config),
        proc.last_words(rng, cohort, config),
    ]


def _sorted(parts: list[proc.Part]) -> tuple[Ints, Ints, Ints, Ints]:
    """Concatenate, floor times to seconds, order by member, time, then kind rank."""
    owner = np.concatenate([p.owner for p in parts])
    t = np.floor(np.concatenate([p.t for p in parts])).astype(np.int64)
    kind = np.concatenate([p.kind for p in parts])
    amount = np.concatenate([p.amount for p in parts])
    # Within one second a join comes first and a leave last.
    rank = np.where(kind == _C[ActivityKind.JOIN], 0, np.where(kind == _C[ActivityKind.LEAVE], 2, 1))
    order = np.lexsort((kind, rank, t, owner))
    return owner[order], t[order], kind[order], amount[order]


def _topics(rng: np.random.Generator, cohort: Cohort, owner: Ints) -> Ints:
    """The topic of each event: mostly one of the member's interests."""
    n = len(owner)
    slot = (rng.random(n) * cohort.n_interests[owner]).astype(np.int64)
    interest = cohort.interests[owner, slot]
    off = rng.random(n) < _OFF_TOPIC
    return np.where(off, rng.integers(0, len(TOPICS), n), interest)


def _merge_pools(previous: MessagePool, own: MessagePool) -> MessagePool:
    owner = np.concatenate([previous.owner, own.owner])
    t = np.concatenate([previous.t, own.t])
    seq = np.concatenate([previous.seq, own.seq])
    order = np.argsort(t, kind="stable")
    return MessagePool(owner[order], t[order], seq[order])


def _targets(
    rng: np.random.Generator, pool: MessagePool, gowner: Ints, t: Ints, kind: Ints
) -> tuple[Ints, Ints]:
    """For replies and reactions: (author, seq) of a recent earlier message, or -1."""
    target_owner = np.full(len(t), -1, dtype=np.int64)
    target_seq = np.full(len(t), -1, dtype=np.int64)
    answers = np.flatnonzero((kind == _REPLY) | (kind == _REACTION))
    steps = rng.geometric(_TARGET_STEP_P, (len(answers), _TARGET_ATTEMPTS)) - 1
    if len(pool.t) == 0 or len(answers) == 0:
        return target_owner, target_seq
    last_before = np.searchsorted(pool.t, t[answers], side="left") - 1
    position = last_before[:, None] - np.cumsum(steps, axis=1)
    valid = position >= 0
    position = np.where(valid, position, 0)
    author = pool.owner[position]
    me = gowner[answers][:, None]
    # Lower-indexed authors only: they exist in every run that has this member.
    valid &= author < me
    found = valid.any(axis=1)
    chosen = position[np.arange(len(answers)), valid.argmax(axis=1)]
    target_owner[answers] = np.where(found, pool.owner[chosen], -1)
    target_seq[answers] = np.where(found, pool.seq[chosen], -1)
    return target_owner, target_seq


def _texts(rng: np.random.Generator, kind: Ints, topic: Ints, english: Bools, ack: Bools) -> list[str | None]:
    """Words where the kind has them: messages, shares, complaints, reactions, products."""
    text: list[str | None] = [None] * len(kind)
    spoken = np.flatnonzero((kind == _MESSAGE) | (kind == _REPLY))
    _fill(text, spoken, texts.messages(rng, topic[spoken], english[spoken], ack[spoken]))
    share = np.flatnonzero(kind == _C[ActivityKind.SHARE])
    _fill(text, share, texts.shares(rng, topic[share], english[share]))
    complaint = np.flatnonzero(kind == _C[ActivityKind.COMPLAINT])
    _fill(text, complaint, texts.complaints(rng, english[complaint]))
    reaction = np.flatnonzero(kind == _REACTION)
    _fill(text, reaction, texts.reactions(rng, len(reaction)))
    purchase = np.flatnonzero(kind == _C[ActivityKind.PURCHASE])
    _fill(text, purchase, texts.products(rng, topic[purchase]))
    return text


def _fill(text: list[str | None], where: Ints, values: list[str]) -> None:
    for i, value in zip(where.tolist(), values, strict=True):
        text[i] = value
