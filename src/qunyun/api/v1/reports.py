"""The weekly report (HTML or PDF, zh or en) and the week's KPIs vs last week and the targets."""

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse

from qunyun.api.guard import need
from qunyun.api.scope import Scope, scope_of
from qunyun.api.week_data import WeekData
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.errors import QunyunError
from qunyun.reports.archive import save_report, stored_html, stored_weeks
from qunyun.reports.messages import normalise_lang
from qunyun.reports.render import render_html, render_pdf
from qunyun.reports.weeks import IsoWeek, last_complete_week

router = APIRouter(tags=["reports"])
READ = need(Permission.READ_AGGREGATES)
WeekParam = Query(None, description="ISO week like 2026-W47 (default: the last complete week)")


def week_data(request: Request) -> WeekData:
    data: WeekData = request.app.state.week_data
    if not data.available:
        raise QunyunError(
            "the analytics mirror is not configured for this server", code="analytics.unavailable"
        )
    return data


def chosen_week(scope: Scope, week: str | None) -> IsoWeek:
    return IsoWeek.parse(week) if week else last_complete_week(scope.now(), scope.services.settings.zone)


def report_html(request: Request, scope: Scope, week: IsoWeek, lang: str) -> str:
    """The stored report, else one made from the week's numbers (and stored once the week is over)."""
    with scope.services.engine.connect() as conn:
        found = stored_html(conn, scope.workspace_id, week, lang)
    if found is not None:
        return found
    data = week_data(request).wait(scope.workspace_id, week).report
    html = render_html(data, lang)
    if data.complete:
        with scope.services.engine.begin() as conn:
            save_report(conn, scope.workspace_id, week, lang, html, scope.now(), replace=False)
    return html


@router.get("/reports", summary="Weekly reports kept so far: (week, language), newest first")
def list_reports(request: Request, p: Principal = Depends(READ)) -> dict[str, Any]:
    with scope_of(request, p).services.engine.connect() as conn:
        kept = stored_weeks(conn, p.workspace_id)
    return {"reports": [{"week": w, "lang": lang} for w, lang in kept]}


@router.get(
    "/reports/weekly", summary="《社群运营数据周报》: the week's report as HTML or PDF", response_model=None
)
def weekly(
    request: Request,
    p: Principal = Depends(READ),
    week: str | None = WeekParam,
    lang: str = Query("zh", description="zh or en"),
    format: Literal["html", "pdf"] = "html",
) -> Response:
    scope = scope_of(request, p)
    chosen, language = chosen_week(scope, week), normalise_lang(lang)
    html = report_html(request, scope, chosen, language)
    if format == "pdf":
        name = f"weekly-report-{chosen}-{language}.pdf"
        return Response(
            render_pdf(html), media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )  # fmt: skip
    return HTMLResponse(html)


@router.get(
    "/kpis", summary="A week's KPIs, last week's, their change, the recent weeks and progress to targets"
)
def kpis(request: Request, p: Principal = Depends(READ), week: str | None = WeekParam) -> dict[str, Any]:
    scope = scope_of(request, p)
    data = week_data(request).wait(p.workspace_id, chosen_week(scope, week)).report
    result: dict[str, Any] = jsonable_encoder(
        {**data.kpis.as_dict(), "anomalies": [vars(a) for a in data.anomalies]}
    )
    return result


@router.get("/topics", summary="The week's topics against the 4 weeks before, and its rising terms")
def topics(request: Request, p: Principal = Depends(READ), week: str | None = WeekParam) -> dict[str, Any]:
    scope = scope_of(request, p)
    found = week_data(request).wait(p.workspace_id, chosen_week(scope, week)).topics
    result: dict[str, Any] = jsonable_encoder(found)
    return result
