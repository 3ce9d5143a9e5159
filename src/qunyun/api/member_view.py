"""The member read models the API and the dashboard share: one page of the list, one member."""

from typing import Any

from fastapi.encoders import jsonable_encoder

from qunyun.api.scope import Scope
from qunyun.journeys.member_record import opt_out_of, playbooks_received, tags_of
from qunyun.lifecycle.profile import member_profile, timeline
from qunyun.lifecycle.views import StateFilter, list_members
from qunyun.store.member_activity import require_member


def member_rows(
    scope: Scope, flt: StateFilter, page: int, per_page: int, *, by_value: bool = False
) -> tuple[list[dict[str, Any]], bool]:
    """One page and whether another follows (one row more is read instead of counting 1M rows)."""
    with scope.services.engine.connect() as conn:
        rows = list_members(conn, flt, per_page + 1, (page - 1) * per_page, by_value=by_value)
    return jsonable_encoder(rows[:per_page]), len(rows) > per_page


def member_page(
    scope: Scope, member_id: int, *, reveal: bool = False, timeline_limit: int | None = 50
) -> dict[str, Any]:
    workspace_id = scope.workspace_id
    engagement = scope.engagement()
    with scope.services.engine.connect() as conn:
        require_member(conn, workspace_id, member_id)
        profile = member_profile(
            conn, workspace_id, member_id, scope.services.protector, reveal=reveal,
            behaviour_as_of=(scope.now(), scope.services.settings.zone),
        )  # fmt: skip
        profile["tags"] = tags_of(conn, member_id)
        profile["opt_out"] = opt_out_of(conn, member_id)
        profile["playbooks"] = playbooks_received(conn, workspace_id, member_id)
        profile["timeline"] = timeline(conn, member_id, timeline_limit)
    profile["points"] = {
        "balance": engagement.ledger.balance(member_id),
        "history": [vars(line) for line in engagement.ledger.history(member_id, limit=50)],
    }
    profile["coupons"] = [vars(c) for c in engagement.coupons.of_member(member_id)]
    return dict(jsonable_encoder(profile))
