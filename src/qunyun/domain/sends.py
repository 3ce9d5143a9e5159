"""What a send log remembers of an idempotency key (shared by connectors and the store)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Claimed:
    """An earlier claim of a key: "sending" (claimed, outcome unknown) or "sent"."""

    status: str
    platform_id: str | None
    attempts: int


class IdempotencyConflictError(Exception):
    """The same idempotency key came back with a different payload: a caller's bug, never retried."""

    def __init__(self, key: str, what: str = "message") -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different {what}")
        self.key = key
