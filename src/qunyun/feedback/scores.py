"""NPS, satisfaction and choice counts: arithmetic on answers, no database.

Net Promoter Score (Reichheld, "The One Number You Need to Grow", Harvard
Business Review, December 2003): on the 0-10 question, promoters answer 9-10,
passives 7-8, detractors 0-6; NPS = % promoters − % detractors, from −100 to 100.

Satisfaction on a 1-5 scale: the mean answer, and CSAT = the share of
satisfied answers (4 or 5), the usual "top-two-box" definition.

No answers give None, never 0: a score of 0 is a real (and bad) result.

>>> nps([10, 9, 8, 3]).score
25.0
>>> satisfaction([5, 4, 2, 1]).csat
0.5
>>> nps([]) is None
True
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PROMOTER_MIN = 9
DETRACTOR_MAX = 6
SATISFIED_MIN = 4


@dataclass(frozen=True)
class Nps:
    responses: int
    promoters: int
    passives: int
    detractors: int
    distribution: tuple[int, ...]  # answers per score 0..10

    @property
    def score(self) -> float:
        return 100.0 * (self.promoters - self.detractors) / self.responses

    def as_dict(self) -> dict[str, Any]:
        return {
            "nps": self.score,
            "responses": self.responses,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "distribution": list(self.distribution),
        }


@dataclass(frozen=True)
class Satisfaction:
    responses: int
    total: int  # sum of the answers
    satisfied: int  # answers of 4 or 5
    distribution: tuple[int, ...]  # answers per score 1..5

    @property
    def mean(self) -> float:
        return self.total / self.responses

    @property
    def csat(self) -> float:
        return self.satisfied / self.responses

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "csat": self.csat,
            "responses": self.responses,
            "satisfied": self.satisfied,
            "distribution": list(self.distribution),
        }


@dataclass(frozen=True)
class ChoiceCounts:
    responses: int  # members who answered the question
    counts: dict[str, int]  # every option, in the definition's order, zeros included

    def share(self, option: str) -> float | None:
        """Share of those who answered that chose the option (multiple choice: shares add up past 1)."""
        return None if self.responses == 0 else self.counts[option] / self.responses

    def as_dict(self) -> dict[str, Any]:
        return {
            "responses": self.responses,
            "counts": self.counts,
            "shares": {option: self.share(option) for option in self.counts},
        }


def nps(scores: Iterable[int]) -> Nps | None:
    counts = Counter(scores)
    responses = sum(counts.values())
    if responses == 0:
        return None
    promoters = sum(n for s, n in counts.items() if s >= PROMOTER_MIN)
    detractors = sum(n for s, n in counts.items() if s <= DETRACTOR_MAX)
    return Nps(
        responses=responses,
        promoters=promoters,
        passives=responses - promoters - detractors,
        detractors=detractors,
        distribution=tuple(counts[s] for s in range(11)),
    )


def satisfaction(scores: Iterable[int]) -> Satisfaction | None:
    counts = Counter(scores)
    responses = sum(counts.values())
    if responses == 0:
        return None
    return Satisfaction(
        responses=responses,
        total=sum(s * n for s, n in counts.items()),
        satisfied=sum(n for s, n in counts.items() if s >= SATISFIED_MIN),
        distribution=tuple(counts[s] for s in range(1, 6)),
    )


def choice_counts(options: list[str], answers: Iterable[str | list[str]]) -> ChoiceCounts:
    """Counts per option over single (an id) or multiple (a list of ids) choice answers."""
    counts = dict.fromkeys(options, 0)
    responses = 0
    for answer in answers:
        responses += 1
        for option in [answer] if isinstance(answer, str) else answer:
            counts[option] += 1
    return ChoiceCounts(responses, counts)
