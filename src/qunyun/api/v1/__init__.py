"""The REST API, `/api/v1`: one router per area. The dashboard uses these same operations."""

from fastapi import APIRouter


def v1_router() -> APIRouter:
    from qunyun.api.v1.admin import router as admin
    from qunyun.api.v1.engagement import router as engagement
    from qunyun.api.v1.insights import router as insights
    from qunyun.api.v1.lists import router as lists
    from qunyun.api.v1.members import router as members
    from qunyun.api.v1.messages import router as messages
    from qunyun.api.v1.playbooks import router as playbooks
    from qunyun.api.v1.reports import router as reports
    from qunyun.api.v1.session import router as session

    router = APIRouter()
    for area in (session, members, messages, lists, insights, reports, playbooks, engagement, admin):
        router.include_router(area)
    return router
