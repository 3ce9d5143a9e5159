"""Members to reward: a community, members with one identity each and a join activity."""

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, insert

from conftest import T0
from qunyun.errors import QunyunError
from qunyun.store.tables import activities, identities, members
from qunyun.store.workspace import ensure_community


def make_members(
    engine: Engine, workspace_id: int, count: int, community: str = "g1", joined: datetime = T0
) -> list[int]:
    """`count` new members of `community` (wechat), each with an identity and a join (at T0)."""
    ids: list[int] = []
    with engine.begin() as conn:
        community_id = ensure_community(conn, workspace_id, "wechat", community, community, T0)
        for _ in range(count):
            member = conn.execute(
                insert(members).values(workspace_id=workspace_id, display_name="m", created_at=T0)
            ).inserted_primary_key
            assert member is not None
            member_id = int(member[0])
            identity = conn.execute(
                insert(identities).values(
                    workspace_id=workspace_id,
                    member_id=member_id,
                    original_member_id=member_id,
                    platform="wechat",
                    external_id=f"{community}-u{member_id}",
                    nickname=f"用户{member_id}",
                    created_at=T0,
                )
            ).inserted_primary_key
            assert identity is not None
            conn.execute(
                insert(activities).values(
                    community_id=community_id,
                    identity_id=int(identity[0]),
                    kind="join",
                    occurred_at=joined,
                    source="test",
                    idempotency_key=f"join-{member_id}",
                    ingested_at=T0,
                )
            )
            ids.append(member_id)
    return ids


def race(count: int, action: Callable[[int], object]) -> list[str]:
    """Run `action(i)` in `count` threads released together; "ok" or the QunyunError code of each."""
    start = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        start.wait()
        try:
            action(i)
            outcome = "ok"
        except QunyunError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)
