"""Identities and members: resolving platform accounts to members, in batches.

An identity is one account on one platform (`telegram:user123`); a member is
the person, who may hold several identities. Importers hand over platform ids;
this directory returns identity ids, creating a member and identity for an
account seen for the first time. A bounded cache keeps memory flat however
many members a file holds.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, tuple_, update

from qunyun.store.tables import identities, members

IdentityKey = tuple[str, str]  # (platform, external id)

_LOOKUP_CHUNK = 400


@dataclass(frozen=True, slots=True)
class IdentityRef:
    identity_id: int
    member_id: int
    nickname: str | None


class IdentityDirectory:
    def __init__(self, workspace_id: int, cache_size: int = 200_000) -> None:
        self.workspace_id = workspace_id
        self._cache: OrderedDict[IdentityKey, IdentityRef] = OrderedDict()
        self._cache_size = cache_size

    def forget(self) -> None:
        """Drop cached ids, e.g. after a rolled-back batch whose new rows never existed."""
        self._cache.clear()

    def _remember(self, key: IdentityKey, ref: IdentityRef) -> None:
        self._cache[key] = ref
        self._cache.move_to_end(key)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def resolve(
        self, conn: Connection, wanted: dict[IdentityKey, str | None], now: datetime
    ) -> dict[IdentityKey, IdentityRef]:
        """Identity refs for every key in `wanted` (key → latest nickname), creating new ones."""
        found: dict[IdentityKey, IdentityRef] = {}
        missing: list[IdentityKey] = []
        for key in wanted:
            ref = self._cache.get(key)
            if ref is None:
                missing.append(key)
            else:
                found[key] = ref
        if missing:
            found.update(self._load(conn, missing))
            new_keys = [key for key in missing if key not in found]
            found.update(self._create(conn, new_keys, wanted, now))
        self._refresh_nicknames(conn, wanted, found)
        for key, ref in found.items():
            self._remember(key, ref)
        return found

    def _load(self, conn: Connection, keys: Sequence[IdentityKey]) -> dict[IdentityKey, IdentityRef]:
        loaded: dict[IdentityKey, IdentityRef] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            rows = conn.execute(
                select(
                    identities.c.platform,
                    identities.c.external_id,
                    identities.c.id,
                    identities.c.member_id,
                    identities.c.nickname,
                ).where(
                    identities.c.workspace_id == self.workspace_id,
                    tuple_(identities.c.platform, identities.c.external_id).in_(chunk),
                )
            )
            for row in rows:
                loaded[(row.platform, row.external_id)] = IdentityRef(row.id, row.member_id, row.nickname)
        return loaded

    def _create(
        self,
        conn: Connection,
        keys: Sequence[IdentityKey],
        nicknames: dict[IdentityKey, str | None],
        now: datetime,
    ) -> dict[IdentityKey, IdentityRef]:
        if not keys:
            return {}
        member_ids = (
            conn.execute(
                insert(members).returning(members.c.id, sort_by_parameter_order=True),
                [
                    {
                        "workspace_id": self.workspace_id,
                        "display_name": nicknames[key],
                        "is_staff": False,
                        "is_bot": False,
                        "created_at": now,
                    }
                    for key in keys
                ],
            )
            .scalars()
            .all()
        )
        identity_ids = (
            conn.execute(
                insert(identities).returning(identities.c.id, sort_by_parameter_order=True),
                [
                    {
                        "workspace_id": self.workspace_id,
                        "member_id": member_id,
                        "original_member_id": member_id,
                        "platform": key[0],
                        "external_id": key[1],
                        "nickname": nicknames[key],
                        "created_at": now,
                    }
                    for key, member_id in zip(keys, member_ids, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        return {
            key: IdentityRef(identity_id, member_id, nicknames[key])
            for key, identity_id, member_id in zip(keys, identity_ids, member_ids, strict=True)
        }

    @staticmethod
    def _refresh_nicknames(
        conn: Connection,
        wanted: dict[IdentityKey, str | None],
        found: dict[IdentityKey, IdentityRef],
    ) -> None:
        """Keep the latest nickname a source reports (people rename themselves)."""
        for key, nickname in wanted.items():
            ref = found[key]
            if nickname and nickname != ref.nickname:
                conn.execute(
                    update(identities).where(identities.c.id == ref.identity_id).values(nickname=nickname)
                )
                found[key] = IdentityRef(ref.identity_id, ref.member_id, nickname)
