"""ISO weeks as the report names them (2026-W47), and their local bounds.

A report week runs Monday 00:00 to the next Monday 00:00 in the workspace's
timezone; the database keeps UTC, so the bounds are converted once here.

>>> week = IsoWeek.parse("2026-W47")
>>> (week.monday.isoformat(), week.sunday.isoformat(), str(week.previous()))
('2026-11-16', '2026-11-22', '2026-W46')
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qunyun.reports.errors import ReportError

_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
# The worker writes last week's report once Monday is this far along: late imports and the
# night's refresh have landed by then.
DUE_AFTER = timedelta(hours=6)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> "IsoWeek":
        found = _PATTERN.match(text.strip())
        if found is None:
            raise ReportError(f"not an ISO week (like 2026-W47): {text!r}", code="report.bad_week")
        year, week = int(found[1]), int(found[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise ReportError(f"{year} has no week {week}: {text!r}", code="report.bad_week") from exc
        return cls(year, week)

    @classmethod
    def containing(cls, day: date) -> "IsoWeek":
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def previous(self, weeks: int = 1) -> "IsoWeek":
        return IsoWeek.containing(self.monday - timedelta(weeks=weeks))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) local, as aware UTC instants."""
        start = datetime.combine(self.monday, time(0), tzinfo=zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def last_complete_week(now: datetime, zone: ZoneInfo) -> IsoWeek:
    """The latest ISO week that has fully ended at `now` in `zone`."""
    return IsoWeek.containing(now.astimezone(zone).date()).previous()


def due_week(now: datetime, zone: ZoneInfo) -> IsoWeek:
    """The week whose report should exist at `now`: last week from Monday 06:00 local on."""
    return last_complete_week(now - DUE_AFTER, zone)
