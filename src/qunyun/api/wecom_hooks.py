"""`GET|POST /hooks/wecom`: WeCom 客户联系 callbacks (docs/wecom.md).

GET answers the URL verification WeCom makes when the callback URL is saved.
POST verifies, decrypts and maps the event, stores its activities once by the
event id (WeCom retries a callback up to three times when no answer comes
within 5 s), and answers an empty 200 at once. An event whose member list is
missing or short is stored and flagged in the answer's log line; the periodic
`qunyun wecom reconcile` fills what it left out.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from qunyun.api.app import Services
from qunyun.connectors.wecom import (
    ACK,
    CallbackError,
    CallbackSettings,
    decrypt_callback,
    event_records,
    parse_event,
    verify_url,
)
from qunyun.domain import IdempotencyConflictError
from qunyun.errors import ConfigError
from qunyun.ingest.inbound import InboundEvents, fingerprint

_log = logging.getLogger(__name__)
Param = Annotated[str, Query(max_length=512)]


def _settings(services: Services) -> CallbackSettings | None:
    config = services.settings.wecom
    if not (config.callback_token and config.encoding_aes_key and config.corp_id):
        return None
    return CallbackSettings(config.callback_token, config.encoding_aes_key, config.corp_id)


def _configured(services: Services) -> CallbackSettings | None:
    try:
        return _settings(services)
    except ConfigError as exc:  # a malformed EncodingAESKey: log it and answer 404, not crash the app
        _log.error("WeCom callbacks disabled: %s", exc.message)
        return None


def _ack() -> Response:
    return Response(ACK.body, status_code=ACK.status, media_type=ACK.media_type)


def wecom_router(services: Services) -> APIRouter:
    router = APIRouter()
    settings = _configured(services)
    events = InboundEvents(services.engine, services.clock, services.workspace_id, services.linker)

    def _refusal(exc: CallbackError) -> Response:
        _log.warning("WeCom callback refused: %s", exc.message)
        return PlainTextResponse(exc.message, status_code=exc.http_status)

    @router.get("/hooks/wecom")
    def verify(msg_signature: Param, timestamp: Param, nonce: Param, echostr: Param) -> Response:
        if settings is None:
            return PlainTextResponse("WeCom callbacks are not configured", status_code=404)
        try:
            return PlainTextResponse(verify_url(settings, msg_signature, timestamp, nonce, echostr))
        except CallbackError as exc:
            return _refusal(exc)

    @router.post("/hooks/wecom")
    async def receive(request: Request, msg_signature: Param, timestamp: Param, nonce: Param) -> Response:
        if settings is None:
            return PlainTextResponse("WeCom callbacks are not configured", status_code=404)
        body = await request.body()
        try:
            fields = decrypt_callback(settings, body, msg_signature, timestamp, nonce)
            event = parse_event(fields)
        except CallbackError as exc:
            return _refusal(exc)
        records = event_records(event, f"contacts:{event.corp}")
        try:
            result = await run_in_threadpool(
                events.accept, "wecom", event.event_id, fingerprint(fields), records
            )
        except IdempotencyConflictError as exc:
            # Not WeCom's retry (that carries the same content): answer 200 so it stops, and say why.
            _log.error("WeCom event id reused with other content: %s", exc)
            return _ack()
        if event.needs_reconcile:
            _log.warning(
                "WeCom %s for chat %s lacks its member list: run `qunyun wecom reconcile`",
                event.update_detail,
                event.chat_id,
            )
        _log.info(
            "WeCom %s/%s: %s", event.event, event.change_type, "duplicate" if result.duplicate else "stored"
        )
        return Response(ACK.body, status_code=ACK.status, media_type=ACK.media_type)

    return router
