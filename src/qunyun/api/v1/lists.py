"""Lists that drive work (worth waking, churn risk, KOC, clean-up), as JSON or CSV/XLSX downloads."""

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder

from qunyun.api.exports import to_csv, to_xlsx
from qunyun.api.guard import need
from qunyun.api.scope import Scope, scope_of
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.errors import NotFoundError
from qunyun.lifecycle.work_lists import WORK_LISTS

router = APIRouter(tags=["lists"])
READ = need(Permission.READ_MEMBERS)
EXPORT = need(Permission.EXPORT_MEMBERS)
MAX_ROWS = 100_000


def work_list(scope: Scope, name: str, limit: int) -> list[dict[str, Any]]:
    maker = WORK_LISTS.get(name)
    if maker is None:
        raise NotFoundError(f"no list {name!r} (use one of {', '.join(WORK_LISTS)})", code="list.not_found")
    with scope.services.engine.connect() as conn:
        return maker(conn, scope.workspace_id, limit, scope.services.settings, scope.now())


@router.get("/lists/{name}", summary="A work list: worth-waking, churn-risk, koc or cleanup")
def get_list(
    name: str, request: Request, p: Principal = Depends(READ), limit: int = Query(100, ge=1, le=5000)
) -> dict[str, Any]:
    scope = scope_of(request, p)
    rows = work_list(scope, name, limit)
    scope.audited("list.read", f"list:{name}", {"rows": len(rows)})
    return {"name": name, "members": jsonable_encoder(rows)}


@router.get("/lists/{name}/export", summary="A work list as a CSV or XLSX download")
def export_list(
    name: str,
    request: Request,
    p: Principal = Depends(EXPORT),
    format: Literal["csv", "xlsx"] = "csv",
    limit: int = Query(MAX_ROWS, ge=1, le=MAX_ROWS),
) -> Response:
    scope = scope_of(request, p)
    rows = work_list(scope, name, limit)
    scope.audited("list.export", f"list:{name}", {"rows": len(rows), "format": format})
    if format == "xlsx":
        body = to_xlsx(rows, name)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, media = to_csv(rows), "text/csv; charset=utf-8"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    )
