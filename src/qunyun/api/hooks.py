"""`POST /hooks/{source}`: purchases and custom events from a shop or CRM, signed and deduplicated.

The request body is one event: `id` (the sender's event id, the idempotency
key) plus the fields of the generic import format (docs/import-format.md):
`occurred_at`, `member`, `kind`, and optionally `community` (default: the
source name), `platform` (default `web`), `nickname`, `text`, `amount`,
`currency` (default CNY), `reference_id`, `reply_to`, `phone`, `union_id`.

Answers: 200 `{"status": "stored" | "duplicate", "activities": n}`; 401 bad or
missing signature, stale timestamp; 404 unknown source (no secret configured);
409 the same id with different content; 413 body too large; 415 not JSON;
422 a field is wrong (named in `field`). Nothing is stored unless the whole
event is valid.
"""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qunyun.api.app import Services
from qunyun.connectors.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from qunyun.domain import IdempotencyConflictError, Platform
from qunyun.ingest.inbound import InboundEvents, fingerprint
from qunyun.ingest.rows import RowDefaults, RowProblem, parse_or_problem

_MAX_ID = 200


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _parse(body: bytes) -> dict[str, Any] | JSONResponse:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _error(415, f"body is not JSON: {exc}")
    if not isinstance(payload, dict):
        return _error(422, "the body must be a JSON object", field="(body)")
    event_id = payload.get("id")
    if not isinstance(event_id, str | int) or not str(event_id).strip() or len(str(event_id)) > _MAX_ID:
        return _error(422, f"`id` must be a non-empty string of at most {_MAX_ID} characters", field="id")
    return payload


def _declared_too_big(declared: str | None, limit: int) -> JSONResponse | None:
    """Refuse before reading: a malformed or too large Content-Length."""
    if declared is None:
        return None
    if not declared.isdigit():
        return _error(400, "Content-Length is not a number")
    return _error(413, f"body over {limit} bytes") if int(declared) > limit else None


def hooks_router(services: Services) -> APIRouter:
    router = APIRouter()
    config = services.settings.hooks
    events = InboundEvents(services.engine, services.clock, services.workspace_id, services.linker)

    @router.post("/hooks/{source}")
    async def receive(source: str, request: Request) -> JSONResponse:
        secret = config.secrets.get(source)
        if not secret:
            return _error(404, f"unknown source {source!r} (no secret in hooks.secrets)")
        oversized = _declared_too_big(request.headers.get("content-length"), config.max_body_bytes)
        if oversized is not None:
            return oversized
        body = await request.body()
        if len(body) > config.max_body_bytes:
            return _error(413, f"body over {config.max_body_bytes} bytes")
        try:
            verify(
                secret,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                body,
                services.clock.now().timestamp(),
                config.tolerance_seconds,
            )
        except SignatureError as exc:
            return _error(401, str(exc))
        payload = _parse(body)
        if isinstance(payload, JSONResponse):
            return payload
        # The database is synchronous: keep it off the event loop.
        return await run_in_threadpool(_store, source, payload)

    def _store(source: str, payload: dict[str, Any]) -> JSONResponse:
        fields = {k: v for k, v in payload.items() if k != "id"}
        defaults = RowDefaults(platform=Platform.WEB, community=source)
        parsed = parse_or_problem(fields, 1, defaults, unit="event")
        if isinstance(parsed, RowProblem):
            return _error(422, parsed.message, field=parsed.field)
        try:
            result = events.accept(source, str(payload["id"]), fingerprint(payload), [parsed])
        except IdempotencyConflictError as exc:
            return _error(409, str(exc), field="id")
        status = "duplicate" if result.duplicate else "stored"
        return JSONResponse({"status": status, "activities": result.activities})

    return router
