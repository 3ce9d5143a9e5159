"""Stored weekly reports: generate once, keep the HTML, serve it again (table weekly_reports).

- `weekly_report_html(source, week, lang, now)`: what the dashboard shows —
  the stored report, else one generated now (and stored if the week is over).
- `ensure_weekly_reports(source, now)`: what `qunyun worker` calls after every
  cycle — from Monday 06:00 local, last week's report in every language,
  once; a second call (or a second worker) stores nothing twice.
"""

from datetime import datetime

from sqlalchemy import Connection, select, update

from qunyun.reports.data import collect
from qunyun.reports.messages import LANGS, normalise_lang
from qunyun.reports.render import render_html
from qunyun.reports.source import ReportSource
from qunyun.reports.weeks import IsoWeek, due_week
from qunyun.store.bulk import insert_or_skip
from qunyun.store.report_tables import weekly_reports


def stored_html(conn: Connection, workspace_id: int, week: IsoWeek, lang: str) -> str | None:
    found: str | None = conn.execute(
        select(weekly_reports.c.html).where(
            weekly_reports.c.workspace_id == workspace_id,
            weekly_reports.c.iso_week == str(week),
            weekly_reports.c.lang == normalise_lang(lang),
        )
    ).scalar_one_or_none()
    return found


def stored_weeks(conn: Connection, workspace_id: int) -> list[tuple[str, str]]:
    """(iso_week, lang) of every stored report, newest week first."""
    query = (
        select(weekly_reports.c.iso_week, weekly_reports.c.lang)
        .where(weekly_reports.c.workspace_id == workspace_id)
        .order_by(weekly_reports.c.iso_week.desc(), weekly_reports.c.lang)
    )
    return [(str(w), str(lang)) for w, lang in conn.execute(query)]


def save_report(
    conn: Connection, workspace_id: int, week: IsoWeek, lang: str, html: str, now: datetime, *, replace: bool
) -> bool:
    """Store a report; an existing one is kept unless `replace`. True when this call wrote it."""
    values = {"workspace_id": workspace_id, "iso_week": str(week), "lang": normalise_lang(lang)}
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING through SQLAlchemy.
    inserted = conn.execute(
        insert_or_skip(conn, weekly_reports)
        .values(**values, html=html, generated_at=now)
        .returning(weekly_reports.c.workspace_id)
    ).scalar()
    if inserted is not None:
        return True
    if not replace:
        return False
    conn.execute(
        update(weekly_reports)
        .where(*(getattr(weekly_reports.c, k) == v for k, v in values.items()))
        .values(html=html, generated_at=now)
    )
    return True


def generate(source: ReportSource, week: IsoWeek, langs: list[str], now: datetime) -> dict[str, str]:
    """The week's report in each language, from one gathering of the numbers."""
    data = collect(source, week, now)
    return {normalise_lang(lang): render_html(data, lang) for lang in langs}


def weekly_report_html(source: ReportSource, week: IsoWeek, lang: str, now: datetime) -> str:
    """The stored report of (workspace, week, lang), else one generated now (stored once the week is over)."""
    with source.engine.connect() as conn:
        found = stored_html(conn, source.workspace_id, week, lang)
    if found is not None:
        return found
    html = generate(source, week, [lang], now)[normalise_lang(lang)]
    if now >= week.bounds(source.zone)[1]:
        with source.engine.begin() as conn:
            save_report(conn, source.workspace_id, week, lang, html, now, replace=False)
    return html


def ensure_weekly_reports(source: ReportSource, now: datetime) -> list[str]:
    """Last week's report in every language, generated and stored if missing (from Monday 06:00
    local); returns the languages written now, [] when nothing was due."""
    week = due_week(now, source.zone)
    with source.engine.connect() as conn:
        missing = [lang for lang in LANGS if stored_html(conn, source.workspace_id, week, lang) is None]
    if not missing:
        return []
    written = []
    with source.engine.begin() as conn:
        for lang, html in generate(source, week, missing, now).items():
            if save_report(conn, source.workspace_id, week, lang, html, now, replace=False):
                written.append(lang)
    return written
