"""Report tables (Step 8): the weekly report as generated, per workspace, ISO week and language.
Same metadata as `tables.py` (migration 0010).

A report is kept as the HTML it was generated as, so what the dashboard shows
on Tuesday is what the worker wrote on Monday, even after late imports change
the numbers; `qunyun report weekly` regenerates and replaces it on request.
"""

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from qunyun.store.tables import metadata
from qunyun.store.types import UtcDateTime

weekly_reports = Table(
    "weekly_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("iso_week", String(8), nullable=False),  # 2026-W47
    Column("lang", String(8), nullable=False),  # zh-CN | en
    Column("html", Text, nullable=False),
    Column("generated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "iso_week", "lang"),
)
