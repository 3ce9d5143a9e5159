"""A workspace with one operator per role, and API clients for them (bearer tokens or a session)."""

from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from qunyun.api import Services, create_app
from qunyun.auth.accounts import Accounts
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.privacy import PiiProtector

ROLES = ("admin", "operator", "analyst", "viewer")
PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    workspace_id: int
    tokens: dict[str, str] = field(default_factory=dict)  # role → bearer token


def make_app(
    settings: Settings,
    engine: Engine,
    clock: FixedClock,
    workspace_id: int,
    protector: PiiProtector | None = None,
) -> TestClient:
    services = Services(settings, engine, clock, workspace_id, protector=protector)
    return TestClient(create_app(services, dashboard=True), base_url="http://testserver")


def add_tenant(engine: Engine, clock: FixedClock, workspace_id: int, prefix: str = "") -> Tenant:
    """One operator per role (`<prefix><role>`), each with an API token."""
    accounts = Accounts(engine, clock)
    tenant = Tenant(workspace_id)
    for role in ROLES:
        accounts.add(workspace_id, f"{prefix}{role}", PASSWORD, role)
        tenant.tokens[role] = accounts.create_token(workspace_id, f"{prefix}{role}", "test")
    return tenant


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(client: TestClient, username: str) -> str:
    """Opens a session on `client` (cookie kept) and returns its CSRF token."""
    answer = client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["csrf_token"]
    return token
