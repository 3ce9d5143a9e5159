"""A real Matrix homeserver for tests: the Synapse that scripts/run-tests starts once per run.

scripts/synapse-throwaway runs Synapse on loopback (SQLite, no federation, no
open registration, rate limits out of the way) and scripts/run-tests exports
QUNYUN_TEST_MATRIX_URL and QUNYUN_TEST_MATRIX_SECRET. Without them the tests
that need the server are skipped, unless QUNYUN_REQUIRE_MATRIX=1 (as in
`make test` and CI), where it is an error. Users are made through Synapse's
shared-secret registration admin API, so every test can have its own.
"""

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass

import httpx
import pytest

DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Homeserver:
    base_url: str  # e.g. http://127.0.0.1:PORT, no trailing slash
    shared_secret: str  # Synapse's registration_shared_secret


@pytest.fixture(scope="session")
def homeserver() -> Homeserver:
    url = os.environ.get("QUNYUN_TEST_MATRIX_URL")
    secret = os.environ.get("QUNYUN_TEST_MATRIX_SECRET")
    if not url or not secret:
        if os.environ.get("QUNYUN_REQUIRE_MATRIX") == "1":
            pytest.fail(
                "QUNYUN_REQUIRE_MATRIX=1 but QUNYUN_TEST_MATRIX_URL / QUNYUN_TEST_MATRIX_SECRET are not set"
            )
        pytest.skip("no Matrix homeserver (set QUNYUN_TEST_MATRIX_URL and _SECRET, or run `make test`)")
    return Homeserver(base_url=url.rstrip("/"), shared_secret=secret)


def unique_localpart(prefix: str) -> str:
    """A localpart no other test uses: the server lives for the whole run."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def register_user(
    hs: Homeserver, localpart: str, password: str = DEFAULT_PASSWORD, admin: bool = False
) -> tuple[str, str]:
    """Register a user through the shared-secret admin API; returns (user_id, access_token)."""
    endpoint = "/_synapse/admin/v1/register"
    with httpx.Client(base_url=hs.base_url, timeout=30) as client:
        nonce_response = client.get(endpoint)
        nonce_response.raise_for_status()
        nonce = str(nonce_response.json()["nonce"])
        message = b"\x00".join(
            [nonce.encode(), localpart.encode(), password.encode(), b"admin" if admin else b"notadmin"]
        )
        mac = hmac.new(hs.shared_secret.encode(), message, hashlib.sha1).hexdigest()
        response = client.post(
            endpoint,
            json={"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac},
        )
        response.raise_for_status()
        body = response.json()
    return str(body["user_id"]), str(body["access_token"])


def client_for(hs: Homeserver, access_token: str) -> httpx.Client:
    """An httpx client on the client-server API (/_matrix/client/v3) acting as one user; close it."""
    return httpx.Client(
        base_url=f"{hs.base_url}/_matrix/client/v3",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )
