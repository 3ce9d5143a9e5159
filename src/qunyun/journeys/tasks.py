"""Operator tasks: sends a person makes from their own account, tracked like any send.

WeChat groups have no bot API for members and WeCom customer messages need a
staff member's confirmation, so for those platforms the dispatcher turns a
message into a task: who, the personalised text ready to copy, a deadline.
The operator marks it done (the outbox row becomes sent, and a delivery
activity is written) or skips it; a task past its deadline shows as overdue.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from qunyun.errors import NotFoundError, QunyunError
from qunyun.journeys.dispatch import record_delivery
from qunyun.store.journey_tables import operator_tasks, outbox


@dataclass(frozen=True)
class Task:
    id: int
    member_id: int | None
    community_id: int | None
    platform: str
    recipient: str
    text: str
    deadline: datetime
    status: str
    overdue: bool
    playbook: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "deadline": self.deadline.isoformat()}


class Tasks:
    def __init__(self, engine: Engine, workspace_id: int) -> None:
        self.engine = engine
        self.workspace_id = workspace_id

    def list(
        self, now: datetime, status: str | None = "open", limit: int = 200, task_id: int | None = None
    ) -> list[Task]:
        query = (
            select(operator_tasks, outbox.c.playbook)
            .join(outbox, outbox.c.id == operator_tasks.c.outbox_id)
            .where(operator_tasks.c.workspace_id == self.workspace_id)
            .order_by(operator_tasks.c.deadline, operator_tasks.c.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(operator_tasks.c.status == status)
        if task_id is not None:
            query = query.where(operator_tasks.c.id == task_id)
        with self.engine.connect() as conn:
            return [
                Task(
                    r.id,
                    r.member_id,
                    r.community_id,
                    r.platform,
                    r.recipient,
                    r.text,
                    r.deadline,
                    r.status,
                    r.status == "open" and r.deadline < now,
                    r.playbook,
                )
                for r in conn.execute(query)
            ]

    def finish(self, task_id: int, actor: str, now: datetime, *, done: bool = True) -> Task:
        """Mark the task done (sent by the operator) or skipped; repeating the same call changes nothing."""
        status = "done" if done else "skipped"
        with self.engine.begin() as conn:
            task = conn.execute(
                select(operator_tasks).where(
                    operator_tasks.c.workspace_id == self.workspace_id, operator_tasks.c.id == task_id
                )
            ).first()
            if task is None:
                raise NotFoundError(f"no operator task {task_id}", code="task.not_found")
            if task.status == status:
                return self._one(task_id, now)
            if task.status != "open":
                raise QunyunError(f"task {task_id} is already {task.status}", code="task.closed")
            conn.execute(
                update(operator_tasks)
                .where(operator_tasks.c.id == task_id)
                .values(status=status, done_at=now, done_by=actor)
            )
            row = conn.execute(select(outbox).where(outbox.c.id == task.outbox_id)).one()
            values = {"status": "sent", "sent_at": now} if done else {"status": "suppressed", "sent_at": None}
            conn.execute(
                update(outbox).where(outbox.c.id == row.id).values(last_error=f"task {status}", **values)
            )
            if done:
                record_delivery(conn, self.workspace_id, row, "sent", now)
        return self._one(task_id, now)

    def _one(self, task_id: int, now: datetime) -> Task:
        for task in self.list(now, status=None, task_id=task_id):
            return task
        raise NotFoundError(f"no operator task {task_id}", code="task.not_found")
