"""Recency-frequency summaries, grouped: the sufficient statistics every model here is fitted on.

A member's history enters the buy-till-you-die models only through
(x, t_x, T): x repeat events after the first, the time t_x of the last one
and the member's age T, both measured from the first event. Members with the
same triple contribute the same likelihood term, so each distinct triple is
evaluated once with its count as a weight; on day-granular data a million
members collapse to some tens of thousands of triples.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qunyun.errors import ModelError

Floats = NDArray[np.float64]


def bad_input(message: str) -> ModelError:
    return ModelError(message, code="models.bad_input")


@dataclass(frozen=True)
class Summary:
    """Per-member (x, t_x, T) arrays of equal length."""

    x: Floats
    t_x: Floats
    T: Floats

    @classmethod
    def of(cls, x: object, t_x: object, T: object) -> "Summary":
        arrays = [np.asarray(v, dtype=np.float64).ravel() for v in (x, t_x, T)]
        if len({a.size for a in arrays}) != 1:
            raise bad_input("x, t_x and T must have one value per member")
        summary = cls(*arrays)
        summary.validate()
        return summary

    def validate(self) -> None:
        checks = (
            (~np.isfinite(self.x) | ~np.isfinite(self.t_x) | ~np.isfinite(self.T), "a value is not finite"),
            (self.x < 0, "x (repeat events) is negative"),
            (self.x != np.round(self.x), "x (repeat events) is not a whole number"),
            (self.t_x < 0, "t_x (time of last event) is negative"),
            (self.t_x > self.T, "t_x is after T (the member's age)"),
            ((self.x == 0) & (self.t_x != 0), "t_x must be 0 when x is 0"),
            (self.T <= 0, "T (age) must be positive"),
        )
        for bad, reason in checks:
            if bad.any():
                row = int(np.argmax(bad))
                raise bad_input(
                    f"member row {row}: {reason} (x={self.x[row]}, t_x={self.t_x[row]}, T={self.T[row]})"
                )

    def __len__(self) -> int:
        return int(self.x.size)


@dataclass(frozen=True)
class Grouped:
    """Distinct (x, t_x, T) triples and how many members share each."""

    x: Floats
    t_x: Floats
    T: Floats
    weight: Floats

    @classmethod
    def of(cls, summary: Summary) -> "Grouped":
        stacked = np.column_stack([summary.x, summary.t_x, summary.T])
        unique, counts = np.unique(stacked, axis=0, return_counts=True)
        return cls(unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(np.float64))

    @property
    def members(self) -> int:
        return int(self.weight.sum())
