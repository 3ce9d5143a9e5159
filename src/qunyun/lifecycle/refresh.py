"""The refresh action: recompute members' stage and segment as of a time.

Facts are streamed in chunks; each chunk's new state and its transitions
commit together. A refresh that dies half-way is finished by running it again
with the same `as_of`: members already updated have no change left to record,
and transitions are unique per (community, member, dimension, at).

A refresh is **incremental** when the last completed one saw the same mirror
generation and the same rules: it revisits only members with activity since
(new, late, or between the two as-of instants), members whose identities
moved, and members whose `review_at` has come (the instant the rules could
next decide differently, `rules.next_review`). Everyone else's decision is
provably unchanged; of them, those whose 30-day counts moved because an
interaction slid out of the window get those two counts rewritten in bulk
(`recounted`), so every stored count is as of the latest refresh. Otherwise,
or with `full=True`, every member is revisited.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from qunyun.analytics import Checkpoint, FactsSource, Membership
from qunyun.config import Settings
from qunyun.domain import Clock, MemberFacts, Segment, Stage
from qunyun.errors import LifecycleError
from qunyun.lifecycle.rules import Decision, Previous, decide, explain, next_review
from qunyun.store.bulk import insert_ignoring_conflicts, update_integer_columns, upsert_rows
from qunyun.store.tables import communities, member_state, refresh_runs, segment_transitions
from qunyun.store.types import UtcDateTime, encode_utc

# Bump when the meaning of a rule in rules.py changes: the next refresh is then a full one.
RULES_VERSION = 2


@dataclass
class RefreshReport:
    as_of: datetime
    mode: str = "full"
    memberships: int = 0  # memberships revisited by this run
    recounted: int = 0  # memberships whose 30-day counts alone were rewritten (incremental runs)
    transitions: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Stored:
    previous: Previous
    stage_since: datetime
    segment_since: datetime


def _write_states(conn: Connection, states: list[dict[str, Any]]) -> None:
    """Upsert member_state rows through the bulk path (every row of a chunk, one statement)."""
    if not states:
        return
    dialect = conn.dialect.name
    columns = list(states[0])
    instants = {i for i, c in enumerate(columns) if member_state.c[c].type.__class__ is UtcDateTime}
    encoded = [
        tuple(
            encode_utc(v, dialect) if i in instants and v is not None else v
            for i, v in enumerate(row.values())
        )
        for row in states
    ]
    upsert_rows(conn, member_state, columns, ("community_id", "member_id"), encoded)


_TRANSITION_COLUMNS = (
    "community_id", "member_id", "dimension", "from_value", "to_value", "at", "rule", "facts",
)  # fmt: skip


def _insert_transitions(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """Transitions through the bulk path (a new community's first refresh writes two per member:
    through SQLAlchemy's executemany of dicts that cost ~15 µs each); a replayed one is skipped."""
    dialect = conn.dialect.name
    head = _TRANSITION_COLUMNS[:5]
    rows = [(*(c[k] for k in head), encode_utc(c["at"], dialect), c["rule"], c["facts"]) for c in changes]
    insert_ignoring_conflicts(conn, segment_transitions, _TRANSITION_COLUMNS, rows)


_IN_LIST = 2_000  # ids per IN (...) when a chunk is sparse


def _load_previous(conn: Connection, chunk: list[MemberFacts]) -> dict[tuple[int, int], _Stored]:
    """Stored state of the chunk's members. Facts arrive ordered by (community, member): a full
    refresh's chunk is a few dense key ranges, read with range scans; an incremental one is
    sparse (a range would read everyone in between), read with IN lists."""
    by_community: dict[int, list[int]] = {}
    for f in chunk:
        by_community.setdefault(f.community_id, []).append(f.member_id)
    stored: dict[tuple[int, int], _Stored] = {}
    columns = (
        member_state.c.member_id,
        member_state.c.stage,
        member_state.c.segment,
        member_state.c.stage_since,
        member_state.c.segment_since,
    )
    for community_id, ids in by_community.items():
        low, high = min(ids), max(ids)
        in_community = member_state.c.community_id == community_id
        if high - low < 4 * len(ids):
            queries = [select(*columns).where(in_community, member_state.c.member_id.between(low, high))]
        else:
            queries = [
                select(*columns).where(in_community, member_state.c.member_id.in_(ids[i : i + _IN_LIST]))
                for i in range(0, len(ids), _IN_LIST)
            ]
        for query in queries:
            for r in conn.execute(query):
                stored[(community_id, r.member_id)] = _Stored(
                    Previous(Stage(r.stage), Segment(r.segment)), r.stage_since, r.segment_since
                )
    return stored


def _state_row(
    facts: MemberFacts, decision: Decision, stored: _Stored | None, review_at: datetime | None
) -> dict[str, Any]:
    as_of = facts.as_of
    same_stage = stored is not None and stored.previous.stage is decision.stage
    same_segment = stored is not None and stored.previous.segment is decision.segment
    return {
        "community_id": facts.community_id,
        "member_id": facts.member_id,
        "stage": decision.stage.value,
        "segment": decision.segment.value,
        "as_of": as_of,
        "stage_since": stored.stage_since if stored and same_stage else as_of,
        "segment_since": stored.segment_since if stored and same_segment else as_of,
        "is_member": facts.is_member,
        "joined_at": facts.joined_at,
        "left_at": None if facts.is_member else facts.last_leave_at,
        "last_seen_at": facts.last_life_at,
        "last_message_at": facts.last_message_at,
        "last_purchase_at": facts.last_purchase_at,
        "messages_total": facts.messages_total,
        "messages_30d": facts.messages_30d,
        "interactions_30d": facts.interactions_30d,
        "purchases_total": facts.purchases_total,
        "spend_minor": facts.spend_minor,
        "reason": f"{decision.segment_rule}; {decision.stage_rule}",
        "review_at": review_at,
    }


def _transitions(facts: MemberFacts, decision: Decision, stored: _Stored | None) -> list[dict[str, Any]]:
    """The member's segment and stage changes; "facts" is the JSON text both rows share."""
    changes = []
    before = stored.previous if stored else None
    pairs = (
        ("segment", before.segment if before else None, decision.segment, decision.segment_rule),
        ("stage", before.stage if before else None, decision.stage, decision.stage_rule),
    )
    explained = None
    for dimension, old, new, rule in pairs:
        if old is not new:
            explained = explained or json.dumps(explain(facts))
            changes.append(
                {
                    "community_id": facts.community_id,
                    "member_id": facts.member_id,
                    "dimension": dimension,
                    "from_value": old.value if old else None,
                    "to_value": new.value,
                    "at": facts.as_of,
                    "rule": rule,
                    "facts": explained,
                }
            )
    return changes


def _apply_chunk(
    conn: Connection, chunk: list[MemberFacts], settings: Settings, report: RefreshReport
) -> None:
    stored = _load_previous(conn, chunk)
    states, changes = [], []
    for facts in chunk:
        before = stored.get((facts.community_id, facts.member_id))
        previous = before.previous if before else None
        decision = decide(facts, previous, settings.lifecycle, settings.zone)
        review_at = next_review(facts, decision, settings.lifecycle, settings.zone, decided_with=previous)
        states.append(_state_row(facts, decision, before, review_at))
        changes.extend(_transitions(facts, decision, before))
        report.segments[decision.segment.value] = report.segments.get(decision.segment.value, 0) + 1
        report.stages[decision.stage.value] = report.stages.get(decision.stage.value, 0) + 1
    _write_states(conn, states)
    _insert_transitions(conn, changes)
    report.memberships += len(chunk)
    report.transitions += len(changes)


def rules_fingerprint(settings: Settings) -> str:
    """What the decisions depend on besides facts: the rules' version and their settings."""
    payload = {
        "rules": RULES_VERSION,
        "lifecycle": settings.lifecycle.model_dump(),
        "zone": str(settings.zone),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def last_refresh(conn: Connection, workspace_id: int) -> datetime | None:
    value = conn.execute(
        select(refresh_runs.c.as_of)
        .where(refresh_runs.c.workspace_id == workspace_id, refresh_runs.c.status == "done")
        .order_by(refresh_runs.c.as_of.desc())
        .limit(1)
    ).scalar()
    return value


@dataclass(frozen=True)
class _Plan:
    members: set[int]  # decide again in every community (their identities moved)
    memberships: set[Membership]  # decide again
    recount: set[Membership]  # only the 30-day counts moved


def _incremental_plan(
    conn: Connection, workspace_id: int, as_of: datetime, fingerprint: str, source: FactsSource
) -> _Plan | None:
    """The memberships an incremental refresh must revisit or recount, or None when it must be a
    full one."""
    last = conn.execute(
        select(refresh_runs)
        .where(refresh_runs.c.workspace_id == workspace_id, refresh_runs.c.status == "done")
        .order_by(refresh_runs.c.as_of.desc(), refresh_runs.c.id.desc())
        .limit(1)
    ).first()
    if last is None or last.mirror_generation is None or last.rules_fingerprint != fingerprint:
        return None
    since = Checkpoint(last.mirror_generation, int(last.mirror_seq), int(last.mirror_watermark))
    changes = source.changes(since, last.as_of, as_of)
    if changes is None:
        return None
    # By the review_at index alone, the workspace's groups filtered here: joined to communities,
    # SQLite (no statistics) reads every member of the workspace instead (0.4 s at 1M).
    in_workspace = select(communities.c.id).where(communities.c.workspace_id == workspace_id)
    ours = set(conn.execute(in_workspace).scalars())
    due = conn.execute(
        select(member_state.c.community_id, member_state.c.member_id).where(member_state.c.review_at <= as_of)
    )
    revisit = changes.memberships | {(int(c), int(m)) for c, m in due if c in ours}
    slid = source.slid_out(last.as_of, as_of) - revisit
    return _Plan(changes.members, revisit, {key for key in slid if key[1] not in changes.members})


def _recount(engine: Engine, source: FactsSource, as_of: datetime, memberships: set[Membership]) -> int:
    """Rewrite the 30-day counts of `memberships`, a chunk per transaction."""
    done = 0
    for chunk in source.window_counts(as_of, memberships):
        with engine.begin() as writer:
            counts, key = ("messages_30d", "interactions_30d"), ("community_id", "member_id")
            update_integer_columns(writer, member_state, counts, key, chunk)
        done += len(chunk)
    return done


def _refuse_backwards(conn: Connection, workspace_id: int, as_of: datetime) -> None:
    latest = last_refresh(conn, workspace_id)
    if latest is not None and as_of < latest:
        raise LifecycleError(
            f"as-of {as_of.isoformat()} is before the last refresh ({latest.isoformat()}); "
            "history only moves forward",
            code="refresh.backwards",
        )


def refresh(
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    as_of: datetime,
    clock: Clock,
    facts: FactsSource,
    progress: Callable[[int], None] | None = None,
    *,
    full: bool = False,
) -> RefreshReport:
    """Recompute member_state as of `as_of`; see the module docstring."""
    with engine.connect() as conn:
        _refuse_backwards(conn, workspace_id, as_of)  # before syncing the mirror for nothing
    checkpoint = facts.prepare()
    fingerprint = rules_fingerprint(settings)
    with engine.begin() as conn:
        _refuse_backwards(conn, workspace_id, as_of)  # again: another refresh may have run meanwhile
        plan = None if full else _incremental_plan(conn, workspace_id, as_of, fingerprint, facts)
        report = RefreshReport(as_of, mode="full" if plan is None else "incremental")
        run_id = conn.execute(
            insert(refresh_runs).values(
                workspace_id=workspace_id,
                as_of=as_of,
                started_at=clock.now(),
                status="running",
                mode=report.mode,
                mirror_generation=checkpoint.generation,
                mirror_seq=checkpoint.seq,
                mirror_watermark=checkpoint.watermark,
                rules_fingerprint=fingerprint,
            )
        ).inserted_primary_key[0]  # type: ignore[index]  # single-row insert always has a key
    wanted = (None, None) if plan is None else (plan.members, plan.memberships)
    for chunk in facts.facts(as_of, *wanted):
        with engine.begin() as writer:
            _apply_chunk(writer, chunk, settings, report)
        if progress is not None:
            progress(report.memberships)
    if plan is not None and plan.recount:
        report.recounted = _recount(engine, facts, as_of, plan.recount)
    with engine.begin() as conn:
        conn.execute(
            update(refresh_runs)
            .where(refresh_runs.c.id == run_id)
            .values(
                status="done",
                finished_at=clock.now(),
                memberships=report.memberships,
                transitions=report.transitions,
            )
        )
    return report
