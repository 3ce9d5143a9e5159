"""Operator accounts, sessions and tokens through the API: cookies, CSRF, expiry, removal, audit."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from api_helpers import PASSWORD, add_tenant, bearer, make_app
from conftest import T0
from journey_helpers import add_members, community
from qunyun.auth.accounts import Accounts
from qunyun.auth.secrets import digest
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.errors import AuthError
from qunyun.store.auth_tables import api_tokens, operators
from qunyun.store.tables import audit_log


def test_passwords_are_hashed_and_checked(engine: Engine, workspace_id: int) -> None:
    accounts = Accounts(engine, FixedClock(T0))
    accounts.add(workspace_id, "lin", PASSWORD, "operator")
    with engine.connect() as conn:
        stored = conn.execute(select(operators.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    with pytest.raises(AuthError, match="wrong username or password") as wrong_password:
        accounts.log_in("lin", "not the password")
    with pytest.raises(AuthError, match="wrong username or password") as no_user:
        accounts.log_in("nobody", PASSWORD)
    assert wrong_password.value.code == no_user.value.code == "auth.bad_credentials"
    with pytest.raises(AuthError, match="at least 10"):
        accounts.add(workspace_id, "short", "123", "viewer")
    with pytest.raises(AuthError, match="taken"):
        accounts.add(workspace_id, "lin", PASSWORD, "viewer")
    with pytest.raises(AuthError, match="no role"):
        accounts.add(workspace_id, "x", PASSWORD, "superuser")


def test_session_cookie_csrf_and_expiry(settings: Settings, engine: Engine, workspace_id: int) -> None:
    clock = FixedClock(T0)
    add_tenant(engine, clock, workspace_id)
    cid = community(engine, workspace_id)
    member = add_members(engine, workspace_id, cid, 1)[0]
    client = make_app(settings, engine, clock, workspace_id)
    answer = client.post("/api/v1/session", json={"username": "operator", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    csrf = answer.json()["csrf_token"]
    assert client.get("/api/v1/me").json()["role"] == "operator"
    # An unsafe request with the cookie but without the CSRF token is refused, and nothing changes.
    refused = client.post(f"/api/v1/members/{member}/tags", json={"tag": "vip"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.csrf"
    wrong = client.post(f"/api/v1/members/{member}/tags", json={"tag": "vip"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    ok = client.post(f"/api/v1/members/{member}/tags", json={"tag": "vip"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert ok.json()["added"] is True
    # Sessions end after 12 hours, and at log-out.
    clock.advance(timedelta(hours=12, seconds=1))
    assert client.get("/api/v1/me").status_code == 401
    clock.advance(-timedelta(hours=12, seconds=1))
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_cookie_is_secure_off_loopback(settings: Settings, engine: Engine, workspace_id: int) -> None:
    clock = FixedClock(T0)
    add_tenant(engine, clock, workspace_id)
    client = make_app(settings, engine, clock, workspace_id)
    client.base_url = client.base_url.copy_with(host="ops.example.com")  # type: ignore[assignment]
    answer = client.post("/api/v1/session", json={"username": "viewer", "password": PASSWORD})
    assert "secure" in answer.headers["set-cookie"].lower()


def test_tokens_are_stored_hashed_and_die_with_their_operator(
    settings: Settings, engine: Engine, workspace_id: int
) -> None:
    clock = FixedClock(T0)
    tenant = add_tenant(engine, clock, workspace_id)
    client = make_app(settings, engine, clock, workspace_id)
    token = tenant.tokens["analyst"]
    with engine.connect() as conn:
        hashes = set(conn.execute(select(api_tokens.c.token_hash)).scalars())
    assert digest(token) in hashes
    assert token not in hashes
    assert client.get("/api/v1/me", headers=bearer(token)).json()["username"] == "analyst"
    admin = bearer(tenant.tokens["admin"])
    assert client.delete("/api/v1/operators/analyst", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    # Revoking a token by id.
    listed = client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    viewer_token = next(t for t in listed if t["username"] == "viewer")
    assert viewer_token["prefix"] == tenant.tokens["viewer"][:10]
    assert client.delete(f"/api/v1/tokens/{viewer_token['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(tenant.tokens["viewer"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer("qyt_forged")).status_code == 401


def test_writes_and_personal_reads_are_audited(settings: Settings, engine: Engine, workspace_id: int) -> None:
    clock = FixedClock(T0)
    tenant = add_tenant(engine, clock, workspace_id)
    cid = community(engine, workspace_id)
    member = add_members(engine, workspace_id, cid, 1)[0]
    client = make_app(settings, engine, clock, workspace_id)
    op = bearer(tenant.tokens["operator"])
    client.get(f"/api/v1/members/{member}", headers=op)
    client.post(f"/api/v1/members/{member}/tags", json={"tag": "vip"}, headers=op)
    client.get("/api/v1/overview", headers=op)  # aggregates: not personal, not audited
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target)
            .where(audit_log.c.actor == "operator:operator")
            .order_by(audit_log.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("operator:operator", "member.read", f"member:{member}"),
        ("operator:operator", "member.tag", f"member:{member}"),
    ]
    entries = client.get("/api/v1/audit", headers=bearer(tenant.tokens["admin"])).json()["entries"]
    assert entries[0]["action"] == "member.tag"
