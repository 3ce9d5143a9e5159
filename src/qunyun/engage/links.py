"""Signed, expiring links to a member's pages (H5): no login, no forgery, no borrowing.

A token carries the workspace, the member, what it opens (`home` or
`survey:<slug>`), its expiry and a random nonce, signed with HMAC-SHA256
under a key derived from the workspace secret. Changing any byte breaks the
signature; a token only ever acts for the member inside it, so a forwarded
link cannot be used to act as someone else, and it stops working at expiry.

    >>> links = MemberLinks(b"k" * 32)
    >>> token = links.issue(1, 42, "home", expires_at)
    >>> links.verify(token, now).member_id
    42
"""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from qunyun.engage.errors import EngageError


class LinkError(EngageError):
    pass


@dataclass(frozen=True)
class LinkClaims:
    workspace_id: int
    member_id: int
    target: str  # home | survey:<slug>
    expires_at: datetime
    nonce: str

    @property
    def survey(self) -> str | None:
        return self.target.removeprefix("survey:") if self.target.startswith("survey:") else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class MemberLinks:
    def __init__(self, secret: bytes) -> None:
        # A key of its own, so a leaked link key reveals nothing about the data key it came from.
        self._key = hmac.new(secret, b"qunyun:member-links:v1", hashlib.sha256).digest()

    def issue(self, workspace_id: int, member_id: int, target: str, expires_at: datetime) -> str:
        body = {
            "w": workspace_id,
            "m": member_id,
            "t": target,
            "e": int(expires_at.timestamp()),
            "n": secrets.token_urlsafe(8),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: datetime) -> LinkClaims:
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            raise LinkError("this link is not valid", code="link.invalid")
        try:
            body = json.loads(_unb64(payload))
            claims = LinkClaims(
                int(body["w"]),
                int(body["m"]),
                str(body["t"]),
                datetime.fromtimestamp(int(body["e"]), UTC),
                str(body["n"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LinkError("this link is not valid", code="link.invalid") from exc
        if now >= claims.expires_at:
            raise LinkError("this link has expired", code="link.expired")
        return claims

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())
