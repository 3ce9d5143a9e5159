"""`qunyun wecom reconcile` against the recorded API contract: a leave the callbacks missed, a join
they never told, and a second run that changes nothing."""

import json
from pathlib import Path

from sqlalchemy import Engine

from conftest import T0
from helpers import stored_activities
from platform_fakes import serve
from qunyun.domain import ActivityKind, ActivityRecord, FixedClock, Platform
from qunyun.ingest.pipeline import Importer, ImportOptions
from qunyun.store.tables import activities, identities
from test_cli import qy
from test_wecom import CHAT, CORP, SECRET, FakeWeComContacts


def test_reconcile_fills_what_callbacks_missed(
    db_url: str, engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    # The callbacks told us "gone" joined (and never that they left); nobody told us about the others.
    told = ActivityRecord(T0, Platform.WECOM, CHAT, "gone", ActivityKind.JOIN, reference_id="cb-1")
    Importer(engine, FixedClock(T0), ImportOptions(workspace_id), None).store_batch([told])
    fake = FakeWeComContacts()
    with serve(fake) as url:
        env = {
            "QUNYUN_WECOM__CORP_ID": CORP,
            "QUNYUN_WECOM__SECRET": SECRET,
            "QUNYUN_WECOM__API_URL": f"{url}/cgi-bin",
            "QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "k.key"),
        }
        args = ("wecom", "reconcile", "--chat", CHAT, "--db", db_url, "--json")
        first = qy(*args, cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["chats"][CHAT] == {"members": 2, "joins": 2, "leaves": 1}
        second = qy(*args, cwd=tmp_path, env=env)
        assert json.loads(second.stdout)["chats"][CHAT] == {"members": 2, "joins": 0, "leaves": 0}
    rows = stored_activities(engine, [identities.c.external_id, activities.c.kind], [activities.c.id])
    assert sorted(rows) == [
        ("abel", "join"),
        ("gone", "join"),
        ("gone", "leave"),
        ("wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA", "join"),
    ]
