"""Coupons: campaigns, issue, redeem exactly once, expire.

A campaign says what a coupon is worth (an amount in minor units, or a percent
off), when coupons can be issued and used, how long each lasts, and how many a
member (and everyone together) may get. A coupon's code is 60 random bits
(12 Crockford base-32 characters, `secrets`), so codes cannot be guessed or
enumerated. Redemption is one conditional UPDATE (issued → redeemed while
unexpired): of any number of concurrent attempts exactly one wins; a replay
with the same redeem key gets the first answer back. Expiry needs no job: a
coupon past `expires_at` simply cannot be redeemed and shows as expired.
"""

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, and_, func, insert, or_, select, update

from qunyun.domain import ActivityKind, Clock, IdempotencyConflictError
from qunyun.engage.errors import CouponError
from qunyun.errors import NotFoundError
from qunyun.store.engage_tables import coupon_campaigns, coupons
from qunyun.store.member_activity import MemberActivity, record_member_activity, require_member

# Crockford's base 32: no I, L, O, U, so a code read aloud or retyped stays unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 12


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalise_code(code: str) -> str:
    """Accept what a member types: lower case, spaces, O for 0, I/L for 1."""
    cleaned = code.upper().replace(" ", "").replace("-", "").translate(str.maketrans("OIL", "011"))
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


@dataclass(frozen=True)
class CampaignSpec:
    slug: str
    name: str
    kind: str  # amount | percent
    value: int  # minor units (amount) or percent off (1-100)
    starts_at: datetime
    ends_at: datetime
    currency: str | None = "CNY"
    validity_days: int | None = None
    per_member_limit: int = 1
    total_limit: int | None = None
    min_spend_minor: int | None = None

    def check(self) -> None:
        problems = []
        if self.kind not in ("amount", "percent"):
            problems.append(f"kind must be amount or percent, not {self.kind!r}")
        if self.value <= 0 or (self.kind == "percent" and self.value > 100):
            problems.append(f"value {self.value} out of range for {self.kind}")
        if self.ends_at <= self.starts_at:
            problems.append("ends_at must be after starts_at")
        if self.per_member_limit < 1 or (self.total_limit is not None and self.total_limit < 1):
            problems.append("limits must be at least 1")
        if problems:
            raise CouponError(f"campaign {self.slug!r}: " + "; ".join(problems), code="coupon.bad_campaign")

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Coupon:
    code: str
    campaign: str
    member_id: int
    status: str  # issued | redeemed | expired | void
    kind: str
    value: int
    currency: str | None
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    replayed: bool = False


def _coupon_query() -> Select[Any]:
    return select(
        coupons.c.code,
        coupon_campaigns.c.slug,
        coupons.c.member_id,
        coupons.c.status,
        coupon_campaigns.c.kind,
        coupon_campaigns.c.value,
        coupon_campaigns.c.currency,
        coupons.c.issued_at,
        coupons.c.expires_at,
        coupons.c.redeemed_at,
        coupons.c.issue_key,
        coupons.c.redeem_key,
    ).join(coupon_campaigns, coupon_campaigns.c.id == coupons.c.campaign_id)


class Coupons:
    def __init__(self, engine: Engine, workspace_id: int, clock: Clock) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock

    def create_campaign(self, spec: CampaignSpec) -> int:
        """Create it, or return the existing one if it is the same; a different one is refused."""
        spec.check()
        with self.engine.begin() as conn:
            found = conn.execute(
                select(coupon_campaigns).where(
                    coupon_campaigns.c.workspace_id == self.workspace_id, coupon_campaigns.c.slug == spec.slug
                )
            ).first()
            if found is not None:
                same = CampaignSpec(
                    found.slug, found.name, found.kind, found.value, found.starts_at, found.ends_at,
                    found.currency, found.validity_days, found.per_member_limit, found.total_limit,
                    found.min_spend_minor,
                )  # fmt: skip
                if same.fingerprint() != spec.fingerprint():
                    raise IdempotencyConflictError(f"campaign:{spec.slug}")
                return int(found.id)
            values = asdict(spec) | {"workspace_id": self.workspace_id, "issued_count": 0}
            result = conn.execute(insert(coupon_campaigns).values(**values, created_at=self.clock.now()))
            assert result.inserted_primary_key is not None
            return int(result.inserted_primary_key[0])

    def issue(self, campaign: str, member_id: int, *, key: str) -> Coupon:
        with self.engine.begin() as conn:
            return issue_coupon(conn, self.workspace_id, campaign, member_id, key=key, at=self.clock.now())

    def redeem(
        self, code: str, *, key: str, order_ref: str | None = None, order_minor: int | None = None
    ) -> Coupon:
        with self.engine.begin() as conn:
            return redeem_coupon(
                conn,
                self.workspace_id,
                code,
                key=key,
                at=self.clock.now(),
                order_ref=order_ref,
                order_minor=order_minor,
            )

    def void(self, code: str) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(coupons)
                .where(coupons.c.workspace_id == self.workspace_id, coupons.c.code == normalise_code(code))
                .where(coupons.c.status == "issued")
                .values(status="void")
            )
        if not result.rowcount:
            raise CouponError(f"coupon {code}: not found or no longer open", code="coupon.not_open")

    def of_member(self, member_id: int) -> list[Coupon]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                _coupon_query()
                .where(coupons.c.workspace_id == self.workspace_id, coupons.c.member_id == member_id)
                .order_by(coupons.c.issued_at.desc(), coupons.c.id.desc())
            ).all()
        return [_coupon(row, self.clock.now()) for row in rows]

    def campaign_stats(self) -> list[dict[str, object]]:
        now = self.clock.now()
        open_now = and_(coupons.c.status == "issued", coupons.c.expires_at > now)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    coupon_campaigns.c.slug,
                    coupon_campaigns.c.name,
                    coupon_campaigns.c.ends_at,
                    func.count(coupons.c.id),
                    func.count(coupons.c.id).filter(coupons.c.status == "redeemed"),
                    func.count(coupons.c.id).filter(open_now),
                )
                .outerjoin(coupons, coupons.c.campaign_id == coupon_campaigns.c.id)
                .where(coupon_campaigns.c.workspace_id == self.workspace_id)
                .group_by(coupon_campaigns.c.id, coupon_campaigns.c.slug, coupon_campaigns.c.name)
                .group_by(coupon_campaigns.c.ends_at)
                .order_by(coupon_campaigns.c.slug)
            ).all()
        return [
            {"campaign": r[0], "name": r[1], "ends_at": r[2], "issued": r[3], "redeemed": r[4], "open": r[5]}
            for r in rows
        ]


def _coupon(r: Row[Any], now: datetime, replayed: bool = False) -> Coupon:
    """A coupon from a `_coupon_query` row; an open one past its date shows as expired."""
    status = "expired" if r.status == "issued" and r.expires_at <= now else r.status
    return Coupon(
        r.code, r.slug, int(r.member_id), status, r.kind, int(r.value), r.currency,
        r.issued_at, r.expires_at, r.redeemed_at, replayed,
    )  # fmt: skip


def issue_coupon(
    conn: Connection, workspace_id: int, campaign: str, member_id: int, *, key: str, at: datetime
) -> Coupon:
    """Issue one coupon of `campaign` to the member, in the caller's transaction."""
    earlier = conn.execute(
        _coupon_query().where(coupons.c.workspace_id == workspace_id, coupons.c.issue_key == key)
    ).first()
    if earlier is not None:
        if earlier.slug != campaign or int(earlier.member_id) != member_id:
            raise IdempotencyConflictError(key)
        return _coupon(earlier, at, replayed=True)
    require_member(conn, workspace_id, member_id)
    spec = conn.execute(
        select(coupon_campaigns).where(
            coupon_campaigns.c.workspace_id == workspace_id, coupon_campaigns.c.slug == campaign
        )
    ).first()
    if spec is None:
        raise NotFoundError(f"coupon campaign {campaign!r} not found", code="coupon.no_campaign")
    if not spec.starts_at <= at < spec.ends_at:
        raise CouponError(f"campaign {campaign!r} is not running now", code="coupon.campaign_closed")
    # Counting under the campaign row's lock: concurrent issues of one campaign queue here.
    taken = conn.execute(
        update(coupon_campaigns)
        .where(coupon_campaigns.c.id == spec.id)
        .where(
            or_(
                coupon_campaigns.c.total_limit.is_(None),
                coupon_campaigns.c.issued_count < coupon_campaigns.c.total_limit,
            )
        )
        .values(issued_count=coupon_campaigns.c.issued_count + 1)
    )
    if not taken.rowcount:
        raise CouponError(
            f"campaign {campaign!r} has issued all {spec.total_limit} coupons", code="coupon.sold_out"
        )
    held = conn.execute(
        select(func.count()).where(coupons.c.campaign_id == spec.id, coupons.c.member_id == member_id)
    ).scalar_one()
    if held >= spec.per_member_limit:
        raise CouponError(
            f"member {member_id} has {held} coupon(s) of {campaign!r} (limit {spec.per_member_limit})",
            code="coupon.member_limit",
        )
    expires = spec.ends_at
    if spec.validity_days:
        expires = min(expires, at + timedelta(days=spec.validity_days))
    code = new_code()
    conn.execute(
        insert(coupons).values(
            workspace_id=workspace_id,
            campaign_id=spec.id,
            member_id=member_id,
            code=code,
            status="issued",
            issued_at=at,
            expires_at=expires,
            issue_key=key,
        )
    )
    return Coupon(
        code, campaign, member_id, "issued", spec.kind, spec.value, spec.currency, at, expires, None
    )


def redeem_coupon(
    conn: Connection,
    workspace_id: int,
    code: str,
    *,
    key: str,
    at: datetime,
    order_ref: str | None = None,
    order_minor: int | None = None,
) -> Coupon:
    """Mark the coupon used, once; records a coupon_redeem activity with it."""
    code = normalise_code(code)
    row = conn.execute(
        _coupon_query().where(coupons.c.workspace_id == workspace_id, coupons.c.code == code)
    ).first()
    if row is None:
        raise CouponError(f"coupon {code}: no such code", code="coupon.unknown")
    minimum = conn.execute(
        select(coupon_campaigns.c.min_spend_minor)
        .where(coupon_campaigns.c.slug == row.slug)
        .where(coupon_campaigns.c.workspace_id == workspace_id)
    ).scalar_one()
    if minimum is not None and order_minor is not None and order_minor < minimum:
        raise CouponError(
            f"coupon {code}: needs an order of at least {minimum / 100:.2f}", code="coupon.min_spend"
        )
    won = conn.execute(
        update(coupons)
        .where(coupons.c.workspace_id == workspace_id, coupons.c.code == code)
        .where(coupons.c.status == "issued", coupons.c.expires_at > at)
        .values(status="redeemed", redeemed_at=at, redeem_key=key, order_ref=order_ref)
    )
    if not won.rowcount:
        return _refused(conn, workspace_id, code, key, at)
    record_member_activity(
        conn,
        workspace_id,
        MemberActivity(
            int(row.member_id),
            ActivityKind.COUPON_REDEEM,
            at,
            f"coupon:{code}",
            text=row.slug,
            reference_id=order_ref,
        ),
    )
    redeemed = conn.execute(_coupon_query().where(coupons.c.code == code)).one()
    return _coupon(redeemed, at)


def _refused(conn: Connection, workspace_id: int, code: str, key: str, at: datetime) -> Coupon:
    row = conn.execute(
        _coupon_query().where(coupons.c.workspace_id == workspace_id, coupons.c.code == code)
    ).one()
    if row.status == "redeemed" and row.redeem_key == key:
        return _coupon(row, at, replayed=True)
    if row.status == "redeemed":
        raise CouponError(f"coupon {code}: already redeemed", code="coupon.already_redeemed")
    if row.status == "void":
        raise CouponError(f"coupon {code}: voided", code="coupon.void")
    raise CouponError(f"coupon {code}: expired", code="coupon.expired")
