"""The FastAPI application and what its routes share (settings, database, clock, workspace)."""

from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Engine

from qunyun.config import Settings
from qunyun.domain import Clock
from qunyun.engage.links import MemberLinks
from qunyun.ingest.contacts import ContactLinker


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Clock
    workspace_id: int
    linker: ContactLinker | None = None
    links: MemberLinks | None = None  # member pages (H5) are served when set


def create_app(services: Services) -> FastAPI:
    from qunyun.api.hooks import hooks_router  # routes import Services from here
    from qunyun.api.member_pages import member_router
    from qunyun.api.wecom_hooks import wecom_router

    app = FastAPI(title="Qunyun", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.services = services
    # /hooks/wecom before /hooks/{source}: the generic route would take "wecom" as a source name.
    app.include_router(wecom_router(services))
    app.include_router(hooks_router(services))
    if services.links is not None:
        app.include_router(member_router(services, services.links))
    return app
