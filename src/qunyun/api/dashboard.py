"""The operator's dashboard: server-rendered pages over the same read models as /api/v1.

Pages only read (through the functions the API routes call, with the same
permission checks and audit rows); every change a page makes is a call to
/api/v1 from the page's script, with the session's CSRF token and, for
effects, a fresh Idempotency-Key. So the dashboard can do nothing the API
cannot.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from qunyun.api.dashboard_texts import LANG_COOKIE, TEXTS, pick_language
from qunyun.api.guard import current_principal
from qunyun.api.member_view import member_page, member_rows
from qunyun.api.scope import scope_of
from qunyun.api.v1.engagement import campaigns, month_leaderboard, surveys
from qunyun.api.v1.insights import overview
from qunyun.api.v1.lists import work_list
from qunyun.api.v1.members import member_filter
from qunyun.api.v1.reports import chosen_week
from qunyun.api.week_data import WeekData, WeekView
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.domain import Segment, Stage
from qunyun.errors import NotFoundError
from qunyun.lifecycle.alert_views import list_alerts
from qunyun.lifecycle.work_lists import WORK_LISTS
from qunyun.reports.actions import recommendations
from qunyun.reports.archive import stored_weeks
from qunyun.reports.messages import Texts as ReportTexts
from qunyun.reports.view import context as report_context
from qunyun.reports.view import kpi_rows
from qunyun.reports.weeks import IsoWeek

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
PER_PAGE = 50


class NeedsLoginError(Exception):
    pass


def _principal(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise NeedsLoginError
    return principal


def _render(
    request: Request, principal: Principal | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    lang = pick_language(request, principal)
    html = _env.get_template(f"dashboard/{template}").render(
        lang=lang, t=TEXTS[lang], me=principal, path=request.url.path, Permission=Permission, **context
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    if "lang" in request.query_params:
        response.set_cookie(LANG_COOKIE, "en" if lang == "en" else "zh", samesite="lax", max_age=365 * 86400)
    return response


def _choice(kind: type[Segment] | type[Stage], value: str | None) -> Any:
    """A filter value from the page's query, or None when empty or not one of `kind`'s values."""
    return next((member for member in kind if member.value == value), None)


def _forbidden(request: Request, principal: Principal) -> HTMLResponse:
    return _render(
        request, principal, "message.html", 403, message=TEXTS[pick_language(request, principal)]["forbidden"]
    )


router = APIRouter(include_in_schema=False)
me = Depends(_principal)


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/overview" if current_principal(request) else "/login", status_code=303)


@router.get("/login")
def login(request: Request) -> HTMLResponse:
    return _render(request, None, "login.html")


def _week(request: Request, p: Principal, asked: str | None = None) -> tuple[IsoWeek, WeekView]:
    scope = scope_of(request, p)
    week = chosen_week(scope, asked)
    week_data: WeekData = request.app.state.week_data
    return week, week_data.peek(p.workspace_id, week)


@router.get("/overview")
def overview_page(request: Request, p: Principal = me) -> HTMLResponse:
    scope = scope_of(request, p)
    with scope.services.engine.connect() as conn:
        alerts = list_alerts(conn, p.workspace_id, "open", None, 10) if p.can(Permission.READ_MEMBERS) else []
    if alerts:  # they quote what members wrote
        scope.audited("alerts.read", "overview", {"rows": len(alerts)})
    week, view = _week(request, p)
    texts = ReportTexts(pick_language(request, p))
    report = view.data.report if view.data else None
    kpis = kpi_rows(report, texts) if report else None
    actions = recommendations(report, texts) if report else []
    return _render(
        request, p, "overview.html", data=overview(scope), alerts=alerts, week=week, view=view, kpis=kpis,
        actions=actions, analytics=request.app.state.week_data.available,
    )  # fmt: skip


@router.get("/analytics")
def analytics_page(request: Request, p: Principal = me, week: str | None = None) -> HTMLResponse:
    chosen, view = _week(request, p, week)
    lang = pick_language(request, p)
    context, topics = None, None
    if view.data is not None:
        # Charts are SVG drawn by vl-convert (~1 s): kept with the numbers they were drawn from.
        memo: dict[Any, Any] = scope_of(request, p).services.memo
        key = ("analytics", p.workspace_id, str(chosen), lang)
        kept = memo.get(key)
        if kept is None or kept[0] is not view.data:
            kept = (view.data, report_context(view.data.report, ReportTexts(lang)))
            memo[key] = kept
        context = kept[1]
        topics = view.data.topics
    return _render(
        request, p, "analytics.html", week=chosen, view=view, r=context, topics=topics,
        analytics=request.app.state.week_data.available,
    )  # fmt: skip


@router.get("/report")
def report_page(request: Request, p: Principal = me, week: str | None = None) -> HTMLResponse:
    scope = scope_of(request, p)
    chosen = chosen_week(scope, week)
    with scope.services.engine.connect() as conn:
        kept = sorted({w for w, _ in stored_weeks(conn, p.workspace_id)}, reverse=True)
    lang = "en" if pick_language(request, p) == "en" else "zh"
    return _render(request, p, "report.html", week=chosen, kept=kept, report_lang=lang)


@router.get("/members")
def members_page(
    request: Request, p: Principal = me, segment: str | None = None, stage: str | None = None,
    community: str | None = None, platform: str | None = None, tag: str | None = None,
    q: str | None = None, sort: str = "id", page: int = 1,
) -> HTMLResponse:  # fmt: skip
    if not p.can(Permission.READ_MEMBERS):
        return _forbidden(request, p)
    scope = scope_of(request, p)
    flt = member_filter(
        scope, _choice(Segment, segment), _choice(Stage, stage),
        community or None, platform or None, tag or None, q,
    )  # fmt: skip
    page = max(1, page)
    rows, more = member_rows(scope, flt, page, PER_PAGE, by_value=sort == "value")
    scope.audited("members.list", "members", {"page": page, "filter": request.url.query})
    params = {k: v for k, v in request.query_params.items() if k not in ("page", "lang") and v}
    return _render(
        request, p, "members.html", rows=rows, more=more, page=page, params=params,
        segments=[s.value for s in Segment], stages=[s.value for s in Stage], sort=sort,
    )  # fmt: skip


@router.get("/members/{member_id}")
def member(request: Request, member_id: int, p: Principal = me) -> HTMLResponse:
    if not p.can(Permission.READ_MEMBERS):
        return _forbidden(request, p)
    scope = scope_of(request, p)
    try:
        data = member_page(scope, member_id)
    except NotFoundError as error:
        return _render(request, p, "message.html", 404, message=error.message)
    scope.audited("member.read", f"member:{member_id}")
    playbooks = [e.name for e in scope.journeys().catalog.enabled()]
    return _render(request, p, "member.html", m=data, playbooks=playbooks)


@router.get("/lists/{name}")
def work_list_page(request: Request, name: str, p: Principal = me) -> HTMLResponse:
    if not p.can(Permission.READ_MEMBERS):
        return _forbidden(request, p)
    if name not in WORK_LISTS:
        return _render(request, p, "message.html", 404, message=name)
    scope = scope_of(request, p)
    rows = work_list(scope, name, 100)
    scope.audited("list.read", f"list:{name}", {"rows": len(rows)})
    return _render(request, p, "list.html", name=name, rows=rows, names=list(WORK_LISTS))


@router.get("/playbooks")
def playbooks_page(request: Request, p: Principal = me) -> HTMLResponse:
    journeys = scope_of(request, p).journeys()
    running = journeys.running_counts()
    lang = pick_language(request, p)
    rows = [{**e.summary(lang), "running": running.get(e.name, 0)} for e in journeys.catalog.entries()]
    return _render(request, p, "playbooks.html", rows=rows)


@router.get("/playbooks/{name}")
def playbook_page(request: Request, name: str, p: Principal = me) -> HTMLResponse:
    try:
        entry = scope_of(request, p).journeys().catalog.get(name)
    except NotFoundError as error:
        return _render(request, p, "message.html", 404, message=error.message)
    return _render(
        request, p, "playbook.html", pb=entry.summary(pick_language(request, p)), source=entry.source
    )


@router.get("/engagement")
def engagement_page(request: Request, p: Principal = me) -> HTMLResponse:
    scope = scope_of(request, p)
    board = month_leaderboard(scope, None, 20) if p.can(Permission.READ_MEMBERS) else None
    return _render(
        request, p, "engagement.html", board=board, campaigns=campaigns(scope), surveys=surveys(scope)
    )


@router.get("/alerts")
def alerts_page(request: Request, p: Principal = me, status: str = "open") -> HTMLResponse:
    scope = scope_of(request, p)
    chosen = status if status in ("open", "acknowledged", "all") else "open"
    with scope.services.engine.connect() as conn:
        rows = list_alerts(conn, p.workspace_id, chosen, None, 200)
    if not p.can(Permission.READ_MEMBERS):
        rows = [{**r, "detail": {}, "member_id": None} for r in rows]
    elif rows:
        scope.audited("alerts.read", "alerts", {"status": chosen, "rows": len(rows)})
    return _render(request, p, "alerts.html", rows=rows, shown=chosen)


def dashboard_router() -> APIRouter:
    return router


async def needs_login(request: Request, _exc: Exception) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
