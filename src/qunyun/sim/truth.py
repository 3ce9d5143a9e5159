"""Ground truth: what each simulated member latently is and really did.

Evaluations compare what Qunyun infers from the activities (segments,
P(alive), expected activity) with these columns. Nothing here is visible in
the activity stream itself.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from qunyun.sim.corpus import TOPIC_NAMES
from qunyun.sim.population import Cohort

if TYPE_CHECKING:
    from qunyun.sim.simulator import Simulator

TRUTH_COLUMNS = (
    "member",
    "nickname",
    "joined_at",
    "message_rate",
    "lurker",
    "dropout_at",
    "left_at",
    "rejoined_at",
    "interests",
    "purchase_rate",
    "phone",
    "in_group_at_end",
    "alive_at_end",
)


@dataclass(frozen=True)
class MemberTruth:
    """One member's latent traits and real history (datetimes aware UTC).

    `message_rate` and `purchase_rate` are per alive day in the first stint;
    after a rejoin both are multiplied by `SimConfig.rejoin_rate_factor`.
    `dropout_at` is the end of the member's *last* stint of activity, None
    when still active at the end; no activity follows it except a leave.
    """

    member: str
    nickname: str
    joined_at: datetime
    message_rate: float
    lurker: bool
    dropout_at: datetime | None
    left_at: datetime | None  # the first leave
    rejoined_at: datetime | None
    interests: tuple[str, ...]
    purchase_rate: float
    phone: str | None
    in_group_at_end: bool  # not left, or rejoined and not left again

    @property
    def alive_at_end(self) -> bool:
        return self.dropout_at is None


def cohort_truths(cohort: Cohort, start: datetime, limit: int) -> Iterator[MemberTruth]:
    """Truth for the first `limit` members of the cohort."""
    m = cohort.membership
    for i in range(min(limit, cohort.size)):
        interests = cohort.interests[i, : cohort.n_interests[i]].tolist()
        rejoined = _at(start, m.start[i, 1])
        final_leave = m.leave[i, 1] if rejoined else m.leave[i, 0]
        yield MemberTruth(
            member=cohort.member_ids[i],
            nickname=cohort.nicknames[i],
            joined_at=start + timedelta(seconds=float(m.start[i, 0])),
            message_rate=float(cohort.message_rate[i]),
            lurker=bool(cohort.lurker[i]),
            dropout_at=_at(start, m.dropout[i]),
            left_at=_at(start, m.leave[i, 0]),
            rejoined_at=rejoined,
            interests=tuple(TOPIC_NAMES[t] for t in interests),
            purchase_rate=float(cohort.purchase_rate[i]),
            phone=cohort.phones[i],
            in_group_at_end=math.isnan(final_leave),
        )


def _at(start: datetime, seconds: float) -> datetime | None:
    return None if math.isnan(seconds) else start + timedelta(seconds=float(seconds))


def truth_row(truth: MemberTruth) -> dict[str, str]:
    """A member's truth as CSV cells: ISO 8601 UTC, "true"/"false", "|"-joined interests."""
    return {
        "member": truth.member,
        "nickname": truth.nickname,
        "joined_at": truth.joined_at.isoformat(),
        "message_rate": f"{truth.message_rate:.6f}",
        "lurker": _flag(truth.lurker),
        "dropout_at": _iso(truth.dropout_at),
        "left_at": _iso(truth.left_at),
        "rejoined_at": _iso(truth.rejoined_at),
        "interests": "|".join(truth.interests),
        "purchase_rate": f"{truth.purchase_rate:.6f}",
        "phone": truth.phone or "",
        "in_group_at_end": _flag(truth.in_group_at_end),
        "alive_at_end": _flag(truth.alive_at_end),
    }


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def write_truth_csv(sim: Simulator, path: Path) -> int:
    """Write one row per member (columns `TRUTH_COLUMNS`, UTF-8); return the row count."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=TRUTH_COLUMNS)
        writer.writeheader()
        for truth in sim.members():
            writer.writerow(truth_row(truth))
            rows += 1
    return rows
