"""Guard rails, decided at send time: quiet hours, frequency caps, WeCom's monthly quota.

Pure functions of the clock and the member's timezone, so they are tested
directly (hypothesis over instants and zones). A held message waits; it is
never dropped for a guard, only expired when it has waited past its TTL.
"""

import calendar
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Guards:
    daily_cap: int
    weekly_cap: int
    quiet_start: time
    quiet_end: time
    wecom_quota: bool

    def quiet_until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When quiet hours end, if `now` is inside them (member-local); None otherwise."""
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return None
        local = now.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
        if not inside:
            return None
        day = local.date() if clock < end else local.date() + timedelta(days=1)
        return _instant(day, end, zone, now)


def _instant(day: object, at: time, zone: ZoneInfo, like: datetime) -> datetime:
    local = datetime.combine(day, at, tzinfo=zone)  # type: ignore[arg-type]
    return local.astimezone(like.tzinfo)


def day_window(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the member-local calendar day containing `now`, in UTC."""
    local = now.astimezone(zone).date()
    return _instant(local, time(0), zone, now), _instant(local + timedelta(days=1), time(0), zone, now)


def week_window(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the member-local ISO week (Monday first)."""
    local = now.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return _instant(monday, time(0), zone, now), _instant(monday + timedelta(days=7), time(0), zone, now)


def month_window(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime, int]:
    """[start, end) of the local calendar month, and its number of days (WeCom's quota)."""
    local = now.astimezone(zone).date()
    days = calendar.monthrange(local.year, local.month)[1]
    first = local.replace(day=1)
    return (
        _instant(first, time(0), zone, now),
        _instant(first + timedelta(days=days), time(0), zone, now),
        days,
    )


def parse_clock(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))
