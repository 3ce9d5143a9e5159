"""The overview, alerts and the weekly report: what an operator reads every morning."""

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder

from qunyun.api.app import Services
from qunyun.api.guard import need
from qunyun.api.scope import Scope, scope_of
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.lifecycle.alert_views import acknowledge, list_alerts, open_alert_counts
from qunyun.lifecycle.views import StateFilter, distribution, last_as_of, last_refresh_id, transitions_between

router = APIRouter(tags=["insights"])
READ = need(Permission.READ_AGGREGATES)
OPERATE = need(Permission.OPERATE)


_CACHE_SIZE = 32


def _member_state_summary(
    cache: dict[Any, Any],
    conn: Any,
    workspace_id: int,
    generation: int,
    as_of: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Segment counts and flows change only when a refresh runs: kept per (workspace, last refresh)."""
    key = ("member_state", workspace_id, generation)
    if key not in cache:
        dist = distribution(conn, StateFilter(workspace_id))
        end = as_of or now  # no refresh yet: the flows are empty whatever the window
        week_ago = end - timedelta(days=7)
        cache[key] = {
            "members": sum(dist["segments"].values()),
            "segments": dist["segments"],
            "stages": dist["stages"],
            "entered_this_week": transitions_between(conn, workspace_id, week_ago, end),
            "entered_last_week": transitions_between(
                conn, workspace_id, week_ago - timedelta(days=7), week_ago
            ),
        }
        while len(cache) > _CACHE_SIZE:
            cache.pop(next(iter(cache)))
    result: dict[str, Any] = cache[key]
    return result


def warm(services: Services) -> None:
    """Compute the default workspace's overview summary ahead of the first page (seconds on 1M
    members); meant for a background thread at server start."""
    with services.engine.connect() as conn:
        generation = last_refresh_id(conn, services.workspace_id)
        as_of = last_as_of(conn, services.workspace_id)
        _member_state_summary(
            services.memo, conn, services.workspace_id, generation, as_of, services.clock.now()
        )


def overview(scope: Scope) -> dict[str, Any]:
    """Lifecycle and segment distribution, the flows between segments in the week up to the last
    refresh (and the week before), open alerts."""
    with scope.services.engine.connect() as conn:
        generation = last_refresh_id(conn, scope.workspace_id)
        as_of = last_as_of(conn, scope.workspace_id)
        state = _member_state_summary(
            scope.services.memo, conn, scope.workspace_id, generation, as_of, scope.now()
        )
        alerts = open_alert_counts(conn, scope.workspace_id)
    result: dict[str, Any] = jsonable_encoder({"as_of": as_of, **state, "open_alerts": alerts})
    return result


@router.get("/overview", summary="Segments, stages, this week's flows and open alerts")
def get_overview(request: Request, p: Principal = Depends(READ)) -> dict[str, Any]:
    return overview(scope_of(request, p))


@router.get("/alerts", summary="Alerts: negative messages, complaints, sensitive words, spam, negative rises")
def get_alerts(
    request: Request,
    p: Principal = Depends(READ),
    status: str = Query("open", pattern="^(open|acknowledged|all)$"),
    kind: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
) -> dict[str, Any]:
    scope = scope_of(request, p)
    with scope.services.engine.connect() as conn:
        rows = list_alerts(conn, p.workspace_id, status, kind, limit)
    # Alert details quote what members wrote: personal data, withheld from viewers, audited for others.
    if not p.can(Permission.READ_MEMBERS):
        rows = [{**r, "detail": {}, "member_id": None} for r in rows]
    elif rows:
        scope.audited("alerts.read", "alerts", {"status": status, "kind": kind, "rows": len(rows)})
    return {"alerts": jsonable_encoder(rows)}


@router.post("/alerts/{alert_id}/acknowledge", summary="Mark an alert as handled")
def ack(alert_id: int, request: Request, p: Principal = Depends(OPERATE)) -> dict[str, Any]:
    scope = scope_of(request, p)
    with scope.services.engine.begin() as conn:
        changed = acknowledge(conn, p.workspace_id, alert_id)
        scope.audit(conn, "alert.acknowledge", f"alert:{alert_id}", {"changed": changed})
    return {"id": alert_id, "status": "acknowledged", "changed": changed}
