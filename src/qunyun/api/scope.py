"""The workspace a request acts in: its services, built for the principal's workspace only.

Every query of the API and the dashboard goes through a `Scope`, so an id
from another workspace is simply not found (404), never a different answer.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Connection

from qunyun.api.app import Services
from qunyun.api.guard import signed_in
from qunyun.auth.accounts import Principal
from qunyun.engage.service import Engagement
from qunyun.journeys.service import Journeys
from qunyun.store import audit


@dataclass
class Scope:
    services: Services
    principal: Principal

    @property
    def workspace_id(self) -> int:
        return self.principal.workspace_id

    def now(self) -> datetime:
        return self.services.clock.now()

    def journeys(self) -> Journeys:
        services, workspace_id = self.services, self.workspace_id
        links = services.links
        base = services.settings.h5.base_url.rstrip("/")

        def link(member_id: int, target: str, expires: datetime) -> str:
            assert links is not None  # checked below: no link maker, no survey links
            return f"{base}/m/{links.issue(workspace_id, member_id, target, expires)}"

        return Journeys(
            services.settings, services.engine, services.clock, workspace_id, links=link if links else None
        )

    def engagement(self) -> Engagement:
        return Engagement(
            self.services.settings, self.services.engine, self.services.clock, self.workspace_id
        )

    def audit(self, conn: Connection, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
        audit.record(
            conn,
            workspace_id=self.workspace_id,
            at=self.now(),
            actor=self.principal.actor,
            action=action,
            target=target,
            detail=detail,
        )

    def audited(self, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
        """An audit row in its own transaction: for reads of personal data."""
        with self.services.engine.begin() as conn:
            self.audit(conn, action, target, detail)


def scope_of(request: Request, principal: Principal) -> Scope:
    services: Services = request.app.state.services
    return Scope(services, principal)


def any_scope(request: Request, principal: Principal = Depends(signed_in)) -> Scope:
    return scope_of(request, principal)
