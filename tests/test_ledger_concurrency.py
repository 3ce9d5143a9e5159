"""The ledger under real concurrent connections (threads) and processes (PostgreSQL)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from conftest import T0
from engage_helpers import make_members, race
from qunyun.domain import FixedClock
from qunyun.engage.ledger_verify import verify_ledger
from qunyun.engage.points import Ledger, PointsPolicy
from qunyun.store.engage_tables import ledger_transactions

WORKER = Path(__file__).parent / "ledger_worker.py"


def test_twenty_concurrent_redemptions_of_the_whole_balance_one_succeeds(
    engine: Engine, workspace_id: int
) -> None:
    (member,) = make_members(engine, workspace_id, 1)
    ledger = Ledger(engine, workspace_id, FixedClock(T0), PointsPolicy(validity_days=None))
    ledger.earn(member, 100, key="seed")
    outcomes = race(20, lambda i: ledger.spend(member, 100, key=f"redeem-{i}", reason="gift"))
    assert outcomes == ["ok"] + ["points.insufficient"] * 19
    assert ledger.balance(member) == 0
    with engine.connect() as conn:
        spends = conn.execute(
            select(func.count()).select_from(ledger_transactions).where(ledger_transactions.c.kind == "spend")
        ).scalar_one()
    assert spends == 1
    assert verify_ledger(engine, workspace_id).ok


@pytest.mark.slow
def test_eight_processes_of_random_transfers_conserve_points(
    engine: Engine, workspace_id: int, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("many writer processes is the PostgreSQL deployment")
    members = make_members(engine, workspace_id, 40)
    ledger = Ledger(engine, workspace_id, FixedClock(T0), PointsPolicy(validity_days=None))
    for m in members:
        ledger.earn(m, 1000, key=f"seed-{m}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORKER.parent), *sys.path])}
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_url, str(workspace_id), str(seed), "5000", *map(str, members)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in range(8)
    ]
    succeeded = 0
    for worker in workers:
        out, _ = worker.communicate(timeout=900)
        assert worker.returncode == 0, out
        _, ok, short = out.split()
        assert int(ok) + int(short) == 5000
        succeeded += int(ok)
    assert sum(ledger.balance(m) for m in members) == 40 * 1000
    report = verify_ledger(engine, workspace_id)
    assert report.ok, report.problems
    assert report.points_held == 40 * 1000
    with engine.connect() as conn:
        transfers = conn.execute(
            select(func.count())
            .select_from(ledger_transactions)
            .where(ledger_transactions.c.kind == "transfer")
        ).scalar_one()
    assert transfers == succeeded
