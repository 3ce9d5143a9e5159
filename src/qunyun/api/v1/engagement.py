"""Engagement at a glance: the month's leaderboard, coupon campaigns, surveys with NPS and answers."""

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder

from qunyun.api.guard import need
from qunyun.api.scope import Scope, scope_of
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.engage.leaderboard import ScoreRule, leaderboard
from qunyun.feedback.results import survey_results
from qunyun.feedback.surveys import list_surveys

router = APIRouter(tags=["engagement"])
READ = need(Permission.READ_AGGREGATES)
READ_MEMBERS = need(Permission.READ_MEMBERS)


def month_leaderboard(scope: Scope, month: str | None, top: int) -> dict[str, Any]:
    settings = scope.services.settings
    conf, zone = settings.leaderboard, settings.zone
    period = month or scope.now().astimezone(zone).strftime("%Y-%m")
    rule = ScoreRule(conf.weights, conf.acknowledgement, conf.centrality_weight)
    standings = leaderboard(scope.services.engine, scope.workspace_id, period, zone, rule=rule, top=top)
    return {"month": period, "standings": [dataclasses.asdict(s) for s in standings]}


def campaigns(scope: Scope) -> list[dict[str, Any]]:
    return scope.engagement().coupons.campaign_stats()


def surveys(scope: Scope) -> list[dict[str, Any]]:
    """Every survey's results; free-text answers (what members wrote) only for member-level roles."""
    personal = scope.principal.can(Permission.READ_MEMBERS)
    with scope.services.engine.connect() as conn:
        out = []
        for survey in list_surveys(conn, scope.workspace_id):
            answers = survey_results(conn, scope.workspace_id, survey.slug).as_dict()
            if not personal:
                for question in answers.get("questions", []):
                    question.pop("texts", None)
            out.append(answers)
    result: list[dict[str, Any]] = jsonable_encoder(out)
    return result


@router.get("/leaderboard", summary="The month's interaction leaderboard (members named: analyst and up)")
def get_leaderboard(
    request: Request,
    p: Principal = Depends(READ_MEMBERS),
    month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
    top: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    scope = scope_of(request, p)
    board = month_leaderboard(scope, month, top)
    scope.audited("leaderboard.read", f"month:{board['month']}")
    return board


@router.get("/coupons", summary="Coupon campaigns: issued, redeemed, expired")
def get_campaigns(request: Request, p: Principal = Depends(READ)) -> dict[str, Any]:
    return {"campaigns": jsonable_encoder(campaigns(scope_of(request, p)))}


@router.get("/surveys", summary="Surveys with response rate, NPS, satisfaction and answer counts")
def get_surveys(request: Request, p: Principal = Depends(READ)) -> dict[str, Any]:
    return {"surveys": surveys(scope_of(request, p))}
