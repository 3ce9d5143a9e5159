"""HMAC-SHA256 request signatures, the same scheme inbound and outbound.

The signed string is `"{timestamp}.{body}"` (unix seconds, then the raw body
bytes), as Stripe and Slack do, so a captured request cannot be replayed
with another body or, past the tolerance, at another time. Header values:
`X-Qunyun-Timestamp: 1764000000`, `X-Qunyun-Signature: v1=<hex digest>`.
"""

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Qunyun-Timestamp"
SIGNATURE_HEADER = "X-Qunyun-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """Why a signed request was refused; the message is safe to return to the sender."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a request's signature and freshness; returns its timestamp or raises SignatureError."""
    if not timestamp_header or not signature_header:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not unix seconds: {timestamp_header[:40]!r}") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp is {int(now - timestamp)} s away from now (tolerance {tolerance} s)")
    expected = sign(secret, timestamp, body)
    # Several signatures may be sent during a secret rotation: any one valid is enough.
    offered = [part.strip() for part in signature_header.split(",")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureError("signature does not match the body")
    return timestamp
