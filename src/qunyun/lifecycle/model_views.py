"""Read models over model_fits and member_scores for the CLI (and later the API)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from qunyun.config import ModelsConfig
from qunyun.domain import Segment
from qunyun.store.tables import communities, member_scores, model_fits


def latest_fits(conn: Connection, workspace_id: int, community: str | None = None) -> list[dict[str, Any]]:
    """The latest fit of every (community, target): model, status, parameters, diagnostics."""
    latest = (
        select(model_fits.c.community_id, model_fits.c.target, func.max(model_fits.c.id).label("id"))
        .where(model_fits.c.workspace_id == workspace_id)
        .group_by(model_fits.c.community_id, model_fits.c.target)
        .subquery()
    )
    query = (
        select(model_fits, communities.c.external_id.label("community"))
        .join(latest, latest.c.id == model_fits.c.id)
        .join(communities, communities.c.id == model_fits.c.community_id)
        .order_by(communities.c.external_id, model_fits.c.target)
    )
    if community is not None:
        query = query.where(communities.c.external_id == community)
    return [
        {
            "community": r.community,
            "target": r.target,
            "model": r.model,
            "status": r.status,
            "as_of": r.as_of,
            "fitted_at": r.fitted_at,
            "params": r.params,
            "log_likelihood": r.log_likelihood,
            "members": r.members,
            "diagnostics": r.diagnostics,
        }
        for r in conn.execute(query)
    ]


@dataclass(frozen=True)
class MemberScore:
    activity_model: str
    p_alive: float | None
    expected_activity_30d: float | None
    past_activity_30d: float | None
    p_alive_purchase: float | None
    expected_purchases: float | None
    expected_spend_minor: float | None
    clv_minor: float | None


def score_of(row: Any) -> MemberScore | None:
    """The scores carried by a joined row (None when the member was never scored)."""
    get = row.get if isinstance(row, dict) else row._mapping.get
    model = get("activity_model")
    if model is None:
        return None
    return MemberScore(
        str(model),
        get("p_alive"),
        get("expected_activity_30d"),
        get("past_activity_30d"),
        get("p_alive_purchase"),
        get("expected_purchases"),
        get("expected_spend_minor"),
        get("clv_minor"),
    )


def member_score(conn: Connection, community_id: int, member_id: int) -> MemberScore | None:
    row = conn.execute(
        select(member_scores).where(
            member_scores.c.community_id == community_id, member_scores.c.member_id == member_id
        )
    ).first()
    if row is None:
        return None
    return MemberScore(
        row.activity_model,
        row.p_alive,
        row.expected_activity_30d,
        row.past_activity_30d,
        row.p_alive_purchase,
        row.expected_purchases,
        row.expected_spend_minor,
        row.clv_minor,
    )


def outlook(segment: Segment, score: MemberScore | None, config: ModelsConfig) -> str | None:
    """What the model adds to the rules' segment (docs/models.md):
    silent → "worth waking" or "churned (likely)"; active/new → "at risk"; else nothing."""
    if score is None or score.p_alive is None:
        return None
    if segment is Segment.SILENT:
        if score.p_alive >= config.worth_waking_p_alive:
            return "worth waking"
        if score.p_alive < config.likely_gone_p_alive:
            return "churned (likely)"
        return None
    if segment in (Segment.ACTIVE, Segment.NEW):
        expected, past = score.expected_activity_30d, score.past_activity_30d
        if expected is not None and past and expected < config.at_risk_ratio * past:
            return "at risk"
    return None


def value_score(score: MemberScore | None) -> float | None:
    """P(alive) x value, for sorting: CLV where the member buys, else expected activity."""
    if score is None or score.p_alive is None:
        return None
    value = score.clv_minor if score.clv_minor else (score.expected_activity_30d or 0.0)
    return score.p_alive * value
