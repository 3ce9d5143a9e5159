"""The FastAPI application and what its routes share (settings, database, clock, workspace)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from qunyun.config import Settings
from qunyun.domain import Clock
from qunyun.engage.links import MemberLinks
from qunyun.errors import AuthError, NotFoundError, QunyunError
from qunyun.ingest.contacts import ContactLinker
from qunyun.privacy import PiiProtector

API_PREFIX = "/api/v1"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Clock
    workspace_id: int
    linker: ContactLinker | None = None
    links: MemberLinks | None = None  # member pages (H5) are served when set
    protector: PiiProtector | None = None  # contacts are shown masked (revealed in exports) when set
    mirror_path: Path | None = None  # the analytics mirror: KPIs, charts and reports need it
    # What this server keeps between requests (summaries that change only with a refresh).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)


def _status_of(error: QunyunError) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if error.code.startswith("analytics."):
        return 503  # the mirror is busy (a refresh holds it) or not configured: try again later
    if isinstance(error, AuthError):
        special = {"auth.bad_credentials": 401, "auth.forbidden": 403, "auth.idempotency_key": 400}
        return special.get(error.code, 422 if error.code in ("auth.weak_password", "auth.bad_role") else 409)
    return 422


async def _qunyun_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QunyunError)
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=_status_of(exc))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    # Our routes raise HTTPException with a {code, message} detail; answer with that object itself.
    assert isinstance(exc, HTTPException)
    body = exc.detail if isinstance(exc.detail, dict) else {"code": "http", "message": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def warm_up(app: FastAPI) -> None:
    """Start computing what the first dashboard visit needs (overview counts, last week's numbers)
    in background threads, so that visit does not wait for them."""
    import threading

    from qunyun.api.v1.insights import warm
    from qunyun.reports.weeks import last_complete_week

    services: Services = app.state.services
    threading.Thread(target=warm, args=(services,), daemon=True).start()
    week = last_complete_week(services.clock.now(), services.settings.zone)
    app.state.week_data.peek(services.workspace_id, week)


def create_app(services: Services, *, dashboard: bool = False) -> FastAPI:
    """The hook endpoints always; the REST API and (with `dashboard`) the operator's dashboard."""
    from qunyun.api.hooks import hooks_router  # routes import Services from here
    from qunyun.api.member_pages import member_router
    from qunyun.api.v1 import v1_router
    from qunyun.api.wecom_hooks import wecom_router
    from qunyun.api.week_data import WeekData
    from qunyun.auth.accounts import Accounts

    app = FastAPI(
        title="Qunyun",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.services = services
    app.state.accounts = Accounts(services.engine, services.clock)
    app.state.week_data = WeekData(services.engine, services.settings, services.clock, services.mirror_path)
    app.add_exception_handler(QunyunError, _qunyun_error)
    app.add_exception_handler(HTTPException, _http_error)
    # /hooks/wecom before /hooks/{source}: the generic route would take "wecom" as a source name.
    # Platform callbacks authenticate by signature, not by operator role: documented in
    # docs/webhooks.md and docs/wecom.md, kept out of the operators' API schema.
    app.include_router(wecom_router(services), include_in_schema=False)
    app.include_router(hooks_router(services), include_in_schema=False)
    if services.links is not None:
        app.include_router(member_router(services, services.links))
    app.include_router(v1_router(), prefix=API_PREFIX)
    if dashboard:
        from qunyun.api.dashboard import NeedsLoginError, dashboard_router, needs_login

        app.add_exception_handler(NeedsLoginError, needs_login)
        app.include_router(dashboard_router())
    return app
