"""Inbound webhooks through the real FastAPI app (ASGI test client), on SQLite and PostgreSQL.

Signatures are made here with hmac directly, not with our signing module, so
a mistake there cannot hide itself.
"""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from conftest import T0
from helpers import stored_activities
from qunyun.api import Services, create_app
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.store.tables import activities, communities, identities, inbound_events

SECRET = "s3cret-商城"
ORDER = {
    "id": "evt_1001",
    "occurred_at": "2026-06-01T20:15:00+08:00",
    "member": "shop-user-9",
    "kind": "purchase",
    "amount": "99.00",
    "currency": "CNY",
    "reference_id": "order-1001",
}


def signed(payload: Any, at: float, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(at))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Qunyun-Timestamp": stamp,
        "X-Qunyun-Signature": f"v1={digest}",
        "Content-Type": "application/json",
    }
    return body, headers


@pytest.fixture
def client(engine: Engine, workspace_id: int) -> Iterator[TestClient]:
    settings = load_settings(None, environ={"QUNYUN_HOOKS__SECRETS": f"shop={SECRET}"})
    app = create_app(Services(settings, engine, FixedClock(T0), workspace_id))
    with TestClient(app) as test_client:
        yield test_client


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_signed_purchase_is_stored_once(client: TestClient, engine: Engine) -> None:
    body, headers = signed(ORDER, T0.timestamp())
    first = client.post("/hooks/shop", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "stored", "activities": 1}
    # The shop retries (its own timeout): same id, same content, re-serialised with other key order.
    body2, headers2 = signed(dict(reversed(list(ORDER.items()))), T0.timestamp() + 5)
    again = client.post("/hooks/shop", content=body2, headers=headers2)
    assert again.json() == {"status": "duplicate", "activities": 0}
    rows = stored_activities(
        engine,
        [
            communities.c.external_id,
            identities.c.platform,
            identities.c.external_id,
            activities.c.kind,
            activities.c.amount_minor,
            activities.c.currency,
            activities.c.reference_id,
        ],
        [activities.c.id],
    )
    assert rows == [("shop", "web", "shop-user-9", "purchase", 9900, "CNY", "order-1001")]
    changed = dict(ORDER, amount="199.00")
    body3, headers3 = signed(changed, T0.timestamp())
    conflict = client.post("/hooks/shop", content=body3, headers=headers3)
    assert conflict.status_code == 409
    assert _count(engine, activities) == 1


@pytest.mark.parametrize(
    ("mutate", "status", "words"),
    [
        (lambda b, h: (b, {**h, "X-Qunyun-Signature": "v1=" + "0" * 64}), 401, "does not match"),
        (lambda b, h: (b + b" ", h), 401, "does not match"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Qunyun-Timestamp"}), 401, "missing"),
    ],
)
def test_bad_signatures_are_refused(
    client: TestClient, engine: Engine, mutate: Any, status: int, words: str
) -> None:
    body, headers = mutate(*signed(ORDER, T0.timestamp()))
    answer = client.post("/hooks/shop", content=body, headers=headers)
    assert answer.status_code == status
    assert words in answer.json()["error"]
    assert _count(engine, activities) == 0


def test_stale_or_future_timestamps_are_refused(client: TestClient) -> None:
    for skew in (-301, 301):
        body, headers = signed(ORDER, (T0 + timedelta(seconds=skew)).timestamp())
        answer = client.post("/hooks/shop", content=body, headers=headers)
        assert answer.status_code == 401
        assert "tolerance" in answer.json()["error"]


def test_bad_payloads_name_the_field(client: TestClient, engine: Engine) -> None:
    cases = [
        (b"{not json", 415, None),
        (b"[1, 2]", 422, "(body)"),
        (json.dumps({k: v for k, v in ORDER.items() if k != "id"}).encode(), 422, "id"),
        (json.dumps(dict(ORDER, occurred_at="yesterday")).encode(), 422, "occurred_at"),
        (json.dumps(dict(ORDER, kind="teleport")).encode(), 422, "kind"),
        (json.dumps(dict(ORDER, amount="9.999")).encode(), 422, "amount"),
        (json.dumps(dict(ORDER, member="")).encode(), 422, "member"),
    ]
    for raw, status, field in cases:
        body, headers = signed(raw, T0.timestamp())
        answer = client.post("/hooks/shop", content=body, headers=headers)
        assert answer.status_code == status, (raw, answer.text)
        if field:
            assert answer.json()["field"] == field
    assert _count(engine, activities) == 0
    assert _count(engine, inbound_events) == 0


def test_unknown_source_and_oversized_body(client: TestClient) -> None:
    body, headers = signed(ORDER, T0.timestamp())
    assert client.post("/hooks/crm", content=body, headers=headers).status_code == 404
    big, big_headers = signed({"id": "x", "text": "长" * 600_000}, T0.timestamp())
    assert client.post("/hooks/shop", content=big, headers=big_headers).status_code == 413


def test_concurrent_deliveries_of_one_event_store_it_once(client: TestClient, engine: Engine) -> None:
    body, headers = signed(dict(ORDER, id="evt_race", reference_id="order-race"), T0.timestamp())
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        answers.append(client.post("/hooks/shop", content=body, headers=headers).json())

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a["status"] for a in answers) == ["duplicate", "duplicate", "duplicate", "stored"]
    assert _count(engine, activities) == 1
