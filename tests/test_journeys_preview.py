"""Dry-run and replay write nothing and say who would get what, when; group results; the CLI."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from typer.testing import CliRunner

from conftest import T0
from journey_helpers import CountingChannel, act, add_members, community, install, journeys_for, transition
from qunyun.cli.main import app
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.journeys.enrol import arm_of
from qunyun.journeys.preview import dry_run, replay
from qunyun.journeys.results import playbook_results
from qunyun.store.journey_tables import enrolments, outbox
from qunyun.store.tables import activities, identities

WAKE = """
name: wake
title: 唤醒
trigger: {segment_entered: silent}
holdout: 0
goal: {activity: [message], within_days: 14}
steps:
  - id: hello
    send_message: {template: "{{ member.nickname }}，回来看看"}
  - wait: {days: 2}
  - id: nudge
    send_message: {template: "{{ member.nickname }}，再提醒一次"}
"""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def test_dry_run_lists_who_would_enter_and_writes_nothing(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    j = journeys_for(settings, engine, clock, workspace_id, CountingChannel())
    cid = community(engine, workspace_id)
    quiet = add_members(engine, workspace_id, cid, 3, segment="silent")
    add_members(engine, workspace_id, cid, 2, segment="active")
    entry = j.catalog.save(WAKE, "x", "t")
    with engine.connect() as conn:
        plans = dry_run(conn, workspace_id, entry, T0, "zh-CN", settings.zone, 10)
        assert conn.execute(select(func.count()).select_from(enrolments)).scalar() == 0
    assert sorted(p.member_id for p in plans if p.member_id) == quiet
    first = plans[0]
    assert [s["text"] for s in first.sends] == [
        f"用户{first.member_id}，回来看看",
        f"用户{first.member_id}，再提醒一次",
    ]
    assert first.sends[1]["at"] == (T0 + timedelta(days=2)).isoformat()


def test_replay_walks_past_triggers_against_what_members_really_did(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    j = journeys_for(settings, engine, clock, workspace_id, CountingChannel())
    cid = community(engine, workspace_id)
    a, b, c = add_members(engine, workspace_id, cid, 3)
    transition(engine, cid, a, "silent", T0 + timedelta(days=1))
    transition(engine, cid, b, "silent", T0 + timedelta(days=2))
    transition(engine, cid, c, "silent", T0 + timedelta(days=40))  # outside the period
    act(engine, cid, a, "message", T0 + timedelta(days=2))  # a came back after the first message
    entry = j.catalog.save(WAKE, "x", "t")
    with engine.connect() as conn:
        plans = replay(conn, workspace_id, entry, T0, T0 + timedelta(days=10), T0 + timedelta(days=60),
                       "zh-CN", settings.zone, 100)  # fmt: skip
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
    by_member = {p.member_id: p for p in plans}
    assert set(by_member) == {a, b}
    assert [s["text"] for s in by_member[a].sends] == [f"用户{a}，回来看看"]
    assert by_member[a].outcome == "converted"
    assert [s["at"] for s in by_member[b].sends] == [
        (T0 + timedelta(days=2)).isoformat(),
        (T0 + timedelta(days=4)).isoformat(),
    ]


POSTS = """
name: posts
title: 早安
subject: community
trigger: {schedule: [{cron: "0 9 * * *", name: morning}]}
holdout: 0.5
steps:
  - post_to_community: {template: "早安 {{ community.name }}"}
"""


def test_group_playbooks_hold_out_whole_groups_and_compare_group_rates(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    groups = [community(engine, workspace_id, f"g{i}", tz="Asia/Shanghai") for i in range(12)]
    members = {g: add_members(engine, workspace_id, g, 10) for g in groups}
    install(j, POSTS)
    clock.set(T0 + timedelta(days=1))  # one 09:00 fire in between, per group
    j.run_cycle()
    treated = [g for g in groups if arm_of("posts", f"c:{g}", 0.5) == "treated"]
    assert sorted(int(r.address.removeprefix("g")) for _, r, _ in channel.sent) == sorted(
        int(g_name) for g_name in [str(groups.index(g)) for g in treated]
    )
    with engine.connect() as conn:
        fired = {r.community_id: r.enrolled_at for r in conn.execute(select(enrolments))}
        identity = dict(conn.execute(select(identities.c.member_id, identities.c.id)).all())
    rows = []
    for g in groups:  # treated groups: 6 of 10 members react within 24 h; control: 2 of 10
        for m in members[g][: 6 if g in treated else 2]:
            rows.append({"community_id": g, "identity_id": identity[m], "kind": "reaction",
                         "occurred_at": fired[g] + timedelta(hours=2), "source": "t",
                         "idempotency_key": f"r{m}", "ingested_at": fired[g]})  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(activities), rows)
    results = playbook_results(engine, j.catalog, "posts", T0 + timedelta(days=30))
    assert results.unit == "community"
    assert results.counts["groups"] == {"treated": len(treated), "control": 12 - len(treated)}
    rate = results.metrics["interaction_24h"]
    assert rate.treated == pytest.approx(0.6)
    assert rate.control == pytest.approx(0.2)


def test_the_cli_lists_enables_runs_and_reports(tmp_path: Path, engines: None) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["playbooks", "list", "--json", "--db", db]).output)
    assert len(listed["playbooks"]) == 7
    assert not any(p["enabled"] for p in listed["playbooks"])
    enabled = runner.invoke(app, ["playbooks", "enable", "silent-wake-up", "--json", "--db", db])
    assert json.loads(enabled.output)["enabled"] is True
    run = runner.invoke(app, ["run", "--as-of", "2026-06-01T10:00", "--json", "--db", db])
    assert json.loads(run.output)["scan"]["enrolled"] == 0
    shown = runner.invoke(app, ["playbooks", "show", "silent-wake-up", "--db", db])
    assert "segment_entered: silent" in shown.output
    results = json.loads(
        runner.invoke(app, ["playbooks", "results", "silent-wake-up", "--json", "--db", db]).output
    )
    assert results["enrolled"] == {"treated": 0, "control": 0}
    tasks = json.loads(runner.invoke(app, ["tasks", "list", "--json", "--db", db]).output)
    assert tasks == {"tasks": []}
