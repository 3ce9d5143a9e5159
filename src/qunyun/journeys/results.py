"""`qunyun playbooks results NAME`: treated vs control, gain beside harm.

Per member (direct playbooks), over enrolments whose window has fully passed:
- reactivated: spoke (message or reply) within `window_days` of entering;
- converted: purchased within the window;
- coupon used: redeemed a coupon within the window;
- harm: left a group, or opted out, within the window (platforms do not tell
  us who muted a group, so muting is not counted).
Group playbooks (scheduled posts) randomise whole groups: the unit is the
group, the outcome the share of its members who interacted within 24 hours
of each post, compared by Welch's t on group means.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from qunyun.journeys.catalog import Catalog
from qunyun.journeys.stats import Comparison, two_means, two_proportions
from qunyun.store.journey_tables import enrolments, member_optouts
from qunyun.store.tables import activities, identities, member_state

OUTCOMES = {
    "reactivated": ("message", "reply"),
    "converted": ("purchase",),
    "coupon_used": ("coupon_redeem",),
    "left": ("leave",),
}
GROUP_INTERACTION = ("message", "reply", "reaction", "share", "checkin", "poll_vote")


@dataclass
class Results:
    playbook: str
    unit: str  # member | community
    window_days: int
    enrolled: dict[str, int]
    matured: dict[str, int]
    metrics: dict[str, Comparison] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "unit": self.unit,
            "window_days": self.window_days,
            "enrolled": self.enrolled,
            "matured": self.matured,
            "counts": self.counts,
            "metrics": {name: c.as_dict() for name, c in self.metrics.items()},
        }


def playbook_results(engine: Engine, catalog: Catalog, name: str, now: datetime) -> Results:
    entry = catalog.get(name)
    window = timedelta(days=entry.playbook.window_days)
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                select(
                    enrolments.c.id,
                    enrolments.c.member_id,
                    enrolments.c.community_id,
                    enrolments.c.arm,
                    enrolments.c.enrolled_at,
                ).where(enrolments.c.workspace_id == catalog.workspace_id, enrolments.c.playbook == name)
            )
        )
        enrolled = _by_arm(rows)
        matured = [r for r in rows if r.enrolled_at + window <= now]
        if entry.playbook.subject == "community":
            return _group_results(conn, name, entry.playbook.window_days, enrolled, matured)
        return _member_results(conn, name, entry.playbook.window_days, window, enrolled, matured)


def _by_arm(rows: list[Any]) -> dict[str, int]:
    out = {"treated": 0, "control": 0}
    for r in rows:
        out[r.arm] += 1
    return out


def _member_results(
    conn: Connection, name: str, days: int, window: timedelta, enrolled: dict[str, int], matured: list[Any]
) -> Results:
    results = Results(name, "member", days, enrolled, _by_arm(matured))
    if not matured:
        return results
    member_ids = sorted({r.member_id for r in matured})
    since = min(r.enrolled_at for r in matured)
    events: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    kinds = sorted({k for ks in OUTCOMES.values() for k in ks})
    for start in range(0, len(member_ids), 900):
        chunk = member_ids[start : start + 900]
        for r in conn.execute(
            select(identities.c.member_id, activities.c.kind, activities.c.occurred_at)
            .join(activities, activities.c.identity_id == identities.c.id)
            .where(
                identities.c.member_id.in_(chunk),
                activities.c.kind.in_(kinds),
                activities.c.occurred_at > since,
            )
        ):
            events[r.member_id].append((r.kind, r.occurred_at))
        for r in conn.execute(select(member_optouts).where(member_optouts.c.member_id.in_(chunk))):
            events[r.member_id].append(("opt_out", r.at))
    hits: dict[str, dict[str, int]] = {
        m: {"treated": 0, "control": 0} for m in [*OUTCOMES, "opted_out", "harm"]
    }
    for r in matured:
        seen = {k for k, at in events[r.member_id] if r.enrolled_at < at <= r.enrolled_at + window}
        for metric, wanted in OUTCOMES.items():
            hits[metric][r.arm] += bool(seen & set(wanted))
        hits["opted_out"][r.arm] += "opt_out" in seen
        hits["harm"][r.arm] += bool(seen & {"leave", "opt_out"})
    n = results.matured
    for metric, by_arm in hits.items():
        results.counts[metric] = by_arm
        results.metrics[metric] = two_proportions(
            by_arm["treated"], n["treated"], by_arm["control"], n["control"]
        )
    return results


def _group_results(
    conn: Connection, name: str, days: int, enrolled: dict[str, int], matured: list[Any]
) -> Results:
    results = Results(name, "community", days, enrolled, _by_arm(matured))
    rates: dict[tuple[str, int], list[float]] = defaultdict(list)
    sizes: dict[int, int] = dict(
        conn.execute(
            select(member_state.c.community_id, func.count())
            .where(member_state.c.is_member.is_(True))
            .group_by(member_state.c.community_id)
        ).all()
    )
    for r in matured:
        size = sizes.get(r.community_id, 0)
        if not size:
            continue
        active = conn.execute(
            select(func.count(func.distinct(activities.c.identity_id))).where(
                activities.c.community_id == r.community_id,
                activities.c.kind.in_(GROUP_INTERACTION),
                activities.c.occurred_at > r.enrolled_at,
                activities.c.occurred_at <= r.enrolled_at + timedelta(hours=24),
            )
        ).scalar_one()
        rates[(r.arm, r.community_id)].append(active / size)
    per_group = {key: sum(v) / len(v) for key, v in rates.items()}
    treated = [v for (arm, _), v in per_group.items() if arm == "treated"]
    control = [v for (arm, _), v in per_group.items() if arm == "control"]
    results.counts["groups"] = {"treated": len(treated), "control": len(control)}
    results.metrics["interaction_24h"] = two_means(treated, control)
    return results
