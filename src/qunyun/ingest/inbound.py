"""The inbound-event action: a webhook or callback delivery stored once, by the sender's event id.

Senders retry (a shop's webhook on a timeout, WeCom up to three times within
seconds), so the same event id arrives again. The event id, the fingerprint of
what it carried and the activities it produced commit in one transaction; a
repeat with the same content is acknowledged as a duplicate, a repeat with
different content under the same id is refused (the sender's bug, not ours to
resolve).
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from qunyun.domain import ActivityRecord, Clock, IdempotencyConflictError
from qunyun.ingest.contacts import ContactLinker
from qunyun.ingest.pipeline import Importer, ImportOptions
from qunyun.store.tables import inbound_events

_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class InboundResult:
    duplicate: bool
    activities: int


def fingerprint(payload: Any) -> str:
    """Content hash that ignores key order and whitespace (retries may be re-serialised)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class InboundEvents:
    def __init__(
        self, engine: Engine, clock: Clock, workspace_id: int, linker: ContactLinker | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.workspace_id = workspace_id
        self.linker = linker

    def _earlier(self, source: str, event_id: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(inbound_events.c.fingerprint).where(
                    inbound_events.c.workspace_id == self.workspace_id,
                    inbound_events.c.source == source,
                    inbound_events.c.event_id == event_id,
                )
            ).scalar()
        return None if found is None else str(found)

    def accept(
        self, source: str, event_id: str, content_fingerprint: str, records: Sequence[ActivityRecord]
    ) -> InboundResult:
        """Store the event's activities unless this event id was taken before."""
        earlier = self._earlier(source, event_id)
        attempts = 0
        while earlier is None:
            attempts += 1
            try:
                return self._store(source, event_id, content_fingerprint, records)
            except IntegrityError:
                # Either this event delivered concurrently (found now), or another event created
                # the same new member or community at the same moment: then a second try finds them.
                earlier = self._earlier(source, event_id)
                if earlier is None and attempts >= _MAX_ATTEMPTS:
                    raise
        if earlier != content_fingerprint:
            raise IdempotencyConflictError(event_id, what="event")
        return InboundResult(duplicate=True, activities=0)

    def _store(
        self, source: str, event_id: str, content_fingerprint: str, records: Sequence[ActivityRecord]
    ) -> InboundResult:
        def remember(conn: Connection) -> None:
            conn.execute(
                insert(inbound_events).values(
                    workspace_id=self.workspace_id,
                    source=source,
                    event_id=event_id,
                    fingerprint=content_fingerprint,
                    received_at=self.clock.now(),
                    activities=len(records),
                )
            )

        # An importer per event: its id caches must not be shared by concurrent requests, where one
        # request's rolled-back community or member would be seen by another.
        importer = Importer(
            self.engine, self.clock, ImportOptions(self.workspace_id, actor="inbound"), self.linker
        )
        inserted, _ = importer.store_batch(list(records), also=remember)
        return InboundResult(duplicate=False, activities=inserted)
