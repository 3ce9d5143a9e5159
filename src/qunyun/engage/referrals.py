"""Referrals (裂变): personal invite codes, attribution on join, rewards on both sides, tiers.

A member's invite code is 8 random Crockford base-32 characters. When someone
joins with a code, `attribute` decides once per invitee:

  credited  → the inviter earns the `invite` rule, the invitee `invited`, an
              activity records the referral, and every referral tier the
              inviter has now reached issues its coupon (1 invite → 20 off,
              3 invites → 50 off …), each exactly once;
  rejected  → with the reason: `self_invite` (the inviter's own code),
              `same_person` (the two share a phone/union id), `returning_member`
              (the invitee was active here before the code existed: a rejoin,
              not a new member), `already_referred` (someone else's code came
              first — the first attribution stands).
Everything of one attribution commits together; a replay changes nothing.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select

from qunyun.domain import ActivityKind, Clock
from qunyun.engage import ledger
from qunyun.engage.accounts import Owner
from qunyun.engage.coupons import ALPHABET, issue_coupon
from qunyun.engage.errors import CouponError, ReferralError
from qunyun.engage.points import Ledger
from qunyun.errors import NotFoundError
from qunyun.store.engage_tables import referral_codes, referrals
from qunyun.store.member_activity import MemberActivity, record_member_activity, require_member
from qunyun.store.tables import activities, contacts, identities

CODE_CHARS = 8


@dataclass(frozen=True)
class ReferralTier:
    invites: int
    campaign: str  # coupon campaign slug


@dataclass(frozen=True)
class Attribution:
    inviter_id: int
    invitee_id: int
    status: str  # credited | rejected
    reason: str
    replayed: bool = False
    tier_coupons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))


class Referrals:
    def __init__(
        self,
        engine: Engine,
        workspace_id: int,
        clock: Clock,
        points: Ledger,
        tiers: Sequence[ReferralTier] = (),
    ) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock
        self.points = points
        self.tiers = sorted(tiers, key=lambda t: t.invites)

    def code_for(self, member_id: int) -> str:
        """The member's invite code, made on first use."""
        with self.engine.begin() as conn:
            require_member(conn, self.workspace_id, member_id)
            found = conn.execute(
                select(referral_codes.c.code).where(
                    referral_codes.c.workspace_id == self.workspace_id,
                    referral_codes.c.member_id == member_id,
                )
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
            code = _new_code()
            conn.execute(
                insert(referral_codes).values(
                    workspace_id=self.workspace_id,
                    member_id=member_id,
                    code=code,
                    created_at=self.clock.now(),
                )
            )
            return code

    def attribute(self, invitee_id: int, code: str, *, community_id: int | None = None) -> Attribution:
        """See `_attribute`; re-run if PostgreSQL aborts it to break a deadlock with another writer."""
        return ledger.retrying(lambda: self._attribute(invitee_id, code, community_id=community_id))

    def _attribute(self, invitee_id: int, code: str, *, community_id: int | None = None) -> Attribution:
        self.points.books()
        now = self.clock.now()
        code = code.strip().upper()
        with self.engine.begin() as conn:
            require_member(conn, self.workspace_id, invitee_id)
            owner = conn.execute(
                select(referral_codes.c.member_id, referral_codes.c.created_at).where(
                    referral_codes.c.workspace_id == self.workspace_id, referral_codes.c.code == code
                )
            ).first()
            if owner is None:
                raise ReferralError(f"invite code {code!r} not found", code="referral.unknown_code")
            inviter = int(owner.member_id)
            earlier = self._earlier(conn, invitee_id)
            if earlier is not None:
                same = earlier.code == code
                reason = earlier.reason if same else "already_referred"
                status = earlier.status if same else "rejected"
                return Attribution(int(earlier.inviter_id), invitee_id, status, reason, replayed=same)
            reason = self._refusal(conn, inviter, invitee_id, owner.created_at)
            status = "rejected" if reason else "credited"
            referral_id = self._store(
                conn, inviter, invitee_id, code, community_id, status, reason or "ok", now
            )
            if reason:
                return Attribution(inviter, invitee_id, status, reason)
            coupons, problems = self._reward(conn, referral_id, inviter, invitee_id, community_id, now)
        return Attribution(inviter, invitee_id, "credited", "ok", False, coupons, problems)

    def stats(self, member_id: int) -> dict[str, object]:
        with self.engine.connect() as conn:
            counts: dict[str, int] = {
                str(status): int(n)
                for status, n in conn.execute(
                    select(referrals.c.status, func.count())
                    .where(referrals.c.workspace_id == self.workspace_id, referrals.c.inviter_id == member_id)
                    .group_by(referrals.c.status)
                )
            }
        credited = int(counts.get("credited", 0))
        reached = [t.invites for t in self.tiers if credited >= t.invites]
        upcoming = [t.invites for t in self.tiers if credited < t.invites]
        return {
            "member": member_id,
            "credited": credited,
            "rejected": int(counts.get("rejected", 0)),
            "tiers_reached": reached,
            "next_tier": upcoming[0] if upcoming else None,
        }

    def _earlier(self, conn: Connection, invitee_id: int) -> Row[Any] | None:
        return conn.execute(
            select(referrals).where(
                referrals.c.workspace_id == self.workspace_id, referrals.c.invitee_id == invitee_id
            )
        ).first()

    def _refusal(self, conn: Connection, inviter: int, invitee: int, code_created: datetime) -> str | None:
        if inviter == invitee:
            return "self_invite"
        if self._share_a_contact(conn, inviter, invitee):
            return "same_person"
        first_seen = conn.execute(
            select(func.min(activities.c.occurred_at))
            .join(identities, identities.c.id == activities.c.identity_id)
            .where(identities.c.member_id == invitee, identities.c.workspace_id == self.workspace_id)
        ).scalar_one_or_none()
        if first_seen is not None and first_seen < code_created:
            return "returning_member"
        return None

    def _share_a_contact(self, conn: Connection, a: int, b: int) -> bool:
        def pseudonyms(member: int) -> set[tuple[str, str]]:
            rows = conn.execute(
                select(contacts.c.kind, contacts.c.pseudonym)
                .join(identities, identities.c.id == contacts.c.identity_id)
                .where(identities.c.member_id == member, identities.c.workspace_id == self.workspace_id)
            ).all()
            return {(str(kind), str(p)) for kind, p in rows}

        return bool(pseudonyms(a) & pseudonyms(b))

    def _store(
        self,
        conn: Connection,
        inviter: int,
        invitee: int,
        code: str,
        community_id: int | None,
        status: str,
        reason: str,
        at: datetime,
    ) -> int:
        result = conn.execute(
            insert(referrals).values(
                workspace_id=self.workspace_id,
                inviter_id=inviter,
                invitee_id=invitee,
                community_id=community_id,
                code=code,
                joined_at=at,
                status=status,
                reason=reason,
                created_at=at,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])

    def _reward(
        self,
        conn: Connection,
        referral_id: int,
        inviter: int,
        invitee: int,
        community_id: int | None,
        at: datetime,
    ) -> tuple[list[str], list[str]]:
        for member, rule in ((inviter, "invite"), (invitee, "invited")):
            amount = (self.points.policy.earn or {}).get(rule, 0)
            if amount > 0:
                ledger.earn(
                    conn,
                    self.workspace_id,
                    Owner.member(member),
                    amount,
                    key=f"referral:{referral_id}:{rule}",
                    at=at,
                    validity=self.points.policy.validity,
                    rule=rule,
                    books=self.points.books(),
                )
        record_member_activity(
            conn,
            self.workspace_id,
            MemberActivity(
                inviter, ActivityKind.REFERRAL, at, f"referral:{referral_id}", community_id, text=str(invitee)
            ),
        )
        return self._tier_coupons(conn, inviter, at)

    def _tier_coupons(self, conn: Connection, inviter: int, at: datetime) -> tuple[list[str], list[str]]:
        credited = conn.execute(
            select(func.count()).where(
                referrals.c.workspace_id == self.workspace_id,
                referrals.c.inviter_id == inviter,
                referrals.c.status == "credited",
            )
        ).scalar_one()
        codes, problems = [], []
        for tier in self.tiers:
            if credited < tier.invites:
                break
            savepoint = conn.begin_nested()
            try:
                coupon = issue_coupon(
                    conn,
                    self.workspace_id,
                    tier.campaign,
                    inviter,
                    key=f"referral-tier:{inviter}:{tier.invites}",
                    at=at,
                )
                savepoint.commit()
                if not coupon.replayed:
                    codes.append(coupon.code)
            except (CouponError, NotFoundError) as exc:
                # A sold-out or closed campaign must not cancel the referral itself.
                savepoint.rollback()
                problems.append(f"tier {tier.invites} ({tier.campaign}): {exc.message}")
        return codes, problems
