"""The weekly report (《社群运营数据周报》): KPIs, movement, content, hours, playbooks, alerts, actions.

The public surface; the CLI, the worker and the dashboard import from here only.
docs/reports.md says what is in it and how every number is defined.
"""

from qunyun.reports.archive import (
    ensure_weekly_reports,
    generate,
    save_report,
    stored_html,
    stored_weeks,
    weekly_report_html,
)
from qunyun.reports.data import WeeklyData, collect
from qunyun.reports.errors import ReportError
from qunyun.reports.kpis import KPIS, WeekKpis, kpis_for_week, period_kpis
from qunyun.reports.messages import LANGS, Texts, normalise_lang
from qunyun.reports.render import render_html, render_pdf
from qunyun.reports.source import ReportSource
from qunyun.reports.weeks import IsoWeek, due_week, last_complete_week

__all__ = [
    "KPIS",
    "LANGS",
    "IsoWeek",
    "ReportError",
    "ReportSource",
    "Texts",
    "WeekKpis",
    "WeeklyData",
    "collect",
    "due_week",
    "ensure_weekly_reports",
    "generate",
    "kpis_for_week",
    "last_complete_week",
    "normalise_lang",
    "period_kpis",
    "render_html",
    "render_pdf",
    "save_report",
    "stored_html",
    "stored_weeks",
    "weekly_report_html",
]
