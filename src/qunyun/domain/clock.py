"""Time as a dependency: code below the CLI asks a Clock, never the wall.

>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> clock.advance(timedelta(days=1)).date().isoformat()
'2026-01-02'
"""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock. Only the CLI and servers construct one."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to: for tests and the simulator."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, by: timedelta) -> datetime:
        self._at += by
        return self._at
