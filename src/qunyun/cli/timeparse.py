"""Parsing --as-of style arguments: ISO dates or datetimes, in the configured zone."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import typer

from qunyun.domain import ensure_utc


def parse_instant(value: str, zone: ZoneInfo, *, end_of_day: bool = True) -> datetime:
    """'2026-06-30' → the end of that day in `zone` (so the whole day counts); full ISO kept as is."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date or datetime: {value!r}") from exc
    if len(value) == 10 and end_of_day:
        parsed = datetime.combine(parsed.date() + timedelta(days=1), time(0), tzinfo=zone)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return ensure_utc(parsed)


def parse_every(value: str) -> timedelta:
    """'1d', '12h', '7d' → a step for replayed refreshes."""
    units = {"d": "days", "h": "hours", "w": "weeks"}
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit() or int(value[:-1]) <= 0:
        raise typer.BadParameter("use a positive number with d, h or w, e.g. 1d")
    return timedelta(**{units[value[-1]]: int(value[:-1])})
