"""Accounts, API tokens and the audit log (admins only; anyone may make tokens for themselves)."""

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from qunyun.api.guard import accounts_of, need, signed_in
from qunyun.api.scope import scope_of
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.store.tables import audit_log

router = APIRouter(tags=["admin"])
ADMIN = need(Permission.ADMINISTER)


class NewOperator(BaseModel):
    username: str
    password: str
    role: str
    display_name: str | None = None
    locale: str = "zh-CN"


class NewToken(BaseModel):
    name: str


@router.get("/operators", summary="Operator accounts of this workspace")
def list_operators(request: Request, p: Principal = Depends(ADMIN)) -> dict[str, Any]:
    return {"operators": accounts_of(request).list_operators(p.workspace_id)}


@router.post("/operators", status_code=201, summary="Add an operator account")
def add_operator(body: NewOperator, request: Request, p: Principal = Depends(ADMIN)) -> dict[str, Any]:
    operator_id = accounts_of(request).add(
        p.workspace_id,
        body.username,
        body.password,
        body.role,
        display_name=body.display_name,
        locale=body.locale,
        actor=p.actor,
    )
    return {"id": operator_id, "username": body.username, "role": body.role}


@router.delete("/operators/{username}", summary="Remove an operator (ends their sessions and tokens)")
def remove_operator(username: str, request: Request, p: Principal = Depends(ADMIN)) -> dict[str, bool]:
    accounts_of(request).remove(p.workspace_id, username, actor=p.actor)
    return {"ok": True}


@router.get("/tokens", summary="Live API tokens of this workspace")
def list_tokens(request: Request, p: Principal = Depends(ADMIN)) -> dict[str, Any]:
    return {"tokens": accounts_of(request).tokens(p.workspace_id)}


@router.post("/tokens", status_code=201, summary="A new API token for yourself (its value is shown once)")
def create_token(body: NewToken, request: Request, p: Principal = Depends(signed_in)) -> dict[str, str]:
    token = accounts_of(request).create_token(p.workspace_id, p.username, body.name, actor=p.actor)
    return {"token": token, "name": body.name}


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
def revoke_token(token_id: int, request: Request, p: Principal = Depends(ADMIN)) -> dict[str, bool]:
    accounts_of(request).revoke_token(p.workspace_id, token_id, actor=p.actor)
    return {"ok": True}


@router.get("/audit", summary="The audit log, newest first")
def audit(
    request: Request,
    p: Principal = Depends(ADMIN),
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(None, description="Page on: the smallest id of the previous page"),
) -> dict[str, Any]:
    query = select(audit_log).where(audit_log.c.workspace_id == p.workspace_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    with scope_of(request, p).services.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))]
    return {"entries": rows}
