"""A small hand-made community for journey tests, and a loopback channel that counts what it is sent."""

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, text, update

from conftest import T0
from qunyun.config import Settings
from qunyun.connectors.base import Attempt, Channel, MemorySendLog, OutboundMessage, Outcome, Recipient
from qunyun.domain import Clock
from qunyun.journeys.catalog import Entry
from qunyun.journeys.service import Journeys
from qunyun.store.tables import (
    activities,
    communities,
    identities,
    member_state,
    members,
    segment_transitions,
)
from qunyun.store.workspace import ensure_community


class CountingChannel(Channel):
    """Accepts everything (or what `script` says) and counts each key it was asked to deliver."""

    name = "loopback"

    def __init__(self, script: list[Outcome] | None = None) -> None:
        super().__init__(MemorySendLog())
        self.sent: list[tuple[str, Recipient, str]] = []
        self.script = list(script or [])

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        outcome = self.script.pop(0) if self.script else Outcome.SENT
        if outcome is Outcome.SENT:
            self.sent.append((key, recipient, message.text))
            return Attempt(Outcome.SENT, platform_id=str(len(self.sent)))
        return Attempt(
            outcome, retry_after=0.0 if outcome is Outcome.RETRY else None, error=f"scripted {outcome}"
        )

    def counts(self) -> Counter[str]:
        return Counter(key for key, _, _ in self.sent)


def journeys_for(
    settings: Settings, engine: Engine, clock: Clock, workspace_id: int, channel: Channel, **journeys: Any
) -> Journeys:
    """Journeys whose every member platform sends through `channel` (named "loopback")."""
    config = settings.journeys.model_copy(
        update={"channels": {p: "loopback" for p in ("wechat", "wecom", "telegram", "other")}, **journeys}
    )
    tuned = settings.model_copy(update={"journeys": config})
    return Journeys(tuned, engine, clock, workspace_id, channels=lambda name: channel, links=_link)


def _link(member_id: int, target: str, expires: datetime) -> str:
    return f"https://h5.test/m/{member_id}/{target}"


def community(
    engine: Engine, workspace_id: int, name: str = "g1", platform: str = "wechat", tz: str | None = None
) -> int:
    with engine.begin() as conn:
        cid = ensure_community(conn, workspace_id, platform, name, f"群{name}", T0)
        if tz:
            conn.execute(update(communities).where(communities.c.id == cid).values(timezone=tz))
    return cid


def add_members(
    engine: Engine,
    workspace_id: int,
    community_id: int,
    count: int,
    *,
    segment: str = "active",
    platform: str = "wechat",
    at: datetime = T0,
) -> list[int]:
    """Members with an identity and a member_state row in `segment` (bulk inserts: 10,000 in seconds)."""
    with engine.begin() as conn:
        first = conn.execute(select(func.coalesce(func.max(members.c.id), 0))).scalar_one() + 1
        ids = list(range(first, first + count))
        conn.execute(
            insert(members),
            [{"id": m, "workspace_id": workspace_id, "display_name": "m", "created_at": at} for m in ids],
        )
        conn.execute(
            insert(identities),
            [
                {"workspace_id": workspace_id, "member_id": m, "original_member_id": m, "platform": platform,
                 "external_id": f"u{m}", "nickname": f"用户{m}", "created_at": at}
                for m in ids
            ],
        )  # fmt: skip
        conn.execute(
            insert(member_state),
            [
                {"community_id": community_id, "member_id": m, "stage": "growing", "segment": segment,
                 "as_of": at, "stage_since": at, "segment_since": at, "is_member": True, "joined_at": at,
                 "messages_total": 0, "messages_30d": 0, "interactions_30d": 0, "purchases_total": 0,
                 "spend_minor": 0, "reason": "test"}
                for m in ids
            ],
        )  # fmt: skip
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequence past them
            conn.execute(text("SELECT setval('members_id_seq', (SELECT max(id) FROM members))"))
    return ids


def transition(
    engine: Engine, community_id: int, member_id: int, to: str, at: datetime, frm: str = "active"
) -> None:
    """The member moves to segment `to` at `at` (as the refresh would record it)."""
    with engine.begin() as conn:
        conn.execute(
            insert(segment_transitions).values(
                community_id=community_id, member_id=member_id, dimension="segment", from_value=frm,
                to_value=to, at=at, rule="test", facts={},
            )
        )  # fmt: skip
        conn.execute(
            update(member_state)
            .where(member_state.c.community_id == community_id, member_state.c.member_id == member_id)
            .values(segment=to, segment_since=at)
        )


def act(
    engine: Engine, community_id: int, member_id: int, kind: str, at: datetime, text: str | None = None
) -> None:
    with engine.begin() as conn:
        identity = conn.execute(
            select(identities.c.id).where(identities.c.member_id == member_id)
        ).scalar_one()
        count = conn.execute(select(activities.c.id)).all()
        conn.execute(
            insert(activities).values(
                community_id=community_id, identity_id=identity, kind=kind, occurred_at=at, text=text,
                source="test", idempotency_key=f"t{len(count)}-{member_id}-{kind}", ingested_at=at,
            )
        )  # fmt: skip


def install(j: Journeys, source: str, actor: str = "test") -> Entry:
    """Save a playbook's YAML and enable it (at the journeys' clock)."""
    entry = j.catalog.save(source, "<test>", actor)
    return j.enable(entry.name, actor)
