"""Aware-UTC helpers and calendar-month arithmetic for the lifecycle rules."""

import calendar
from datetime import UTC, datetime


def ensure_utc(value: datetime) -> datetime:
    """Return `value` in UTC; naive datetimes are a programming error here."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value.isoformat()} where an aware one is required")
    return value.astimezone(UTC)


def add_months(value: datetime, months: int) -> datetime:
    """Same wall-clock time `months` calendar months later, clamping the day.

    Jan 31 + 1 month is Feb 28 (or 29): "one month after joining" in the
    operator's sense, not 30 days.
    """
    month_index = value.month - 1 + months
    year = value.year + month_index // 12
    month = month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def months_between(start: datetime, end: datetime) -> int:
    """Whole calendar months from `start` to `end` (0 when end < start + 1 month)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return months
