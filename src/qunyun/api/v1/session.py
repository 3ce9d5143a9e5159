"""Log in (a dashboard session cookie), log out, and who am I."""

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from qunyun.api.guard import SESSION_COOKIE, accounts_of, signed_in
from qunyun.auth.accounts import Principal

router = APIRouter(tags=["session"])


class Credentials(BaseModel):
    username: str
    password: str


def _secure(request: Request) -> bool:
    # Plain HTTP is only tolerated on loopback (the demo, tests); anywhere else the cookie is Secure.
    return request.url.scheme == "https" or request.url.hostname not in (
        "127.0.0.1",
        "localhost",
        "testserver",
    )


def me_dict(principal: Principal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "workspace_id": principal.workspace_id,
        "locale": principal.locale,
        "csrf_token": principal.csrf_token,
    }


@router.post("/session", summary="Log in: opens a dashboard session (cookie) and returns its CSRF token")
def log_in(credentials: Credentials, request: Request, response: Response) -> dict[str, Any]:
    opened = accounts_of(request).log_in(credentials.username, credentials.password)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        # Relative lifetime: the server's clock (a fixed one in tests and demos) may not be the browser's.
        max_age=int(accounts_of(request).session_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    return me_dict(opened.principal)


@router.delete("/session", summary="Log out")
def log_out(request: Request, response: Response, _p: Principal = Depends(signed_in)) -> dict[str, bool]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts_of(request).log_out(token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/me", summary="The signed-in operator")
def me(principal: Principal = Depends(signed_in)) -> dict[str, Any]:
    return me_dict(principal)
