"""Members: the searchable list, one member's page, and what an operator does to a member."""

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qunyun.api.guard import need
from qunyun.api.member_view import member_page, member_rows
from qunyun.api.scope import Scope, scope_of
from qunyun.auth.accounts import Principal
from qunyun.auth.idempotency import Answer, check_key, effect_key, fingerprint, once
from qunyun.auth.roles import Permission
from qunyun.domain import Segment, Stage
from qunyun.errors import NotFoundError, QunyunError
from qunyun.journeys.member_record import TAG_MAX, add_tag, remove_tag
from qunyun.journeys.scan import record_opt_out
from qunyun.lifecycle.profile import find_member
from qunyun.lifecycle.views import StateFilter
from qunyun.store.erasure import erase_member
from qunyun.store.member_activity import require_member

router = APIRouter(tags=["members"])
READ = need(Permission.READ_MEMBERS)
OPERATE = need(Permission.OPERATE)
EXPORT = need(Permission.EXPORT_MEMBERS)
ADMIN = need(Permission.ADMINISTER)


class TagBody(BaseModel):
    tag: str = Field(min_length=1, max_length=TAG_MAX)


class EnrolBody(BaseModel):
    playbook: str


class PointsBody(BaseModel):
    points: int = Field(gt=0, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)


class CouponBody(BaseModel):
    campaign: str


def _searched_member(scope: Scope, q: str | None) -> int | None:
    """`q` as a member id ("42") or an identity ("telegram:u42"); -1 (nobody) if it names no one."""
    if not q or not q.strip():
        return None
    try:
        with scope.services.engine.connect() as conn:
            return find_member(conn, scope.workspace_id, q.strip())
    except NotFoundError:
        return -1


def member_filter(
    scope: Scope,
    segment: Segment | None,
    stage: Stage | None,
    community: str | None,
    platform: str | None,
    tag: str | None,
    q: str | None,
) -> StateFilter:
    principal = scope.principal
    member_id = _searched_member(scope, q)
    return StateFilter(
        principal.workspace_id, segment=segment, stage=stage, community=community, platform=platform,
        tag=tag or None, member_id=member_id,
    )  # fmt: skip


@router.get("/members", summary="Members with state and scores: filtered, sorted, one page at a time")
def list_members(
    request: Request,
    p: Principal = Depends(READ),
    segment: Segment | None = None,
    stage: Stage | None = None,
    community: str | None = None,
    platform: str | None = None,
    tag: str | None = None,
    q: str | None = Query(None, description="A member id, or an identity as platform:external_id"),
    sort: str = Query("id", pattern="^(id|value)$"),
    page: int = Query(1, ge=1, le=100_000),
    per_page: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    scope = scope_of(request, p)
    flt = member_filter(scope, segment, stage, community, platform, tag, q)
    rows, more = member_rows(scope, flt, page, per_page, by_value=sort == "value")
    scope.audited("members.list", "members", {"page": page, "filter": request.url.query})
    return {"page": page, "per_page": per_page, "has_more": more, "members": rows}


@router.get(
    "/members/{member_id}", summary="One member: profile, identities, tags, timeline, points, playbooks"
)
def get_member(member_id: int, request: Request, p: Principal = Depends(READ)) -> dict[str, Any]:
    scope = scope_of(request, p)
    page = member_page(scope, member_id)
    scope.audited("member.read", f"member:{member_id}")
    return page


@router.post("/members/{member_id}/tags", summary="Tag a member")
def tag_member(
    member_id: int, body: TagBody, request: Request, p: Principal = Depends(OPERATE)
) -> dict[str, Any]:
    scope = scope_of(request, p)
    with scope.services.engine.begin() as conn:
        require_member(conn, p.workspace_id, member_id)
        added = add_tag(conn, p.workspace_id, member_id, body.tag, f"operator:{p.username}", scope.now())
        scope.audit(conn, "member.tag", f"member:{member_id}", {"tag": body.tag, "added": added})
    return {"member_id": member_id, "tag": body.tag, "added": added}


@router.delete("/members/{member_id}/tags/{tag}", summary="Remove a tag from a member")
def untag_member(
    member_id: int, tag: str, request: Request, p: Principal = Depends(OPERATE)
) -> dict[str, Any]:
    scope = scope_of(request, p)
    with scope.services.engine.begin() as conn:
        require_member(conn, p.workspace_id, member_id)
        removed = remove_tag(conn, member_id, tag)
        scope.audit(conn, "member.untag", f"member:{member_id}", {"tag": tag, "removed": removed})
    return {"member_id": member_id, "tag": tag, "removed": removed}


@router.post("/members/{member_id}/opt-out", summary="Opt a member out of every playbook message")
def opt_out(member_id: int, request: Request, p: Principal = Depends(OPERATE)) -> dict[str, Any]:
    scope = scope_of(request, p)
    with scope.services.engine.begin() as conn:
        require_member(conn, p.workspace_id, member_id)
        changed = record_opt_out(conn, p.workspace_id, member_id, scope.now(), "operator", p.username)
        scope.audit(conn, "member.opt_out", f"member:{member_id}", {"changed": changed})
    return {"member_id": member_id, "opted_out": True, "changed": changed}


def run_effect(request: Request, p: Principal, key: str | None, body: BaseModel, work: Any) -> JSONResponse:
    """Runs `work(effect_key)` once per Idempotency-Key and answers as the first time."""
    scope = scope_of(request, p)
    checked = check_key(key)
    answer: Answer = once(
        scope.services.engine,
        workspace_id=p.workspace_id,
        operator_id=p.operator_id,
        key=checked,
        request_fingerprint=fingerprint(request.method, request.url.path, body.model_dump()),
        at=scope.now(),
        work=lambda: work(scope, effect_key(p.workspace_id, checked)),
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


IdempotencyKey = Header(
    None, alias="Idempotency-Key", description="Required: replays answer as the first time"
)


@router.post("/members/{member_id}/enrolments", summary="Enrol a member in a playbook (Idempotency-Key)")
def enrol(
    member_id: int, body: EnrolBody, request: Request, p: Principal = Depends(OPERATE),
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    def work(scope: Scope, _key: str) -> tuple[int, dict[str, Any]]:
        # Enrolment is idempotent by itself: one live enrolment per member and playbook.
        with scope.services.engine.connect() as conn:
            require_member(conn, p.workspace_id, member_id)
        count = scope.journeys().enrol_members(body.playbook, [member_id], p.actor)
        with scope.services.engine.begin() as conn:
            scope.audit(
                conn, "member.enrol", f"member:{member_id}", {"playbook": body.playbook, "new": count}
            )
        return 201, {"member_id": member_id, "playbook": body.playbook, "enrolled": count}

    return run_effect(request, p, idempotency_key, body, work)


@router.post("/members/{member_id}/points", summary="Award points to a member (Idempotency-Key)")
def award_points(
    member_id: int, body: PointsBody, request: Request, p: Principal = Depends(OPERATE),
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    def work(scope: Scope, key: str) -> tuple[int, dict[str, Any]]:
        with scope.services.engine.connect() as conn:
            require_member(conn, p.workspace_id, member_id)
        ledger = scope.engagement().ledger
        posted = ledger.earn(
            member_id, body.points, key=key, detail={"reason": body.reason, "by": p.username}
        )
        with scope.services.engine.begin() as conn:
            scope.audit(conn, "member.points", f"member:{member_id}", {"points": body.points, "key": key})
        return 201, {"member_id": member_id, "points": body.points, "balance": ledger.balance(member_id),
                     "replayed": bool(getattr(posted, "replayed", False))}  # fmt: skip

    return run_effect(request, p, idempotency_key, body, work)


@router.post("/members/{member_id}/coupons", summary="Issue a coupon to a member (Idempotency-Key)")
def issue_coupon(
    member_id: int, body: CouponBody, request: Request, p: Principal = Depends(OPERATE),
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    def work(scope: Scope, key: str) -> tuple[int, dict[str, Any]]:
        with scope.services.engine.connect() as conn:
            require_member(conn, p.workspace_id, member_id)
        coupon = scope.engagement().coupons.issue(body.campaign, member_id, key=key)
        with scope.services.engine.begin() as conn:
            scope.audit(conn, "member.coupon", f"member:{member_id}", {"campaign": body.campaign, "key": key})
        return 201, {"member_id": member_id, "campaign": body.campaign, "code": coupon.code,
                     "expires_at": coupon.expires_at.isoformat()}  # fmt: skip

    return run_effect(request, p, idempotency_key, body, work)


@router.get("/members/{member_id}/export", summary="Everything stored about a member (PIPL / GDPR access)")
def export_member(member_id: int, request: Request, p: Principal = Depends(EXPORT)) -> JSONResponse:
    scope = scope_of(request, p)
    page = member_page(scope, member_id, reveal=True, timeline_limit=None)
    scope.audited("member.export", f"member:{member_id}")
    return JSONResponse(
        page,
        headers={"Content-Disposition": f'attachment; filename="member-{member_id}.json"'},
    )


class EraseBody(BaseModel):
    confirm: int = Field(description="The member id again: erasure cannot be undone")


@router.post(
    "/members/{member_id}/erase", summary="Erase a member's personal data (PIPL / GDPR); irreversible"
)
def erase(member_id: int, body: EraseBody, request: Request, p: Principal = Depends(ADMIN)) -> dict[str, Any]:
    scope = scope_of(request, p)
    with scope.services.engine.begin() as conn:
        require_member(conn, p.workspace_id, member_id)  # another workspace's member: 404 first
        if body.confirm != member_id:
            raise QunyunError("confirm with the same member id", code="member.erase_unconfirmed")
        report = erase_member(conn, p.workspace_id, member_id, scope.now())
        scope.audit(
            conn, "member.erase", f"member:{member_id}", {"identities": report.identities, **report.counts}
        )
    return {
        "member_id": member_id,
        "erased": True,
        "identities": report.identities,
        "messages": report.messages,
    }
