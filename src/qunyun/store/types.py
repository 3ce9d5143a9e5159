"""Column types that keep the project's rules: datetimes are aware UTC, always."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); elsewhere 64 bits.
BigId = BigInteger().with_variant(Integer, "sqlite")

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; returns aware UTC datetimes on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no zone, so the value is
    converted to UTC first and the zone is put back on the way out. Naive
    datetimes are refused: they are the bug this type exists to stop.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"naive or non-datetime value stored in a UTC column: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encode_utc(value: datetime, dialect_name: str) -> Any:
    """The bound form of a UtcDateTime for raw DB-API bulk paths (must match the type)."""
    utc = value.astimezone(UTC)
    if dialect_name == "sqlite":
        # Same text as SQLITE_DATETIME_FORMAT, at a fraction of strftime's cost.
        return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return utc
