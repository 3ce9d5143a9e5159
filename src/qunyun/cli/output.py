"""Printing: JSON for scripts (stable, documented in docs/cli.md), Rich for people."""

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

# soft_wrap: long lines (paths, commands to copy) are never broken by the terminal width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def money(minor: int | None) -> str:
    return "" if not minor else f"{minor / 100:,.2f}"


def when(value: datetime | None, zone: Any) -> str:
    return "—" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def compact_table(title: str | None = None) -> Table:
    """A table for narrow terminals: no vertical rules, padding collapsed; with `no_wrap` columns
    every row stays on one line."""
    return Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)


def day(value: datetime | None, zone: Any) -> str:
    return when(value, zone)[:10]


def whole_money(minor: float | None) -> str:
    """Currency units without cents (a value estimate, not an amount paid)."""
    return "" if minor is None else f"{minor / 100:,.0f}"
