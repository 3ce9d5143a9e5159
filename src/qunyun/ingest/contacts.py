"""Cross-platform identity merge through a shared contact (phone, union id).

When an imported record carries a phone number or WeChat union id, the
identity gets that contact as a keyed pseudonym (plus ciphertext for display).
If another member already holds the same pseudonym, the two members are one
person: they are merged into the older member, audited like a manual link.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from qunyun.domain import ActivityRecord
from qunyun.privacy import ContactKind, PiiProtector
from qunyun.store import contacts as contact_store
from qunyun.store.identity import IdentityKey, IdentityRef
from qunyun.store.merges import merge_members


class ContactLinker:
    def __init__(self, protector: PiiProtector, workspace_id: int) -> None:
        self.protector = protector
        self.workspace_id = workspace_id

    def link(
        self,
        conn: Connection,
        records: Sequence[ActivityRecord],
        refs: dict[IdentityKey, IdentityRef],
        now: datetime,
    ) -> int:
        """Attach contacts from `records`; return how many merges they caused."""
        merges = 0
        for record in records:
            for kind, value in (
                (ContactKind.PHONE, record.phone),
                (ContactKind.UNION_ID, record.union_id),
            ):
                if value:
                    identity_id = refs[(record.platform.value, record.member)].identity_id
                    merges += self._attach(conn, identity_id, kind, value, now)
        return merges

    def _attach(
        self, conn: Connection, identity_id: int, kind: ContactKind, value: str, now: datetime
    ) -> int:
        try:
            pseudonym = self.protector.pseudonym(kind, value)
        except ValueError:
            return 0  # an unusable contact is not a reason to lose the activity
        added = contact_store.attach_contact(
            conn,
            workspace_id=self.workspace_id,
            identity_id=identity_id,
            kind=kind.value,
            pseudonym=pseudonym,
            ciphertext=self.protector.encrypt(value),
            now=now,
        )
        if not added:
            return 0  # known already; also keeps an operator's unmerge from being redone
        holders = contact_store.members_sharing(
            conn, workspace_id=self.workspace_id, kind=kind.value, pseudonym=pseudonym
        )
        survivor, others = holders[0], holders[1:]
        for other in others:
            merge_members(
                conn,
                workspace_id=self.workspace_id,
                survivor_id=survivor,
                merged_id=other,
                reason=f"shared {kind.value}",
                actor="import",
                now=now,
            )
        return len(others)
