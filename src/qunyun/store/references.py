"""Find activities again by their platform reference: the message a reply or a reaction points at.

An activity that carries a reference (message id) has `reference_key(platform, community, kind,
reference)` as its idempotency key, which the unique (source, idempotency_key) index covers. So a
target is found by rebuilding its possible keys, one per kind it may have: the largest table needs
no index on reference ids, and no join that SQLite would run as a scan per reply.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from qunyun.domain.activity import reference_key
from qunyun.store.tables import activities, communities, identities

_CHUNK = 500  # keys per IN list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True, slots=True)
class Target:
    """The activity a reference names: who wrote it (identity and its member now) and what it said."""

    identity_id: int
    member_id: int
    text: str | None


def find_by_reference(
    conn: Connection, wanted: Iterable[tuple[int, str]], kinds: Iterable[str]
) -> dict[tuple[int, str], Target]:
    """(community id, reference) → the activity of one of `kinds` with that reference, where stored."""
    wanted = {(community_id, str(reference)) for community_id, reference in wanted if reference}
    if not wanted:
        return {}
    places = {
        row.id: (row.platform, row.external_id)
        for row in conn.execute(
            select(communities.c.id, communities.c.platform, communities.c.external_id).where(
                communities.c.id.in_(sorted({c for c, _ in wanted}))
            )
        )
    }
    keys: dict[tuple[str, str], tuple[int, str]] = {}
    for community_id, reference in wanted:
        if community_id not in places:
            continue
        platform, external = places[community_id]
        for kind in sorted(set(kinds)):
            keys[(platform, reference_key(platform, external, kind, reference))] = (community_id, reference)
    found: dict[tuple[int, str], Target] = {}
    for platform in sorted({p for p, _ in keys}):
        platform_keys = sorted(k for p, k in keys if p == platform)
        for start in range(0, len(platform_keys), _CHUNK):
            rows = conn.execute(
                select(
                    activities.c.idempotency_key,
                    activities.c.identity_id,
                    identities.c.member_id,
                    activities.c.text,
                )
                .join(identities, identities.c.id == activities.c.identity_id)
                .where(
                    activities.c.source == platform,
                    activities.c.idempotency_key.in_(platform_keys[start : start + _CHUNK]),
                )
            )
            for key, identity_id, member_id, text in rows:
                found[keys[(platform, key)]] = Target(int(identity_id), int(member_id), text)
    return found
