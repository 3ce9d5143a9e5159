"""Playbooks: list, read, enable/disable, save a new version, validate, dry-run, results."""

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from qunyun.api.guard import need
from qunyun.api.scope import scope_of
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.errors import QunyunError
from qunyun.journeys.preview import dry_run
from qunyun.journeys.results import playbook_results
from qunyun.journeys.source import parse_playbook

router = APIRouter(tags=["playbooks"])
READ = need(Permission.READ_AGGREGATES)
READ_MEMBERS = need(Permission.READ_MEMBERS)
OPERATE = need(Permission.OPERATE)
YamlBody = Body(..., media_type="application/yaml", description="The playbook YAML")


def _locale(p: Principal, lang: str | None) -> str:
    return {"zh": "zh-CN", "en": "en"}.get(lang or "", p.locale)


@router.get("/playbooks", summary="Built-in and saved playbooks, and how many each has running")
def list_playbooks(request: Request, p: Principal = Depends(READ), lang: str | None = None) -> dict[str, Any]:
    journeys = scope_of(request, p).journeys()
    running = journeys.running_counts()
    locale = _locale(p, lang)
    return {
        "playbooks": [
            {**e.summary(locale), "running": running.get(e.name, 0)} for e in journeys.catalog.entries()
        ]
    }


@router.get("/playbooks/{name}", summary="One playbook: its state and YAML")
def get_playbook(
    name: str, request: Request, p: Principal = Depends(READ), lang: str | None = None
) -> dict[str, Any]:
    entry = scope_of(request, p).journeys().catalog.get(name)
    return {**entry.summary(_locale(p, lang)), "source": entry.source}


@router.post("/playbooks/{name}/enable", summary="Enable a playbook (a built-in is saved as version 1)")
def enable(name: str, request: Request, p: Principal = Depends(OPERATE)) -> dict[str, Any]:
    entry = scope_of(request, p).journeys().enable(name, p.actor)
    return entry.summary(p.locale)


@router.post("/playbooks/{name}/disable", summary="Disable a playbook (running members pause)")
def disable(name: str, request: Request, p: Principal = Depends(OPERATE)) -> dict[str, Any]:
    entry = scope_of(request, p).journeys().disable(name, p.actor)
    return entry.summary(p.locale)


@router.put("/playbooks/{name}", summary="Save edited YAML as the playbook's next version")
def save(
    name: str, request: Request, p: Principal = Depends(OPERATE), source: str = YamlBody
) -> dict[str, Any]:
    parsed = parse_playbook(source, f"{name}.yaml")
    if parsed.name != name:
        raise QunyunError(
            f"the YAML names playbook {parsed.name!r}, not {name!r}", code="playbook.name_mismatch"
        )
    entry = scope_of(request, p).journeys().catalog.save(source, f"api:{name}", p.actor)
    return entry.summary(p.locale)


@router.post("/playbooks/validate", summary="Check playbook YAML; errors name line and field")
def validate(p: Principal = Depends(READ), source: str = YamlBody) -> dict[str, Any]:
    try:
        parsed = parse_playbook(source, "playbook.yaml")
    except QunyunError as error:
        return {"valid": False, "code": error.code, "message": error.message}
    return {"valid": True, "name": parsed.name, "trigger": parsed.trigger.kind}


@router.post(
    "/playbooks/{name}/dry-run", summary="Who would enter now and what each would get; nothing is sent"
)
def preview(
    name: str, request: Request, p: Principal = Depends(READ_MEMBERS), limit: int = Query(20, ge=1, le=200),
    lang: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    scope = scope_of(request, p)
    entry = scope.journeys().catalog.get(name)
    with scope.services.engine.connect() as conn:
        plans = dry_run(
            conn, p.workspace_id, entry, scope.now(), _locale(p, lang), scope.services.settings.zone, limit
        )
    scope.audited("playbook.dry_run", f"playbook:{name}", {"shown": len(plans)})
    return {"plans": [plan.as_dict() for plan in plans]}


@router.get("/playbooks/{name}/results", summary="Treated vs control: differences with 95% intervals")
def results(name: str, request: Request, p: Principal = Depends(READ)) -> dict[str, Any]:
    scope = scope_of(request, p)
    journeys = scope.journeys()
    return playbook_results(scope.services.engine, journeys.catalog, name, scope.now()).as_dict()
