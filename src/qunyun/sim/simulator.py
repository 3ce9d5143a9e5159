"""The simulator's facade: members' truth and their activities, streamed.

    >>> sim = Simulator(SimConfig(members=10, days=30, seed=1))
    >>> first = next(sim.activities())
    >>> (first.member, first.kind.value)
    ('m000000', 'join')

Both streams are lazy and walk the members cohort by cohort (see
`population`), so memory stays flat for a million members. Activities come
grouped by member, time-ordered within a member, not globally sorted.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from qunyun.domain import ActivityKind, ActivityRecord
from qunyun.sim.config import SimConfig
from qunyun.sim.diurnal import LocalDays
from qunyun.sim.events import EventBlock, MessagePool, generate
from qunyun.sim.population import COHORT_SIZE, Cohort, draw_cohort, member_id
from qunyun.sim.processes import KINDS
from qunyun.sim.truth import MemberTruth, cohort_truths

_CURRENCY = "CNY"


class Simulator:
    """A deterministic community: same config, same members, same activities."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._grid = LocalDays(config.start, config.days, config.timezone)

    @property
    def end(self) -> datetime:
        """`start + days`: every activity happens before this instant."""
        return self.config.end

    def cohorts(self) -> Iterator[Cohort]:
        """The latent traits, one cohort of `COHORT_SIZE` members at a time."""
        count = -(-self.config.members // COHORT_SIZE)
        for index in range(count):
            yield draw_cohort(self.config, self._grid, index)

    def members(self) -> Iterator[MemberTruth]:
        """Ground truth per member, in member order."""
        for cohort in self.cohorts():
            yield from cohort_truths(cohort, self.config.start, self.config.members - cohort.first)

    def activities(self) -> Iterator[ActivityRecord]:
        """Every activity of every member, member by member."""
        pool = MessagePool.empty()
        for cohort in self.cohorts():
            block, pool = generate(self.config, self._grid, cohort, pool)
            yield from self._records(cohort, block)

    def _records(self, cohort: Cohort, block: EventBlock) -> Iterator[ActivityRecord]:
        """Turn a cohort's event arrays into records, up to the run's last member."""
        cfg = self.config
        n = int(block.owner.searchsorted(cfg.members - cohort.first))
        owner = block.owner[:n].tolist()
        ids = [cohort.member_ids[o] for o in owner]
        kinds = [KINDS[k] for k in block.kind[:n].tolist()]
        columns = zip(
            [cfg.start + timedelta(seconds=s) for s in block.t[:n].tolist()],
            ids,
            [cohort.nicknames[o] for o in owner],
            kinds,
            block.text,  # zip stops at n
            [a or None for a in block.amount[:n].tolist()],
            [f"{m}-{q}" for m, q in zip(ids, block.seq[:n].tolist(), strict=True)],
            _reply_to(block, n),
            [cohort.phones[o] if k is ActivityKind.JOIN else None for o, k in zip(owner, kinds, strict=True)],
            strict=False,
        )
        for at, member, nickname, kind, text, amount, ref, reply_to, phone in columns:
            yield ActivityRecord(
                occurred_at=at,
                platform=cfg.platform,
                community=cfg.community,
                community_name=cfg.community_name,
                member=member,
                nickname=nickname,
                kind=kind,
                text=text,
                amount_minor=amount,
                currency=_CURRENCY if amount is not None else None,
                reference_id=ref,
                reply_to=reply_to,
                phone=phone,
            )


def _reply_to(block: EventBlock, n: int) -> list[str | None]:
    return [
        None if to < 0 else f"{member_id(to)}-{seq}"
        for to, seq in zip(block.target_owner[:n].tolist(), block.target_seq[:n].tolist(), strict=True)
    ]
