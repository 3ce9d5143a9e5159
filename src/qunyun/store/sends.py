"""The durable send log: one row per idempotency key a channel was asked to send.

`claim` inserts the key as "sending" in its own committed transaction before
the request leaves, so two workers, or a worker and its replay after a crash,
cannot both send it. It satisfies `connectors.base.SendLog`.
"""

from sqlalchemy import ColumnElement, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from qunyun.domain import Claimed, Clock, IdempotencyConflictError
from qunyun.store.tables import channel_sends


class SqlSendLog:
    def __init__(self, engine: Engine, workspace_id: int, clock: Clock) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock

    def _key(self, key: str) -> ColumnElement[bool]:
        return and_(channel_sends.c.workspace_id == self.workspace_id, channel_sends.c.idempotency_key == key)

    def claim(self, key: str, channel: str, fingerprint: str) -> Claimed | None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(channel_sends).values(
                        workspace_id=self.workspace_id,
                        idempotency_key=key,
                        channel=channel,
                        fingerprint=fingerprint,
                        status="sending",
                        attempts=0,
                        claimed_at=self.clock.now(),
                    )
                )
            return None
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            row = conn.execute(select(channel_sends).where(self._key(key))).one()
        if row.fingerprint != fingerprint or row.channel != channel:
            raise IdempotencyConflictError(key)
        return Claimed(row.status, row.platform_id, row.attempts)

    def finish(self, key: str, status: str, platform_id: str | None, attempts: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(channel_sends)
                .where(self._key(key))
                .values(
                    status=status, platform_id=platform_id, attempts=attempts, finished_at=self.clock.now()
                )
            )

    def release(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(channel_sends).where(self._key(key), channel_sends.c.status == "sending"))
