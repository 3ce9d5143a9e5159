"""Idempotency-Key for API writes that cause an effect (enrol, award, issue, send).

The first answer to a key is kept; the same key with the same request gets
that answer again, with another request a conflict. The answer is a
convenience: the effect itself is made idempotent by passing a key derived
from the request's key down to the ledger, the coupon book or the enrolment,
so a crash between the effect and keeping the answer does not apply it twice.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from qunyun.errors import AuthError
from qunyun.store.auth_tables import api_requests
from qunyun.store.bulk import insert_or_skip

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def effect_key(workspace_id: int, key: str) -> str:
    """The key an effect is written under: the request's key, namespaced to the API."""
    return f"api:{workspace_id}:{key}"


def check_key(key: str | None) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise AuthError(
            f"this write needs an Idempotency-Key header (1-{MAX_KEY_LENGTH} printable characters)",
            code="auth.idempotency_key",
        )
    return key


def once(
    engine: Engine,
    *,
    workspace_id: int,
    operator_id: int,
    key: str,
    request_fingerprint: str,
    at: datetime,
    work: Callable[[], tuple[int, dict[str, Any]]],
) -> Answer:
    stored = _stored(engine, workspace_id, key, request_fingerprint)
    if stored is not None:
        return stored
    status, body = work()
    if not 200 <= status < 300:
        # A failed effect (a channel refused, a send deferred) is not an answer to keep: a retry
        # with the same key runs again, and the effect's own key still stops a double send.
        return Answer(status, body, False)
    with engine.begin() as conn:
        kept = conn.execute(
            insert_or_skip(conn, api_requests).values(
                workspace_id=workspace_id, idempotency_key=key, operator_id=operator_id,
                fingerprint=request_fingerprint, status_code=status, response=body, created_at=at,
            ).returning(api_requests.c.id)
        ).scalar()  # fmt: skip
    if kept is not None:
        return Answer(status, body, False)
    # Two requests with one key raced: both ran the same idempotent effect; answer as the first did.
    return _stored(engine, workspace_id, key, request_fingerprint) or Answer(status, body, False)


def _stored(engine: Engine, workspace_id: int, key: str, request_fingerprint: str) -> Answer | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(api_requests.c.fingerprint, api_requests.c.status_code, api_requests.c.response).where(
                api_requests.c.workspace_id == workspace_id, api_requests.c.idempotency_key == key
            )
        ).first()
    if row is None:
        return None
    if row.fingerprint != request_fingerprint:
        raise AuthError(
            f"the Idempotency-Key {key!r} was used for another request", code="auth.idempotency_conflict"
        )
    return Answer(int(row.status_code), dict(row.response), True)
