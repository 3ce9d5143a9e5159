"""What the engine knows about a member when it decides and writes: one `MemberView`.

Loaded in batches (one query per table for a whole claim of enrolments), so
the engine's cost per step stays flat as communities grow. The same view
feeds audience filters, conditions, message templates and send priority.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, select

from qunyun.journeys.definition import Audience
from qunyun.store.engage_tables import ledger_accounts
from qunyun.store.journey_tables import member_optouts, member_tags
from qunyun.store.tables import (
    communities,
    identities,
    member_behaviour,
    member_scores,
    member_state,
    member_topics,
    members,
)

CHUNK = 900  # bound parameters per IN list (SQLite's old limit is 999)


@dataclass
class MemberView:
    member_id: int
    community_id: int
    nickname: str
    platform: str
    address: str | None  # the member's id on the community's platform (where a message goes)
    community_name: str
    community_address: str
    zone: ZoneInfo
    segment: str | None = None
    stage: str | None = None
    is_member: bool = True
    joined_at: datetime | None = None
    last_message_at: datetime | None = None
    interactions_30d: int = 0
    p_alive: float | None = None
    value: float | None = None  # expected customer value, currency units
    points: int = 0
    tags: set[str] = field(default_factory=set)
    interests: list[tuple[str, float]] = field(default_factory=list)  # strongest first
    opted_out: bool = False
    excluded: bool = False  # staff, bot or merged away: never enrolled

    @property
    def top_interest(self) -> str:
        return self.interests[0][0] if self.interests else ""

    def days_since(self, at: datetime | None, now: datetime) -> float | None:
        return None if at is None else (now - at).total_seconds() / 86400

    def priority(self) -> float:
        """Who gets a scarce send first: likely to be alive, then valuable (docs/playbooks.md)."""
        alive = 0.5 if self.p_alive is None else self.p_alive
        return round(alive * (1 + math.log1p(max(self.value or 0.0, 0.0))), 6)

    def variables(self, now: datetime) -> dict[str, Any]:
        silent = self.days_since(self.last_message_at, now)
        return {
            "member": {
                "id": self.member_id,
                "nickname": self.nickname,
                "top_interest": self.top_interest,
                "interests": [name for name, _ in self.interests],
                "points": self.points,
                "segment": self.segment or "",
                "stage": self.stage or "",
                "days_silent": int(silent) if silent is not None else None,
            },
            "community": {"name": self.community_name},
            "today": now.astimezone(self.zone).date().isoformat(),
        }


def load_views(
    conn: Connection, workspace_id: int, pairs: Iterable[tuple[int, int]], default_zone: ZoneInfo
) -> dict[tuple[int, int], MemberView]:
    """Views of (member, community) pairs; pairs whose member or community is unknown are left out."""
    wanted = set(pairs)
    out: dict[tuple[int, int], MemberView] = {}
    member_ids = sorted({m for m, _ in wanted})
    community_rows = _communities(conn, workspace_id, {c for _, c in wanted}, default_zone)
    for chunk in _chunks(member_ids):
        people = {
            r.id: r
            for r in conn.execute(
                select(
                    members.c.id,
                    members.c.display_name,
                    members.c.is_staff,
                    members.c.is_bot,
                    members.c.merged_into_id,
                ).where(members.c.id.in_(chunk), members.c.workspace_id == workspace_id)
            )
        }
        ids = _identities(conn, chunk)
        for m, c in wanted:
            if m in people and c in community_rows:
                person, (cname, caddress, platform, zone) = people[m], community_rows[c]
                nick, address = ids.get((m, platform), (None, None))
                out[(m, c)] = MemberView(
                    member_id=m,
                    community_id=c,
                    nickname=nick or person.display_name or f"#{m}",
                    platform=platform,
                    address=address,
                    community_name=cname,
                    community_address=caddress,
                    zone=zone,
                    excluded=bool(person.is_staff or person.is_bot or person.merged_into_id is not None),
                )
        _add_state(conn, chunk, out)
        _add_scores(conn, chunk, out)
        _add_member_wide(conn, workspace_id, chunk, out)
    return out


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _communities(
    conn: Connection, workspace_id: int, ids: set[int], default_zone: ZoneInfo
) -> dict[int, tuple[str, str, str, ZoneInfo]]:
    rows = conn.execute(
        select(communities).where(
            communities.c.workspace_id == workspace_id, communities.c.id.in_(sorted(ids))
        )
    )
    return {
        r.id: (
            r.name or r.external_id,
            r.external_id,
            r.platform,
            ZoneInfo(r.timezone) if r.timezone else default_zone,
        )
        for r in rows
    }


def _identities(conn: Connection, chunk: Sequence[int]) -> dict[tuple[int, str], tuple[str | None, str]]:
    rows = conn.execute(
        select(identities.c.member_id, identities.c.platform, identities.c.external_id, identities.c.nickname)
        .where(identities.c.member_id.in_(chunk))
        .order_by(identities.c.id)
    )
    found: dict[tuple[int, str], tuple[str | None, str]] = {}
    for r in rows:
        found.setdefault((r.member_id, r.platform), (r.nickname, r.external_id))
    return found


def _add_state(conn: Connection, chunk: Sequence[int], out: dict[tuple[int, int], MemberView]) -> None:
    c = member_state.c
    rows = conn.execute(
        select(
            c.member_id, c.community_id, c.segment, c.stage, c.is_member, c.joined_at, c.last_message_at,
            c.interactions_30d,
        ).where(c.member_id.in_(chunk))
    )  # fmt: skip
    for r in rows:
        view = out.get((r.member_id, r.community_id))
        if view is not None:
            view.segment, view.stage, view.is_member = r.segment, r.stage, r.is_member
            view.joined_at, view.last_message_at = r.joined_at, r.last_message_at
            view.interactions_30d = r.interactions_30d


def _add_scores(conn: Connection, chunk: Sequence[int], out: dict[tuple[int, int], MemberView]) -> None:
    rows = conn.execute(
        select(
            member_scores.c.member_id,
            member_scores.c.community_id,
            member_scores.c.p_alive,
            member_scores.c.clv_minor,
        ).where(member_scores.c.member_id.in_(chunk))
    )
    for r in rows:
        view = out.get((r.member_id, r.community_id))
        if view is not None:
            view.p_alive = r.p_alive
            view.value = None if r.clv_minor is None else r.clv_minor / 100


def _add_member_wide(
    conn: Connection, workspace_id: int, chunk: Sequence[int], out: dict[tuple[int, int], MemberView]
) -> None:
    by_member: dict[int, list[MemberView]] = defaultdict(list)
    wanted = set(chunk)
    for view in out.values():
        if view.member_id in wanted:
            by_member[view.member_id].append(view)
    points = conn.execute(
        select(ledger_accounts.c.owner_id, ledger_accounts.c.balance).where(
            ledger_accounts.c.workspace_id == workspace_id,
            ledger_accounts.c.kind == "member",
            ledger_accounts.c.name == "points",
            ledger_accounts.c.owner_id.in_(chunk),
        )
    )
    for owner, balance in points:
        for view in by_member[owner]:
            view.points = int(balance)
    _add_marks(conn, chunk, by_member, out)


def _add_marks(
    conn: Connection,
    chunk: Sequence[int],
    by_member: dict[int, list[MemberView]],
    out: dict[tuple[int, int], MemberView],
) -> None:
    # Operator and playbook tags, and the behavioural tags the refresh stored: audiences see both
    # (two queries: one IN list each stays under SQLite's old parameter limit).
    for table in (member_tags, member_behaviour):
        for member_id, tag in conn.execute(
            select(table.c.member_id, table.c.tag).where(table.c.member_id.in_(chunk))
        ):
            for view in by_member[member_id]:
                view.tags.add(tag)
    for (member_id,) in conn.execute(
        select(member_optouts.c.member_id).where(member_optouts.c.member_id.in_(chunk))
    ):
        for view in by_member[member_id]:
            view.opted_out = True
    topic_rows = conn.execute(
        select(
            member_topics.c.member_id,
            member_topics.c.community_id,
            member_topics.c.topic,
            member_topics.c.score,
        )
        # The primary key starts with the community: name the communities so the index is used.
        .where(
            member_topics.c.community_id.in_(
                sorted({v.community_id for vs in by_member.values() for v in vs})
            ),
            member_topics.c.member_id.in_(chunk),
        )
        .order_by(member_topics.c.score.desc())
    )
    for r in topic_rows:
        found = out.get((r.member_id, r.community_id))
        if found is not None:
            found.interests.append((r.topic, float(r.score)))


def admits(audience: Audience, view: MemberView, now: datetime) -> bool:
    """Does the member pass the audience filters? Excluded and opted-out members never do."""
    if view.excluded or view.opted_out:
        return False
    checks = (
        audience.segments is None or view.segment in audience.segments,
        audience.stages is None or view.stage in audience.stages,
        audience.platforms is None or view.platform in audience.platforms,
        audience.communities is None
        or view.community_name in audience.communities
        or view.community_address in audience.communities,
        _tags_ok(audience, view.tags),
        _interests_ok(audience, view),
        audience.points is None or audience.points.holds(view.points),
        audience.p_alive is None or audience.p_alive.holds(view.p_alive),
        audience.value is None or audience.value.holds(view.value),
        audience.days_since_join is None
        or audience.days_since_join.holds(view.days_since(view.joined_at, now)),
        audience.days_since_last_message is None
        or audience.days_since_last_message.holds(_silent_days(view, now)),
    )
    return all(checks)


def _silent_days(view: MemberView, now: datetime) -> float | None:
    # Never spoke counts from the day they joined.
    return view.days_since(view.last_message_at or view.joined_at, now)


def _tags_ok(audience: Audience, tags: set[str]) -> bool:
    return (
        (audience.tags_any is None or bool(tags & set(audience.tags_any)))
        and (audience.tags_all is None or set(audience.tags_all) <= tags)
        and (audience.tags_none is None or not tags & set(audience.tags_none))
    )


def _interests_ok(audience: Audience, view: MemberView) -> bool:
    if audience.interests_any is None:
        return True
    wanted = set(audience.interests_any)
    return any(name in wanted and score >= audience.min_interest_score for name, score in view.interests)


def ranked(audience: Audience, views: list[MemberView]) -> list[MemberView]:
    """Apply `rank_by` (descending, unknowns last) and `limit`."""
    if audience.rank_by:
        keys = audience.rank_by

        def key(view: MemberView) -> tuple[float, ...]:
            values = {
                "p_alive": view.p_alive,
                "value": view.value,
                "interactions_30d": float(view.interactions_30d),
                "points": float(view.points),
            }
            return tuple(-(values[k] if values[k] is not None else -math.inf) for k in keys)  # type: ignore[operator]

        views = sorted(views, key=lambda v: (key(v), v.member_id))
    if not audience.limit:
        return views
    if audience.limit_per == "workspace":
        return views[: audience.limit]
    taken: dict[int, int] = defaultdict(int)
    kept = []
    for view in views:
        if taken[view.community_id] < audience.limit:
            taken[view.community_id] += 1
            kept.append(view)
    return kept


def population(
    conn: Connection, workspace_id: int, audience: Audience, now: datetime, default_zone: ZoneInfo
) -> list[MemberView]:
    """Every member (per community) the audience admits, ranked; for schedules, manual runs, dry-runs."""
    query = (
        select(member_state.c.member_id, member_state.c.community_id)
        .join(communities, communities.c.id == member_state.c.community_id)
        .where(communities.c.workspace_id == workspace_id, member_state.c.is_member.is_(True))
    )
    if audience.segments is not None:
        query = query.where(member_state.c.segment.in_([s.value for s in audience.segments]))
    if audience.stages is not None:
        query = query.where(member_state.c.stage.in_([s.value for s in audience.stages]))
    pairs = [(r.member_id, r.community_id) for r in conn.execute(query.order_by(member_state.c.member_id))]
    views: list[MemberView] = []
    for start in range(0, len(pairs), 5000):
        loaded = load_views(conn, workspace_id, pairs[start : start + 5000], default_zone)
        views.extend(v for v in loaded.values() if admits(audience, v, now))
    return ranked(audience, views)


def live_member(conn: Connection, workspace_id: int, member_id: int) -> bool:
    row = conn.execute(
        select(members.c.id).where(
            and_(
                members.c.id == member_id,
                members.c.workspace_id == workspace_id,
                members.c.merged_into_id.is_(None),
            )
        )
    ).first()
    return row is not None
