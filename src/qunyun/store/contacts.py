"""Contact pseudonyms on identities, and who else shares them (for merging)."""

from datetime import datetime

from sqlalchemy import Connection, insert, select

from qunyun.store.tables import contacts, identities, members


def attach_contact(
    conn: Connection,
    *,
    workspace_id: int,
    identity_id: int,
    kind: str,
    pseudonym: str,
    ciphertext: bytes,
    now: datetime,
) -> bool:
    """Record that `identity_id` has this contact; False if it already had it."""
    exists = conn.execute(
        select(contacts.c.id).where(
            contacts.c.identity_id == identity_id,
            contacts.c.kind == kind,
            contacts.c.pseudonym == pseudonym,
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(contacts).values(
            workspace_id=workspace_id,
            identity_id=identity_id,
            kind=kind,
            pseudonym=pseudonym,
            ciphertext=ciphertext,
            created_at=now,
        )
    )
    return True


def members_sharing(conn: Connection, *, workspace_id: int, kind: str, pseudonym: str) -> list[int]:
    """Live members holding an identity with this contact, oldest member first."""
    rows = conn.execute(
        select(identities.c.member_id)
        .join(contacts, contacts.c.identity_id == identities.c.id)
        .join(members, members.c.id == identities.c.member_id)
        .where(
            contacts.c.workspace_id == workspace_id,
            contacts.c.kind == kind,
            contacts.c.pseudonym == pseudonym,
            members.c.merged_into_id.is_(None),
        )
        .distinct()
        .order_by(identities.c.member_id)
    )
    return [int(r.member_id) for r in rows]


def contacts_of_member(conn: Connection, member_id: int) -> list[tuple[str, bytes]]:
    rows = conn.execute(
        select(contacts.c.kind, contacts.c.ciphertext)
        .join(identities, identities.c.id == contacts.c.identity_id)
        .where(identities.c.member_id == member_id)
        .order_by(contacts.c.id)
    )
    return [(r.kind, bytes(r.ciphertext)) for r in rows]
