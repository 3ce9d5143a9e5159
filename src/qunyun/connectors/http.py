"""One HTTP request to a platform, its failure modes sorted into `Attempt` outcomes.

What matters for exactly-once is whether the request may have reached the
platform. A refused or timed-out *connection* certainly did not; a read
timeout or a dropped response may have (the platform may have posted the
message and failed to answer). Gateway errors (502/503/504) mean the
platform's front door answered for a backend that did not take the request.
"""

from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from qunyun.connectors.base import Attempt, Outcome

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_GATEWAY = frozenset({502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response | Attempt:
    """The response, or the Attempt a transport failure amounts to."""
    try:
        return client.request(method, url, **kwargs)
    except _NOT_SENT as exc:
        return Attempt(Outcome.RETRY, error=f"cannot connect: {exc.__class__.__name__}: {exc}")
    except httpx.TransportError as exc:
        return Attempt(Outcome.IN_DOUBT, error=f"no answer: {exc.__class__.__name__}: {exc}")


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
        date = response.headers.get("date")
        now = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds()) if now else None


def generic_status(response: httpx.Response, scope: str | None = None) -> Attempt | None:
    """The outcome HTTP status alone decides (429, gateway errors, 5xx), else None."""
    code = response.status_code
    if code == 429:
        return Attempt(
            Outcome.RETRY,
            retry_after=retry_after_header(response) or 1.0,
            error="429 Too Many Requests",
            throttled_scope=scope,
        )
    if code in _GATEWAY:
        return Attempt(Outcome.RETRY, retry_after=retry_after_header(response), error=f"HTTP {code}")
    if code >= 500:
        return Attempt(Outcome.IN_DOUBT, error=f"HTTP {code}: {response.text[:200]}")
    return None


def json_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
