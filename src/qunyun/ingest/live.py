"""The store side of a live connector: activities and the read position, one transaction each.

A connector (Matrix sync loop, a WeCom reconcile) hands over what it read and
the cursor that follows it. Both commit together, so a crash either keeps
both or neither: on restart the connector resumes from the last committed
cursor, re-reads at most the batch in flight, and the activities' idempotency
keys turn that re-read into nothing.
"""

from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from qunyun.domain import ActivityRecord, Clock
from qunyun.ingest.contacts import ContactLinker
from qunyun.ingest.pipeline import Importer, ImportOptions
from qunyun.store.cursors import load_cursor, save_cursor


class LiveSink:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        workspace_id: int,
        connector: str,
        linker: ContactLinker | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.workspace_id = workspace_id
        self.connector = connector
        options = ImportOptions(workspace_id=workspace_id, actor=f"connector:{connector}")
        self._importer = Importer(engine, clock, options, linker)
        self.inserted = 0

    def cursor(self) -> str | None:
        return load_cursor(self.engine, self.workspace_id, self.connector)

    def deliver(self, records: Sequence[ActivityRecord], cursor: str) -> int:
        """Store `records` and move the cursor to `cursor`, atomically; returns rows newly inserted."""

        def move(conn: Connection) -> None:
            save_cursor(conn, self.workspace_id, self.connector, cursor, self.clock.now())

        inserted, _ = self._importer.store_batch(list(records), also=move)
        self.inserted += inserted
        return inserted
