"""A worker process for the concurrency test: random transfers between members.

    python tests/ledger_worker.py DB_URL WORKSPACE_ID SEED COUNT MEMBER_ID...

Prints `done OK INSUFFICIENT` at the end; replays its first 100 keys before that.
"""

import random
import sys

from qunyun.domain import SystemClock
from qunyun.engage.errors import InsufficientPointsError
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store import make_engine


def main(db_url: str, workspace_id: int, seed: int, count: int, members: list[int]) -> None:
    engine = make_engine(db_url)
    ledger = Ledger(engine, workspace_id, SystemClock(), PointsPolicy(validity_days=None))
    rng = random.Random(seed)
    ok = short = 0
    done: list[tuple[int, int, int, str]] = []
    for i in range(count):
        giver, taker = rng.sample(members, 2)
        amount = rng.randint(1, 40)
        key = f"w{seed}-{i}"
        try:
            ledger.transfer(giver, taker, amount, key=key)
            ok += 1
            done.append((giver, taker, amount, key))
        except InsufficientPointsError:
            short += 1
    for giver, taker, amount, key in done[:100]:
        assert ledger.transfer(giver, taker, amount, key=key).replayed
    print("done", ok, short, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), [int(m) for m in sys.argv[5:]])
