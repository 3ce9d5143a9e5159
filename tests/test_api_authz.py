"""The authorisation matrix: every OpenAPI operation x each role x anonymous x another workspace,
checked against a policy table written here by hand from docs/api.md (not read from the code)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from api_helpers import PASSWORD, ROLES, add_tenant, bearer, make_app
from conftest import T0
from journey_helpers import add_members, community
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.store.tables import alerts
from qunyun.store.workspace import ensure_workspace

RANK = {"viewer": 0, "analyst": 1, "operator": 2, "admin": 3}
ANONYMOUS_OK = {("POST", "/api/v1/session")}
# The least role each operation needs (docs/api.md, "Roles").
POLICY = {
    ("DELETE", "/api/v1/session"): "viewer",
    ("GET", "/api/v1/me"): "viewer",
    ("GET", "/api/v1/members"): "analyst",
    ("GET", "/api/v1/members/{member_id}"): "analyst",
    ("POST", "/api/v1/members/{member_id}/tags"): "operator",
    ("DELETE", "/api/v1/members/{member_id}/tags/{tag}"): "operator",
    ("POST", "/api/v1/members/{member_id}/opt-out"): "operator",
    ("POST", "/api/v1/members/{member_id}/enrolments"): "operator",
    ("POST", "/api/v1/members/{member_id}/points"): "operator",
    ("POST", "/api/v1/members/{member_id}/coupons"): "operator",
    ("GET", "/api/v1/members/{member_id}/export"): "operator",
    ("POST", "/api/v1/members/{member_id}/erase"): "admin",
    ("POST", "/api/v1/messages"): "operator",
    ("GET", "/api/v1/lists/{name}"): "analyst",
    ("GET", "/api/v1/lists/{name}/export"): "operator",
    ("GET", "/api/v1/overview"): "viewer",
    ("GET", "/api/v1/alerts"): "viewer",
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): "operator",
    ("GET", "/api/v1/playbooks"): "viewer",
    ("GET", "/api/v1/playbooks/{name}"): "viewer",
    ("POST", "/api/v1/playbooks/{name}/enable"): "operator",
    ("POST", "/api/v1/playbooks/{name}/disable"): "operator",
    ("PUT", "/api/v1/playbooks/{name}"): "operator",
    ("POST", "/api/v1/playbooks/validate"): "viewer",
    ("POST", "/api/v1/playbooks/{name}/dry-run"): "analyst",
    ("GET", "/api/v1/playbooks/{name}/results"): "viewer",
    ("GET", "/api/v1/leaderboard"): "analyst",
    ("GET", "/api/v1/reports"): "viewer",
    ("GET", "/api/v1/reports/weekly"): "viewer",
    ("GET", "/api/v1/kpis"): "viewer",
    ("GET", "/api/v1/topics"): "viewer",
    ("GET", "/api/v1/coupons"): "viewer",
    ("GET", "/api/v1/surveys"): "viewer",
    ("GET", "/api/v1/operators"): "admin",
    ("POST", "/api/v1/operators"): "admin",
    ("DELETE", "/api/v1/operators/{username}"): "admin",
    ("GET", "/api/v1/tokens"): "admin",
    ("POST", "/api/v1/tokens"): "viewer",
    ("DELETE", "/api/v1/tokens/{token_id}"): "admin",
    ("GET", "/api/v1/audit"): "admin",
}
PLAYBOOK_YAML = "name: silent-wake-up\n"  # invalid on purpose: a save must fail validation, not auth
# Requests that change shared state are sent with arguments that make them no-ops or 404s.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/session"): {"username": "viewer", "password": PASSWORD},
    ("POST", "/api/v1/members/{member_id}/tags"): {"tag": "vip"},
    ("POST", "/api/v1/members/{member_id}/enrolments"): {"playbook": "no-such-playbook"},
    ("POST", "/api/v1/members/{member_id}/points"): {"points": 5, "reason": "matrix"},
    ("POST", "/api/v1/members/{member_id}/coupons"): {"campaign": "no-such-campaign"},
    ("POST", "/api/v1/operators"): {"username": "x", "password": "short", "role": "viewer"},
    ("POST", "/api/v1/members/{member_id}/erase"): {"confirm": -1},  # refused: never erases here
    ("POST", "/api/v1/tokens"): {"name": "matrix"},
    ("POST", "/api/v1/messages"): {"channel": "no-such-channel", "address": "x", "text": "hi"},
}


def _operations(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item)


def _call(client: TestClient, method: str, path: str, member_id: int, headers: dict[str, str]) -> int:
    values = {"member_id": str(member_id), "tag": "vip", "name": "silent-wake-up", "alert_id": "999999",
              "username": "no-such-user", "token_id": "999999"}  # fmt: skip
    url = path
    for name, value in values.items():
        url = url.replace("{" + name + "}", value)
    headers = {**headers, "Idempotency-Key": f"matrix-{method}-{path}-{sorted(headers.items())}"}
    if path.endswith("/enable") or path.endswith("/disable"):
        url = url.replace("silent-wake-up", "no-such-playbook")
    if method == "PUT" or path.endswith("/validate"):
        answer = client.request(
            method, url, content=PLAYBOOK_YAML, headers={**headers, "Content-Type": "application/yaml"}
        )
    else:
        answer = client.request(method, url, json=BODIES.get((method, path)), headers=headers)
    client.cookies.clear()  # a log-in must not make the next call signed in
    return answer.status_code


@pytest.fixture
def world(settings: Settings, engine: Engine, workspace_id: int) -> dict[str, Any]:
    clock = FixedClock(T0)
    a = add_tenant(engine, clock, workspace_id)
    with engine.begin() as conn:
        other_id = ensure_workspace(conn, "other", T0)
    b = add_tenant(engine, clock, other_id, prefix="b-")
    cid_a, cid_b = community(engine, workspace_id, "ga"), community(engine, other_id, "gb")
    member_a = add_members(engine, workspace_id, cid_a, 1)[0]
    member_b = add_members(engine, other_id, cid_b, 1)[0]
    with engine.begin() as conn:
        alert_b = conn.execute(
            insert(alerts).values(
                workspace_id=other_id, community_id=cid_b, kind="complaint", severity="warning",
                member_id=member_b, detail={"text": "差评"}, occurred_at=T0, created_at=T0, status="open",
                dedupe_key="b1",
            ).returning(alerts.c.id)
        ).scalar_one()  # fmt: skip
    client = make_app(settings, engine, clock, workspace_id)
    return {"client": client, "a": a, "b": b, "member_a": member_a, "member_b": member_b, "alert_b": alert_b}


def test_every_operation_has_a_policy(world: dict[str, Any]) -> None:
    operations = set(_operations(world["client"]))
    assert operations == set(POLICY) | ANONYMOUS_OK
    assert len(operations) >= 15


def test_roles_and_anonymous_against_the_policy(world: dict[str, Any]) -> None:
    client, a, member = world["client"], world["a"], world["member_a"]
    wrong: list[str] = []
    for method, path in _operations(client):
        anonymous = _call(client, method, path, member, {})
        if (method, path) in ANONYMOUS_OK:
            if anonymous in (401, 403):
                wrong.append(f"anonymous {method} {path} refused ({anonymous})")
            continue
        if anonymous != 401:
            wrong.append(f"anonymous {method} {path} answered {anonymous}, not 401")
        for role in ROLES:
            status = _call(client, method, path, member, bearer(a.tokens[role]))
            allowed = RANK[role] >= RANK[POLICY[(method, path)]]
            if allowed and status in (401, 403):
                wrong.append(f"{role} {method} {path} refused ({status})")
            if not allowed and status != 403:
                wrong.append(f"{role} {method} {path} answered {status}, not 403")
    assert wrong == []


def test_ids_of_another_workspace_are_not_found(world: dict[str, Any]) -> None:
    client, admin = world["client"], bearer(world["a"].tokens["admin"])
    theirs = world["member_b"]
    for method, path in _operations(client):
        if "{member_id}" in path:
            status = _call(client, method, path, theirs, admin)
            assert status == 404, f"{method} {path} on another workspace's member answered {status}"
    acked = client.post(f"/api/v1/alerts/{world['alert_b']}/acknowledge", headers=admin)
    assert acked.status_code == 404
    listed = client.get("/api/v1/members", headers=admin).json()["members"]
    assert [m["member_id"] for m in listed] == [world["member_a"]]
    # The other workspace's own admin sees only theirs.
    listed_b = client.get("/api/v1/members", headers=bearer(world["b"].tokens["admin"])).json()["members"]
    assert [m["member_id"] for m in listed_b] == [theirs]
    alerts_a = client.get("/api/v1/alerts?status=all", headers=admin).json()["alerts"]
    assert alerts_a == []
