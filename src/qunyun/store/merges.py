"""Merging two members into one, and undoing it.

A merge moves every identity of the merged member to the survivor and marks
the merged member with `merged_into_id`; the moved identity ids are kept on
the merge row, so `unmerge` can put exactly those back. Activities point at
identities, never at members, so neither direction rewrites any activity.
Both directions are audited. Derived state (member_state) of the two members
is dropped and recomputed by the next refresh.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from qunyun.errors import NotFoundError, QunyunError
from qunyun.store import audit
from qunyun.store.tables import identities, member_scores, member_state, members, merges


@dataclass(frozen=True)
class MergeResult:
    merge_id: int
    survivor_id: int
    merged_id: int
    identity_ids: tuple[int, ...]


def _drop_derived(conn: Connection, member_ids: list[int]) -> None:
    """State and scores of members whose identities moved: recomputed by the next refresh/fit."""
    for table in (member_state, member_scores):
        conn.execute(delete(table).where(table.c.member_id.in_(member_ids)))


def resolve_live_member(conn: Connection, workspace_id: int, member_id: int) -> int:
    """Follow merge pointers to the member that now holds `member_id`'s identities."""
    current = member_id
    for _ in range(64):
        row = conn.execute(
            select(members.c.merged_into_id).where(
                members.c.id == current, members.c.workspace_id == workspace_id
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no member {member_id}", code="member.not_found")
        if row.merged_into_id is None:
            return current
        current = int(row.merged_into_id)
    raise QunyunError(f"merge chain from member {member_id} is too long", code="merge.cycle")


def merge_members(
    conn: Connection,
    *,
    workspace_id: int,
    survivor_id: int,
    merged_id: int,
    reason: str,
    actor: str,
    now: datetime,
) -> MergeResult:
    survivor = resolve_live_member(conn, workspace_id, survivor_id)
    merged = resolve_live_member(conn, workspace_id, merged_id)
    if survivor == merged:
        raise QunyunError(
            f"members {survivor_id} and {merged_id} are already one member ({survivor})",
            code="merge.same_member",
        )
    moved = tuple(
        int(i)
        for i in conn.execute(
            select(identities.c.id).where(identities.c.member_id == merged).order_by(identities.c.id)
        ).scalars()
    )
    conn.execute(update(identities).where(identities.c.member_id == merged).values(member_id=survivor))
    conn.execute(update(members).where(members.c.id == merged).values(merged_into_id=survivor))
    _drop_derived(conn, [survivor, merged])
    result = conn.execute(
        insert(merges).values(
            workspace_id=workspace_id,
            survivor_id=survivor,
            merged_id=merged,
            identity_ids=list(moved),
            reason=reason,
            actor=actor,
            created_at=now,
        )
    )
    assert result.inserted_primary_key is not None
    merge_id = int(result.inserted_primary_key[0])
    audit.record(
        conn,
        workspace_id=workspace_id,
        at=now,
        actor=actor,
        action="member.merge",
        target=f"member:{survivor}",
        detail={
            "merge_id": merge_id,
            "merged_id": merged,
            "identities": list(moved),
            "reason": reason,
        },
    )
    return MergeResult(merge_id, survivor, merged, moved)


def unmerge(conn: Connection, *, workspace_id: int, merge_id: int, actor: str, now: datetime) -> MergeResult:
    row = conn.execute(
        select(merges).where(merges.c.id == merge_id, merges.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no merge {merge_id}", code="merge.not_found")
    if row.undone_at is not None:
        raise QunyunError(f"merge {merge_id} was already undone", code="merge.already_undone")
    moved = [int(i) for i in row.identity_ids]
    holder = resolve_live_member(conn, workspace_id, int(row.survivor_id))
    conn.execute(
        update(identities)
        .where(identities.c.id.in_(moved), identities.c.member_id == holder)
        .values(member_id=row.merged_id)
    )
    conn.execute(update(members).where(members.c.id == row.merged_id).values(merged_into_id=None))
    _drop_derived(conn, [holder, row.merged_id])
    conn.execute(update(merges).where(merges.c.id == merge_id).values(undone_at=now, undone_by=actor))
    audit.record(
        conn,
        workspace_id=workspace_id,
        at=now,
        actor=actor,
        action="member.unmerge",
        target=f"member:{row.merged_id}",
        detail={"merge_id": merge_id, "identities": moved, "from_member": holder},
    )
    return MergeResult(merge_id, holder, int(row.merged_id), tuple(moved))


def find_member_merge(conn: Connection, workspace_id: int, merged_id: int) -> int:
    """The active merge that absorbed `merged_id` (for `members unlink MEMBER`)."""
    found = conn.execute(
        select(merges.c.id)
        .where(
            merges.c.workspace_id == workspace_id,
            merges.c.merged_id == merged_id,
            merges.c.undone_at.is_(None),
        )
        .order_by(merges.c.id.desc())
    ).scalar()
    if found is None:
        raise NotFoundError(f"member {merged_id} is not merged into anyone", code="merge.not_found")
    return int(found)
