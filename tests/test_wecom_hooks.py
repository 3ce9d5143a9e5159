"""WeCom callbacks through the FastAPI app: URL verification with the official vector, events
stored once however often WeCom retries, refusals that never store anything."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from conftest import T0
from helpers import stored_activities
from qunyun.api import Services, create_app
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.store.tables import activities, communities, identities, inbound_events
from test_wecom import AES_KEY, CHAT, CORP, OFFICIAL_ECHO, OFFICIAL_GET, TOKEN, deliver, fixture


def _client(engine: Engine, workspace_id: int, token: str, key: str, corp: str) -> TestClient:
    env = {
        "QUNYUN_WECOM__CALLBACK_TOKEN": token,
        "QUNYUN_WECOM__ENCODING_AES_KEY": key,
        "QUNYUN_WECOM__CORP_ID": corp,
    }
    app = create_app(Services(load_settings(None, environ=env), engine, FixedClock(T0), workspace_id))
    return TestClient(app)


@pytest.fixture
def client(engine: Engine, workspace_id: int) -> Iterator[TestClient]:
    with _client(engine, workspace_id, TOKEN, AES_KEY, CORP) as test_client:
        yield test_client


def test_url_verification_answers_the_official_echo(engine: Engine, workspace_id: int) -> None:
    official = ("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
    with _client(engine, workspace_id, *official) as client:
        answer = client.get("/hooks/wecom", params=OFFICIAL_GET)
        assert (answer.status_code, answer.text) == (200, OFFICIAL_ECHO)
        forged = client.get("/hooks/wecom", params=dict(OFFICIAL_GET, msg_signature="0" * 40))
        assert forged.status_code == 403


def test_group_joins_are_stored_once_across_wecom_retries(client: TestClient, engine: Engine) -> None:
    body, query = deliver(fixture("chat_add_member.xml"))
    for _ in range(3):  # WeCom retries up to three times when it hears nothing within 5 s
        answer = client.post("/hooks/wecom", params=query, content=body)
        assert (answer.status_code, answer.content) == (200, b"")
    rows = stored_activities(
        engine,
        [communities.c.external_id, identities.c.platform, identities.c.external_id, activities.c.kind],
        [activities.c.id],
    )
    assert rows == [
        (CHAT, "wecom", "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA", "join"),
        (CHAT, "wecom", "wmOgQhDgAAbbbbbbbbbbbbbbbbbbBBBB", "join"),
    ]
    body, query = deliver(fixture("contact_add.xml"), timestamp="1764574900")
    assert client.post("/hooks/wecom", params=query, content=body).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inbound_events)).scalar_one() == 2
        contacts = conn.execute(select(communities.c.external_id).order_by(communities.c.id)).scalars().all()
    assert contacts == [CHAT, f"contacts:{CORP}"]


def test_refusals_store_nothing(client: TestClient, engine: Engine) -> None:
    body, query = deliver(fixture("chat_add_member.xml"))
    assert (
        client.post("/hooks/wecom", params=dict(query, msg_signature="f" * 40), content=body).status_code
        == 403
    )
    other_corp_body, other_query = deliver(fixture("chat_add_member.xml"), corp="wwsomeoneelse")
    assert client.post("/hooks/wecom", params=other_query, content=other_corp_body).status_code == 400
    hostile = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert client.post("/hooks/wecom", params=query, content=hostile).status_code == 400
    assert client.post("/hooks/wecom", params=query, content=b"x" * 70_000).status_code == 413
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(activities)).scalar_one() == 0


def test_unconfigured_wecom_answers_404(engine: Engine, workspace_id: int) -> None:
    with TestClient(
        create_app(Services(load_settings(None, environ={}), engine, FixedClock(T0), workspace_id))
    ) as c:
        assert c.get("/hooks/wecom", params=OFFICIAL_GET).status_code == 404
