"""Who is asking, and may they: the dependencies every /api/v1 route and dashboard page declares.

Scripts send `Authorization: Bearer <token>`; the dashboard holds a session
cookie (HttpOnly, SameSite=Lax, Secure unless served over plain loopback
HTTP) and must echo the session's CSRF token in `X-CSRF-Token` on every
unsafe request, so a page on another site cannot post with the cookie.
"""

import secrets
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request

from qunyun.auth.accounts import Accounts, Principal
from qunyun.auth.roles import Permission

SESSION_COOKIE = "qy_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def current_principal(request: Request) -> Principal | None:
    """The principal of this request, or None (not logged in; a bad CSRF token is refused)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    accounts = accounts_of(request)
    header = request.headers.get("authorization", "")
    principal: Principal | None = None
    if header.lower().startswith("bearer "):
        principal = accounts.token_principal(header[7:].strip())
    elif (token := request.cookies.get(SESSION_COOKIE)) is not None:
        principal = accounts.session_principal(token)
        unsafe = principal is not None and request.method not in SAFE_METHODS
        if (
            unsafe
            and principal is not None
            and not _same(request.headers.get(CSRF_HEADER), principal.csrf_token)
        ):
            raise HTTPException(403, detail={"code": "auth.csrf", "message": "missing or wrong CSRF token"})
    request.state.principal = principal
    return principal


def _same(sent: str | None, expected: str | None) -> bool:
    return sent is not None and expected is not None and secrets.compare_digest(sent, expected)


def signed_in(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise HTTPException(
            401,
            detail={"code": "auth.required", "message": "log in or send an API token"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def need(permission: Permission) -> Callable[..., Principal]:
    """A dependency: the principal, if their role grants `permission` (403 otherwise)."""

    def check(principal: Principal = Depends(signed_in)) -> Principal:
        if not principal.can(permission):
            raise HTTPException(
                403,
                detail={
                    "code": "auth.forbidden",
                    "message": f"the {principal.role.value} role may not do this ({permission.value})",
                },
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the authorisation matrix test
    return check
