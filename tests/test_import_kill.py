"""Kill the importer mid-run with SIGKILL, then replay: nothing half-written, nothing twice."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from helpers import row, write_csv
from qunyun.store import make_engine
from qunyun.store.tables import activities, members

ROWS = 60_000
BATCH = 500


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            acts = conn.execute(select(func.count()).select_from(activities)).scalar_one()
            people = conn.execute(select(func.count()).select_from(members)).scalar_one()
        return int(acts), int(people)
    finally:
        engine.dispose()


def test_sigkill_mid_import_then_replay(db_url: str, tmp_path: Path) -> None:
    # Every row is a new member, so a half-written batch would show in either count.
    path = write_csv(
        tmp_path / "big.csv",
        [row(f"2026-05-01T08:00:{i % 60:02d}+08:00", f"u{i}", "message", f"第{i}条") for i in range(ROWS)],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUNYUN_")}
    env |= {"QUNYUN_IMPORT__BATCH_SIZE": str(BATCH), "QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "k.key")}
    exe = str(Path(sys.executable).parent / "qunyun")
    proc = subprocess.Popen(
        [exe, "import", "csv", str(path), "--db", db_url, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed_at = 0
    while proc.poll() is None:
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            killed_at = _counts(db_url)[0]
            if killed_at >= 4 * BATCH:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    stored, people = _counts(db_url)
    assert 0 < stored < ROWS
    assert stored % BATCH == 0  # whole batches only
    assert people == stored  # no member without its activity, no activity without its member
    replay = subprocess.run(
        [exe, "import", "csv", str(path), "--db", db_url, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"duplicates": ' + str(stored) in replay.stdout
    assert _counts(db_url) == (ROWS, ROWS)
