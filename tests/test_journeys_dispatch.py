"""Guard rails at send time, retries and dead letters, operator tasks — with a frozen clock."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from conftest import T0
from journey_helpers import CountingChannel, add_members, community, install, journeys_for
from qunyun.config import Settings
from qunyun.connectors.base import Outcome
from qunyun.domain import FixedClock
from qunyun.journeys.guards import Guards, day_window, month_window
from qunyun.store.journey_tables import operator_tasks, outbox
from qunyun.store.tables import activities

GUARDS = Guards(2, 5, time(22), time(8), True)

TWO = """
name: {name}
title: t
trigger: {{manual: true}}
holdout: 0
steps:
  - id: first
    send_message: {{template: "{name} 一"}}
  - id: second
    send_message: {{template: "{name} 二"}}
"""


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]),
)
def test_quiet_hours_hold_until_the_next_local_morning(now: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    local = now.astimezone(zone)
    until = GUARDS.quiet_until(now, zone)
    inside = local.hour >= 22 or local.hour < 8
    assert (until is not None) == inside
    if until is not None:
        end = until.astimezone(zone)
        assert (end.hour, end.minute) == (8, 0)
        assert timedelta(0) < until - now <= timedelta(hours=10, minutes=1)  # 10 h of quiet, DST aside
        assert GUARDS.quiet_until(until, zone) is None


def test_windows_are_member_local() -> None:
    now = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # already 1 April in Shanghai
    start, end = day_window(now, ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)
    _, _, days = month_window(now, ZoneInfo("Asia/Shanghai"))
    assert days == 30  # April
    assert month_window(now, ZoneInfo("UTC"))[2] == 31  # still March in UTC


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def test_quiet_hours_across_timezones_delay_not_drop(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    shanghai = community(engine, workspace_id, "sh", tz="Asia/Shanghai")
    new_york = community(engine, workspace_id, "ny", tz="America/New_York")
    (a,) = add_members(engine, workspace_id, shanghai, 1)
    (b,) = add_members(engine, workspace_id, new_york, 1)
    install(j, TWO.format(name="p"))
    clock.set(datetime(2026, 6, 2, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai, 11:00 in New York
    j.enrol_members("p", None, "t")
    report = j.run_cycle()
    assert {k.split(":")[2] for k in channel.counts()} == {str(b)}
    assert report.dispatch.reasons.get("quiet_hours") == 2
    with engine.connect() as conn:
        held = conn.execute(select(outbox.c.next_attempt_at).where(outbox.c.member_id == a)).scalars().all()
    assert held == [datetime(2026, 6, 3, 0, 0, tzinfo=UTC)] * 2  # 08:00 in Shanghai
    clock.set(datetime(2026, 6, 3, 0, 0, tzinfo=UTC))
    j.run_cycle()
    assert channel.counts()[f"p:m:{a}:1:first"] == 1
    assert channel.counts()[f"p:m:{a}:1:second"] == 1


def test_the_daily_cap_counts_all_playbooks_and_moves_the_rest_to_the_next_day(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel, daily_cap=3, weekly_cap=0)
    cid = community(engine, workspace_id)
    add_members(engine, workspace_id, cid, 1)
    install(j, TWO.format(name="x"))
    install(j, TWO.format(name="y"))
    j.enrol_members("x", None, "t")
    j.enrol_members("y", None, "t")
    report = j.run_cycle()  # 20:00 in Shanghai
    assert len(channel.sent) == 3
    assert report.dispatch.reasons == {"day_cap": 1}
    clock.set(T0 + timedelta(hours=3))  # 23:00 local: a new UTC hour, same local day, and quiet
    j.run_cycle()
    assert len(channel.sent) == 3
    clock.set(datetime(2026, 6, 2, 0, 0, tzinfo=UTC))  # 08:00 next local day
    j.run_cycle()
    assert len(channel.sent) == 4


def test_the_wecom_monthly_quota_serves_the_highest_priority_first(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel, daily_cap=0, weekly_cap=0)
    cid = community(engine, workspace_id, platform="wecom")
    (m,) = add_members(engine, workspace_id, cid, 1, platform="wecom")
    clock.set(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))  # 10:00 local on 1 June: June has 30 days
    with engine.begin() as conn:
        for i in range(31):
            conn.execute(
                outbox.insert().values(
                    workspace_id=workspace_id, idempotency_key=f"k{i}", playbook="p", step="s", member_id=m,
                    community_id=cid, kind="message", channel="loopback", recipient=f"u{m}", direct=True,
                    text=f"t{i}", locale="zh-CN", priority=float(i), status="pending", attempts=0,
                    next_attempt_at=clock.now(), created_at=clock.now(),
                    expires_at=clock.now() + timedelta(days=60),
                )
            )  # fmt: skip
    report = j.dispatch()
    assert len(channel.sent) == 30
    assert "k0" not in channel.counts()  # the lowest priority waits for July
    assert report.reasons == {"wecom_quota": 1}
    with engine.connect() as conn:
        later = conn.execute(
            select(outbox.c.next_attempt_at).where(outbox.c.idempotency_key == "k0")
        ).scalar()
    assert later == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # 1 July, 00:00 local


def test_retries_back_off_then_dead_letter_and_refusals_die_at_once(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel(script=[Outcome.RETRY] * 10 + [Outcome.FAILED])
    channel.policy.max_attempts = 1
    j = journeys_for(
        settings, engine, clock, workspace_id, channel, dispatch_retries=3, retry_backoff_seconds=60
    )
    cid = community(engine, workspace_id)
    m1, m2 = add_members(engine, workspace_id, cid, 2)
    install(j, TWO.format(name="r").replace('  - id: second\n    send_message: {template: "r 二"}\n', ""))
    j.enrol_members("r", [m1], "t")
    j.run_cycle()
    waits = []
    for _ in range(3):
        with engine.connect() as conn:
            row = conn.execute(select(outbox)).one()
        waits.append(row.next_attempt_at - clock.now())
        clock.set(row.next_attempt_at)
        j.dispatch()
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]  # doubling backoff
    assert (row.status, row.attempts) == ("dead", 3)
    channel.script = [Outcome.FAILED]
    j.enrol_members("r", [m2], "t")
    j.run_cycle()
    with engine.connect() as conn:
        states = dict(conn.execute(select(outbox.c.member_id, outbox.c.status)).all())
        deliveries = (
            conn.execute(select(activities.c.text).where(activities.c.kind == "delivery")).scalars().all()
        )
    assert states == {m1: "dead", m2: "dead"}
    assert sorted(deliveries) == ["dead:r:first", "dead:r:first"]
    assert channel.sent == []


def test_operator_tasks_are_tracked_like_sends(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    j.settings.journeys.channels["wechat"] = "task"
    cid = community(engine, workspace_id)
    add_members(engine, workspace_id, cid, 1)
    install(j, TWO.format(name="t"))
    j.enrol_members("t", None, "t")
    report = j.run_cycle()
    assert report.dispatch.tasks == 2
    assert channel.sent == []
    tasks = j.tasks.list(clock.now())
    assert [t.text for t in tasks] == ["t 一", "t 二"]
    assert not any(t.overdue for t in tasks)
    assert all(t.overdue for t in j.tasks.list(clock.now() + timedelta(hours=25)))
    done = j.tasks.finish(tasks[0].id, "alice", clock.now())
    assert done.status == "done"
    assert j.tasks.finish(tasks[0].id, "alice", clock.now()).status == "done"  # repeating changes nothing
    j.tasks.finish(tasks[1].id, "alice", clock.now(), done=False)
    with engine.connect() as conn:
        statuses = conn.execute(select(outbox.c.status).order_by(outbox.c.id)).scalars().all()
        delivered = (
            conn.execute(select(activities.c.text).where(activities.c.kind == "delivery")).scalars().all()
        )
        by = conn.execute(select(operator_tasks.c.done_by)).scalars().all()
    assert statuses == ["sent", "suppressed"]
    assert delivered == ["sent:t:first"]
    assert by == ["alice", "alice"]
