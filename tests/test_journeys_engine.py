"""The journey engine end to end on a hand-made community: triggers, steps, effects, holdout, re-entry."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from conftest import T0
from journey_helpers import CountingChannel, act, add_members, community, install, journeys_for, transition
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.journeys.enrol import arm_of
from qunyun.store.engage_tables import coupons
from qunyun.store.journey_tables import enrolments, member_optouts, member_tags, outbox

WAKE = """
name: wake
title: {zh-CN: 唤醒, en: Wake}
trigger: {segment_entered: silent}
holdout: 0
goal: {activity: [message, reply], within_days: 14}
reentry: {cooldown_days: 10}
steps:
  - id: hello
    send_message:
      template:
        zh-CN: "{{ member.nickname }}，{{ community.name }}想你了"
        en: "{{ member.nickname }}, we miss you at {{ community.name }}"
  - wait: {days: 2}
  - if: {not: {did: [message, reply]}}
    then:
      - id: nudge
        send_message: {template: "{{ member.nickname }}，再提醒一次"}
"""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def test_a_segment_trigger_sends_each_step_once_with_the_members_own_text(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    install(j, WAKE)
    cid = community(engine, workspace_id)
    m1, m2, m3 = add_members(engine, workspace_id, cid, 3)
    transition(engine, cid, m1, "silent", T0 + timedelta(minutes=5))
    transition(engine, cid, m2, "silent", T0 + timedelta(minutes=5))
    clock.set(T0 + timedelta(minutes=10))
    report = j.run_cycle()
    assert report.scan.enrolled == 2
    assert sorted(channel.sent) == sorted(
        [
            (f"wake:m:{m}:1:hello", channel.sent[i][1], f"用户{m}，群g1想你了")
            for i, m in enumerate(sorted([m1, m2], key=lambda m: [k for k, _, _ in channel.sent].index(
                f"wake:m:{m}:1:hello")))
        ]
    )  # fmt: skip
    assert {r.address for _, r, _ in channel.sent} == {f"u{m1}", f"u{m2}"}
    assert j.run_cycle().dispatch.sent == 0  # nothing is due again
    act(engine, cid, m1, "message", T0 + timedelta(days=1))  # m1 speaks: converted, no nudge
    clock.set(T0 + timedelta(days=2, hours=1))
    report = j.run_cycle()
    assert report.scan.converted == 1
    assert [k for k, _, _ in channel.sent if k.endswith("nudge")] == [f"wake:m:{m2}:1:nudge"]
    with engine.connect() as conn:
        states = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.status)).all())
    assert states == {m1: "converted", m2: "completed"}
    assert m3 not in states
    assert channel.counts().most_common(1)[0][1] == 1


def test_control_members_are_enrolled_and_tracked_but_receive_nothing(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    install(j, WAKE.replace("holdout: 0", "holdout: 0.5"))
    cid = community(engine, workspace_id)
    ids = add_members(engine, workspace_id, cid, 60)
    for m in ids:
        transition(engine, cid, m, "silent", T0 + timedelta(minutes=1))
    clock.set(T0 + timedelta(minutes=2))
    j.run_cycle()
    control = {m for m in ids if arm_of("wake", f"m:{m}", 0.5) == "control"}
    assert 15 <= len(control) <= 45  # a fair hash: about half
    with engine.connect() as conn:
        arms = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.arm)).all())
        queued = {r.member_id for r in conn.execute(select(outbox.c.member_id))}
    assert {m for m, arm in arms.items() if arm == "control"} == control
    assert queued == set(ids) - control
    assert {key.split(":")[2] for key, _, _ in channel.sent} == {str(m) for m in set(ids) - control}


def test_re_entry_waits_for_the_cooldown_after_the_last_run_finished(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    install(j, WAKE)
    cid = community(engine, workspace_id)
    (m,) = add_members(engine, workspace_id, cid, 1)
    transition(engine, cid, m, "silent", T0 + timedelta(minutes=1))
    clock.set(T0 + timedelta(minutes=2))
    j.run_cycle()
    clock.set(T0 + timedelta(days=2, hours=1))
    j.run_cycle()  # the nudge; the enrolment completes
    transition(engine, cid, m, "silent", T0 + timedelta(days=5), frm="active")  # silent again, too soon
    clock.set(T0 + timedelta(days=5, hours=1))
    assert j.run_cycle().scan.enrolled == 0
    transition(engine, cid, m, "silent", T0 + timedelta(days=13), frm="active")  # past the 10-day cooldown
    clock.set(T0 + timedelta(days=13, hours=1))
    assert j.run_cycle().scan.enrolled == 1
    assert f"wake:m:{m}:2:hello" in channel.counts()
    assert sum(1 for k in channel.counts() if k.endswith(":hello")) == 2


EFFECTS = """
name: gift
title: 礼包
trigger: {manual: true}
holdout: 0
steps:
  - award_points: {amount: 30, reason: welcome}
  - issue_coupon:
      campaign: welcome-coupon
      create: {name: 欢迎券, value: 500, validity_days: 5}
  - add_tag: 新人礼包
  - id: tell
    send_message: {template: "券码 {{ coupon.code }}，{{ coupon.expires }} 前有效；积分 {{ member.points }}"}
"""


def test_points_coupons_and_tags_are_applied_once_in_the_step_transaction(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    cid = community(engine, workspace_id)
    ids = add_members(engine, workspace_id, cid, 3)
    install(j, EFFECTS)
    assert j.enrol_members("gift", None, "test") == 3
    assert j.enrol_members("gift", None, "test") == 0  # still running: no second entry
    j.run_cycle()
    j.run_cycle()
    for m in ids:
        assert j.ledger.balance(m) == 30
    with engine.connect() as conn:
        issued = conn.execute(select(coupons.c.member_id, coupons.c.code)).all()
        tags = conn.execute(select(member_tags.c.member_id, member_tags.c.tag)).all()
    assert sorted(m for m, _ in issued) == ids
    assert sorted(tags) == [(m, "新人礼包") for m in ids]
    expires = (T0 + timedelta(days=5)).astimezone(settings.zone).date().isoformat()
    texts = {text for _, _, text in channel.sent}
    assert texts == {f"券码 {code}，{expires} 前有效；积分 30" for _, code in issued}


def test_a_missing_coupon_campaign_fails_that_enrolment_only(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    cid = community(engine, workspace_id)
    add_members(engine, workspace_id, cid, 2)
    install(j, EFFECTS)
    install(j, WAKE)
    with engine.begin() as conn:  # an operator deleted the campaign after enabling
        from qunyun.store.engage_tables import coupon_campaigns

        conn.execute(coupon_campaigns.delete())
    j.enrol_members("gift", None, "test")
    report = j.run_cycle()
    assert report.tick.failed == 2
    with engine.connect() as conn:
        outcomes = [r.outcome for r in conn.execute(select(enrolments.c.outcome))]
    assert all("welcome-coupon" in o for o in outcomes)
    assert all(j.ledger.balance(m) == 30 for m in (1, 2))  # the step before it stood


OPT = """
name: drip
title: drip
trigger: {manual: true}
holdout: 0
steps:
  - id: one
    send_message: {template: 第一条}
  - wait: {days: 1}
  - id: two
    send_message: {template: 第二条}
"""


def test_a_member_who_replies_stop_gets_nothing_more(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    cid = community(engine, workspace_id)
    m1, m2 = add_members(engine, workspace_id, cid, 2)
    install(j, OPT)
    j.enrol_members("drip", None, "test")
    j.run_cycle()
    assert len(channel.sent) == 2
    act(engine, cid, m1, "message", T0 + timedelta(hours=1), text=" 退订 ")
    clock.set(T0 + timedelta(days=1, hours=1))
    report = j.run_cycle()
    assert report.scan.opted_out == 1
    assert sorted(k for k, _, _ in channel.sent) == sorted(
        [f"drip:m:{m1}:1:one", f"drip:m:{m2}:1:one", f"drip:m:{m2}:1:two"]
    )
    with engine.connect() as conn:
        assert conn.execute(select(member_optouts.c.member_id)).scalars().all() == [m1]
        status = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.status)).all())
    assert status[m1] == "exited"
    assert j.enrol_members("drip", [m1], "test") == 0  # opted out: never enrolled again


WAIT_FOR = """
name: ask
title: ask
trigger: {manual: true}
holdout: 0
steps:
  - id: ask
    send_message: {template: 在吗？}
  - wait: {for: [reply, message], timeout: {days: 3}}
  - if: {waited_activity: true}
    then:
      - id: thanks
        send_message: {template: 谢谢回复}
    else:
      - id: later
        send_message: {template: 有空再聊}
"""


def test_a_wait_for_activity_ends_early_when_the_member_answers(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    cid = community(engine, workspace_id)
    m1, m2 = add_members(engine, workspace_id, cid, 2)
    install(j, WAIT_FOR)
    j.enrol_members("ask", None, "test")
    j.run_cycle()
    act(engine, cid, m1, "reply", T0 + timedelta(minutes=30))
    clock.set(T0 + timedelta(hours=1))  # 21:00 in Shanghai, before quiet hours
    j.run_cycle()
    assert f"ask:m:{m1}:1:thanks" in channel.counts()
    assert not any(k.startswith(f"ask:m:{m2}:1:") and not k.endswith("ask") for k in channel.counts())
    clock.set(T0 + timedelta(days=3, minutes=30))
    j.run_cycle()
    assert f"ask:m:{m2}:1:later" in channel.counts()
    assert sum(channel.counts().values()) == 4
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(enrolments).where(enrolments.c.status == "completed")
            ).scalar()
            == 2
        )


CARE = """
name: care
title: 关怀
trigger: {activity: [negative_message, first_purchase]}
holdout: 0
steps:
  - notify_operator: {title: "请关注 {{ member.nickname }}", severity: warning}
"""


def test_alerts_and_first_purchases_trigger_playbooks(
    engine: Engine, workspace_id: int, settings: Settings, clock: FixedClock
) -> None:
    from qunyun.store.tables import activities, alerts

    j = journeys_for(settings, engine, clock, workspace_id, CountingChannel())
    install(j, CARE)
    cid = community(engine, workspace_id)
    unhappy, buyer, repeat = add_members(engine, workspace_id, cid, 3)
    act(engine, cid, repeat, "purchase", T0 - timedelta(days=3))  # bought before: not a first purchase
    clock.set(T0 + timedelta(hours=1))
    act(engine, cid, buyer, "purchase", T0 + timedelta(minutes=10))
    act(engine, cid, repeat, "purchase", T0 + timedelta(minutes=20))
    with engine.begin() as conn:
        message = (
            conn.execute(select(activities.c.id).where(activities.c.kind == "purchase")).scalars().first()
        )
        conn.execute(
            alerts.insert().values(
                workspace_id=workspace_id, community_id=cid, kind="complaint", severity="warning",
                member_id=unhappy, activity_id=message, detail={}, occurred_at=T0 + timedelta(minutes=30),
                created_at=T0 + timedelta(minutes=30), status="open", dedupe_key="c1",
            )
        )  # fmt: skip
    report = j.run_cycle()
    assert report.scan.enrolled == 2
    with engine.connect() as conn:
        raised = conn.execute(
            select(alerts.c.member_id, alerts.c.detail).where(alerts.c.kind == "playbook")
        ).all()
    assert sorted(m for m, _ in raised) == sorted([unhappy, buyer])
    assert {d["title"] for _, d in raised} == {f"请关注 用户{unhappy}", f"请关注 用户{buyer}"}
