"""Interest tags: what a member cares about, from what they write and react to, fading with time.

Each message a member writes adds 1 to every topic it mentions; each message they
react to adds `REACTION_WEIGHT`. Contributions halve every `half_life_days`, so
a score is the exponentially decayed count: a member who wrote about 摄影 twice
a month ago and once yesterday has about 2 x 0.5 + 1 = 2 (with a 30-day half-life).
The decay is memoryless, which makes refresh incremental: the stored score at
time t1 becomes `score x 0.5^((t2 - t1) / half_life)` at t2, plus what came in
between. Every tag keeps its reasons: the messages that contributed most.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from qunyun.nlp.normalize import normalize
from qunyun.nlp.topics import TopicLexicon

REACTION_WEIGHT = 0.5
MAX_REASONS = 3
MIN_SCORE = 0.5
# A tag must reach this share of the member's strongest: one question about 育儿 from a member
# who writes about 摄影 every day is not an interest. On the simulator's truth (evals/interest_eval.py,
# two seeds) this lifts precision from 0.62 to 0.90 for 0.02 of recall.
RELATIVE_CUT = 0.25


def strong(
    scores: list[tuple[str, float]], min_score: float = MIN_SCORE, relative_cut: float = RELATIVE_CUT
) -> set[str]:
    """The topics that count as tags among (topic, score) pairs of one member."""
    top = max((score for _, score in scores), default=0.0)
    return {topic for topic, score in scores if score >= min_score and score >= relative_cut * top}


def decay(score: float, since: datetime, until: datetime, half_life_days: float) -> float:
    """A score recorded at `since`, as it stands at `until`."""
    days = (until - since).total_seconds() / 86_400
    return float(score * 0.5 ** (max(0.0, days) / half_life_days))


@dataclass(frozen=True)
class Evidence:
    """One message behind a tag: what was said (or reacted to), when, and the word that matched."""

    reference: str
    occurred_at: datetime
    text: str
    keyword: str
    reacted: bool = False


@dataclass
class InterestTag:
    topic: str
    score: float
    reasons: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True)
class TextEvent:
    reference: str
    occurred_at: datetime
    text: str
    reacted: bool = False  # the member reacted to this text rather than wrote it


def interest_tags(
    events: Iterable[TextEvent],
    as_of: datetime,
    lexicon: TopicLexicon,
    half_life_days: float = 30.0,
    min_score: float = MIN_SCORE,
    relative_cut: float = RELATIVE_CUT,
) -> list[InterestTag]:
    """A member's tags as of `as_of`, highest score first; weak ones dropped (see `strong`)."""
    tags: dict[str, InterestTag] = {}
    for event in events:
        if event.occurred_at > as_of:
            continue
        weight = REACTION_WEIGHT if event.reacted else 1.0
        for hit in lexicon.find(normalize(event.text).text):
            tag = tags.setdefault(hit.topic, InterestTag(hit.topic, 0.0))
            tag.score += decay(weight, event.occurred_at, as_of, half_life_days)
            evidence = Evidence(
                event.reference, event.occurred_at, event.text[:200], hit.keyword, event.reacted
            )
            tag.reasons.append(evidence)
    for tag in tags.values():
        # The strongest reasons: written before reacted, recent before old.
        tag.reasons.sort(key=lambda e: (e.reacted, -e.occurred_at.timestamp()))
        del tag.reasons[MAX_REASONS:]
    kept_topics = strong([(tag.topic, tag.score) for tag in tags.values()], min_score, relative_cut)
    kept = [tag for tag in tags.values() if tag.topic in kept_topics]
    return sorted(kept, key=lambda tag: (-tag.score, tag.topic))
