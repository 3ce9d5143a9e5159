"""POST /api/v1/messages against a real SMTP server on loopback: once per Idempotency-Key."""

from pathlib import Path

from sqlalchemy import Engine, select

from api_helpers import add_tenant, bearer, make_app
from conftest import T0
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.store.tables import audit_log
from test_channels_email_webhook import Mailbox, smtp  # noqa: F401  (the fixture)


def test_a_message_goes_out_once_per_key(
    smtp: tuple[Mailbox, int],  # noqa: F811
    engine: Engine,
    workspace_id: int,
    tmp_path: Path,
) -> None:
    mailbox, port = smtp
    settings = load_settings(
        None,
        environ={
            "QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "secret.key"),
            "QUNYUN_EMAIL__HOST": "127.0.0.1",
            "QUNYUN_EMAIL__PORT": str(port),
            "QUNYUN_EMAIL__STARTTLS": "false",
        },
    )
    clock = FixedClock(T0)
    tenant = add_tenant(engine, clock, workspace_id)
    client = make_app(settings, engine, clock, workspace_id)
    op = bearer(tenant.tokens["operator"])
    body = {"channel": "email", "address": "lin@example.com", "text": "本周活动提醒", "direct": True,
            "subject": "社群通知"}  # fmt: skip
    first = client.post("/api/v1/messages", json=body, headers={**op, "Idempotency-Key": "notice-1"})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "sent"
    replay = client.post("/api/v1/messages", json=body, headers={**op, "Idempotency-Key": "notice-1"})
    assert replay.json() == first.json()
    assert len(mailbox.mails) == 1
    assert mailbox.mails[0]["Subject"] == "社群通知"
    refused = client.post(
        "/api/v1/messages",
        json={**body, "address": "nobody@example.com"},
        headers={**op, "Idempotency-Key": "n2"},
    )
    assert refused.status_code == 502
    assert refused.json()["status"] == "failed"
    retried = client.post(
        "/api/v1/messages",
        json={**body, "address": "nobody@example.com"},
        headers={**op, "Idempotency-Key": "n2"},
    )
    assert retried.status_code == 502  # a failure is not kept as the key's answer: it ran again
    assert "Idempotent-Replayed" not in retried.headers
    unknown = client.post(
        "/api/v1/messages", json={**body, "channel": "pigeon"}, headers={**op, "Idempotency-Key": "n3"}
    )
    assert unknown.status_code == 404
    analyst = client.post(
        "/api/v1/messages", json=body, headers={**bearer(tenant.tokens["analyst"]), "Idempotency-Key": "n4"}
    )
    assert analyst.status_code == 403
    assert len(mailbox.mails) == 1
    with engine.connect() as conn:
        sends = conn.execute(select(audit_log.c.target).where(audit_log.c.action == "message.send")).all()
    assert [s[0] for s in sends] == ["email:lin@example.com"] + ["email:nobody@example.com"] * 2
