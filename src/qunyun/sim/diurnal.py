"""Local time of day: when in the day people in the community act.

Times inside the simulator are float seconds since `SimConfig.start`. An
event is first placed by a process in continuous time (which decides the
*day*); `retime` then redraws its time of day from an hourly profile in the
community's local time zone, so activity peaks at 08, 12 and 21h local
whatever the UTC offset.
"""

from datetime import UTC, datetime, time, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


class Profile(IntEnum):
    """Row of `_HOURLY`: which hourly pattern an event follows."""

    DAY = 0  # the common pattern: morning commute, lunch, evening peak
    OWL = 1  # night owls: awake late, quiet mornings
    CHECKIN = 2  # check-ins happen on waking, some before bed


# Relative weight per local hour 0..23, one row per Profile.
_HOURLY = np.array(
    [
        # hour: 0    1    2    3    4    5    6    7    8    9   10   11
        #      12   13   14   15   16   17   18   19   20   21   22   23
        [0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.8, 2.0, 3.2, 2.4, 1.8, 2.2,
         3.0, 2.2, 1.5, 1.5, 1.5, 1.7, 1.8, 2.2, 2.8, 3.4, 2.4, 1.3],
        [2.8, 2.4, 1.8, 1.0, 0.4, 0.2, 0.2, 0.3, 0.5, 0.6, 0.8, 1.0,
         1.5, 1.2, 1.0, 1.0, 1.0, 1.1, 1.3, 1.6, 2.0, 2.6, 3.0, 3.2],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 2.0, 4.0, 3.0, 1.0, 0.3, 0.2,
         0.4, 0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.6, 1.2, 1.5, 0.6],
    ]
)  # fmt: skip
# Cumulative hourly distribution of profile p, shifted by p: one sorted array,
# so a single searchsorted samples hours for a mix of profiles.
_CDF = np.cumsum(_HOURLY / _HOURLY.sum(axis=1, keepdims=True), axis=1)
_CDF[:, -1] = 1.0
_SHIFTED_CDF = (_CDF + np.arange(len(Profile))[:, None]).ravel()

HOUR = 3600.0
DAY = 86400.0


class LocalDays:
    """The local midnights of the simulated period, as seconds since start.

    `midnights[d]` is local day d's 00:00 (day 0 is the local date of start,
    so its midnight may precede start). Offsets come from the tz database, so
    DST zones work; within a DST-switch day hours are off by one, harmlessly.
    """

    def __init__(self, start: datetime, days: int, timezone: str) -> None:
        zone = ZoneInfo(timezone)
        first = start.astimezone(zone).date()
        self.midnights: Floats = np.array(
            [
                (
                    datetime.combine(first + timedelta(days=d), time(), tzinfo=zone).astimezone(UTC) - start
                ).total_seconds()
                for d in range(days + 2)
            ]
        )

    def day_of(self, t: Floats) -> Ints:
        """Local day index of each instant (clipped to the grid)."""
        days = np.searchsorted(self.midnights, t, side="right") - 1
        return np.clip(days, 0, len(self.midnights) - 1).astype(np.int64)


def hours(rng: np.random.Generator, profile: NDArray[np.int64]) -> Floats:
    """Seconds into the local day, one draw per entry of `profile`."""
    u = rng.random(len(profile))
    index = np.searchsorted(_SHIFTED_CDF, profile + u, side="right") - profile * 24
    seconds: Floats = (np.minimum(index, 23) + rng.random(len(profile))) * HOUR
    return seconds


def retime(rng: np.random.Generator, grid: LocalDays, t: Floats, profile: NDArray[np.int64]) -> Floats:
    """Keep each instant's local day, redraw its time of day from `profile`."""
    return grid.midnights[grid.day_of(t)] + hours(rng, profile)
