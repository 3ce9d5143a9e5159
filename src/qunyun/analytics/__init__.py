"""Analytics over the activity table. Step 1 computes member facts in SQL;
Step 2 moves these computations onto Ibis (DuckDB / PySpark)."""

from qunyun.analytics.facts import FactWindows, iter_member_facts

__all__ = ["FactWindows", "iter_member_facts"]
