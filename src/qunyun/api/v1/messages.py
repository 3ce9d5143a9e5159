"""Send one message through a configured channel (Idempotency-Key): the API's `qunyun send`."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qunyun.api.guard import need
from qunyun.api.scope import Scope
from qunyun.api.v1.members import IdempotencyKey, run_effect
from qunyun.auth.accounts import Principal
from qunyun.auth.roles import Permission
from qunyun.connectors import registry
from qunyun.connectors.base import OutboundMessage, Recipient
from qunyun.errors import NotFoundError
from qunyun.store.sends import SqlSendLog

router = APIRouter(tags=["messages"])
OPERATE = need(Permission.OPERATE)


class MessageBody(BaseModel):
    channel: str = Field(
        description="A configured channel: matrix, telegram, slack, discord, wecom, email, …"
    )
    address: str = Field(min_length=1, max_length=200, description="Chat, room, user id or email address")
    text: str = Field(min_length=1, max_length=20_000)
    direct: bool = False
    subject: str | None = Field(None, max_length=200)


@router.post("/messages", summary="Send a message through a channel, once per Idempotency-Key")
def send(
    body: MessageBody,
    request: Request,
    p: Principal = Depends(OPERATE),
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:
    if body.channel not in registry.names():
        raise NotFoundError(
            f"no channel {body.channel!r} (one of {', '.join(registry.names())})", code="channel.not_found"
        )

    def work(scope: Scope, key: str) -> tuple[int, dict[str, Any]]:
        services = scope.services
        log = SqlSendLog(services.engine, scope.workspace_id, services.clock)
        channel = registry.build(body.channel, services.settings, log, services.clock)
        delivery = channel.send(
            Recipient(body.address, direct=body.direct), OutboundMessage(body.text, subject=body.subject), key
        )
        with services.engine.begin() as conn:
            scope.audit(
                conn, "message.send", f"{body.channel}:{body.address}",
                {"key": key, "status": delivery.status.value},
            )  # fmt: skip
        answer = {
            "channel": delivery.channel,
            "status": delivery.status.value,
            "platform_id": delivery.platform_id,
            "attempts": delivery.attempts,
            "error": delivery.error,
            "retry_after": delivery.retry_after,
        }
        return (201 if delivery.delivered else 502), answer

    return run_effect(request, p, idempotency_key, body, work)
