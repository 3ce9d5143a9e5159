"""The analytics engine: Ibis tables over one backend (DuckDB mirror by default, or PySpark).

Every computation in `analytics/` takes an `AnalyticsEngine` and returns an
Ibis expression, so the same code runs on either backend. Timestamps are naive
UTC in every backend (see `mirror.py`); `naive_utc` converts our aware
datetimes at the boundary.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from qunyun.analytics.mirror import ActivityMirror

TABLES = ("activities", "identities", "members", "communities")


def _teach_pyspark_bit_or() -> None:
    """Ibis 12 compiles `bit_or()` for DuckDB (and Databricks) but not for PySpark, although
    Spark SQL has had the `bit_or` aggregate since 3.0. Member facts use it for active-day
    masks, so the same rule the Databricks compiler has is added here, once."""
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler
    from ibis.expr import operations as ops

    def visit_bit_or(self: Any, _op: ops.BitOr, *, arg: Any, where: Any, **_kw: Any) -> Any:
        return self.agg.bit_or(arg, where=where)

    setattr(PySparkCompiler, "visit_BitOr", visit_bit_or)  # noqa: B010  # the compiler dispatches by name


def naive_utc(value: datetime) -> datetime:
    """Aware → naive UTC, the form timestamps take inside the analytics backends."""
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class AnalyticsEngine:
    backend: BaseBackend

    @classmethod
    def on_mirror(cls, mirror: ActivityMirror) -> "AnalyticsEngine":
        return cls(ibis.duckdb.from_connection(mirror.duck))

    @classmethod
    def on_spark(cls, session: Any, parquet_dir: Path) -> "AnalyticsEngine":
        """The same tables on PySpark, read from Parquet (see `ActivityMirror.export_parquet`).

        `session` is a `pyspark.sql.SparkSession`; its `spark.sql.session.timeZone`
        must be UTC so that naive timestamps mean what they mean in DuckDB.
        """
        zone = session.conf.get("spark.sql.session.timeZone")
        if zone not in ("UTC", "Etc/UTC", "+00:00"):
            raise ValueError(f"the Spark session must run in UTC, not {zone!r}")
        _teach_pyspark_bit_or()
        for name in TABLES:
            session.read.parquet(str(parquet_dir / name)).createOrReplaceTempView(name)
        return cls(ibis.pyspark.connect(session))

    def table(self, name: str) -> ibis.Table:
        if name not in TABLES:
            raise KeyError(f"not an analytics table: {name}")
        return self.backend.table(name)
