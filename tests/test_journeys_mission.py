"""The mission's playbooks end to end: 30 simulated days, a worker cycle every hour, every message checked.

Hand-made members each meet one playbook: a newcomer, a member who goes
silent (interested in 摄影), a leaver who answers the exit survey, a member
who checks in every day, four active members (the community stars), and the
group itself (the content calendar). The built-ins run as shipped, except
holdout 0 so that every member here is treated. Each message sent is then
checked against its playbook: to whom, when (never in quiet hours, never over
the daily cap) and what text.
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select, update

from journey_helpers import CountingChannel, act, add_members, community, journeys_for, transition
from qunyun.config import Settings
from qunyun.connectors.base import Attempt, OutboundMessage, Recipient
from qunyun.domain import FixedClock
from qunyun.engage.checkins import CheckinPolicy, Checkins
from qunyun.feedback.responses import NewResponse, record_response
from qunyun.journeys.catalog import builtin_sources
from qunyun.store.engage_tables import coupons
from qunyun.store.journey_tables import member_tags
from qunyun.store.tables import member_state, member_topics

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai
PLAYBOOKS = (
    "new-member-7-days", "silent-wake-up", "win-back-trilogy", "content-calendar", "checkin-streak-7",
    "koc-community-stars",
)  # fmt: skip


class TimedChannel(CountingChannel):
    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock
        self.at: dict[str, datetime] = {}

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        self.at[key] = self.clock.now()
        return super()._attempt(recipient, message, key)


@pytest.mark.slow
def test_thirty_days_of_the_mission_playbooks(engine: Engine, workspace_id: int, settings: Settings) -> None:
    clock = FixedClock(START)
    channel = TimedChannel(clock)
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    cid = community(engine, workspace_id, tz="Asia/Shanghai")
    newcomer, silent, leaver, checker = add_members(
        engine, workspace_id, cid, 4, at=START - timedelta(days=60)
    )
    stars = add_members(engine, workspace_id, cid, 4, at=START - timedelta(days=60))
    with engine.begin() as conn:
        for rank, m in enumerate(stars):
            conn.execute(update(member_state).where(member_state.c.member_id == m)
                         .values(interactions_30d=40 - rank))  # fmt: skip
        conn.execute(insert(member_topics).values(community_id=cid, member_id=silent, topic="摄影", score=3.0,
                                                  as_of=START, reasons=[]))  # fmt: skip
    for name in PLAYBOOKS:
        j.catalog.save(builtin_sources()[name].replace("holdout: 0.1", "holdout: 0"), name, "test")
        j.enable(name, "test")
    checkins = Checkins(engine, workspace_id, clock, j.ledger, CheckinPolicy(streak_rewards={}))
    events: dict[datetime, list[Callable[[], object]]] = defaultdict(list)
    events[START + timedelta(hours=1)].append(
        lambda: transition(engine, cid, newcomer, "new", clock.now(), "active")
    )
    events[START + timedelta(days=2, hours=2)].append(
        lambda: transition(engine, cid, silent, "silent", clock.now())
    )
    events[START + timedelta(days=4, hours=4)].append(lambda: act(engine, cid, leaver, "leave", clock.now()))
    events[START + timedelta(days=4, hours=9)].append(
        lambda: _answer_exit(engine, workspace_id, clock, leaver, cid)
    )
    for day in range(8):  # the check-in member checks in on eight days running, at 09:00 local
        events[START + timedelta(days=day, hours=1)].append(
            lambda: checkins.check_in(checker, ZONE, community_id=cid)
        )
    now = START
    while now <= START + timedelta(days=30):
        clock.set(now)
        for event in events.get(now, []):
            event()
        j.run_cycle()
        now += timedelta(hours=1)
    sent = [(key, recipient, text, channel.at[key]) for key, recipient, text in channel.sent]
    assert max(channel.counts().values()) == 1

    # Guard rails: no direct message in quiet hours, none over two a member-local day.
    per_day: Counter[tuple[str, date]] = Counter()
    for _, recipient, _, at in sent:
        if recipient.direct:
            local = at.astimezone(ZONE)
            assert 8 <= local.hour < 22, (recipient, local)
            per_day[(recipient.address, local.date())] += 1
    assert max(per_day.values()) <= 2

    by_member = defaultdict(list)
    for key, recipient, text, at in sent:
        by_member[recipient.address].append((key.split(":")[0], key.split(":")[-1], text, at))
    coupon_of = _coupons(engine)

    steps = [(p, s) for p, s, _, _ in by_member[f"u{newcomer}"]]
    plan = ("welcome", "light-task", "interest-content", "event-invite", "gift-message")
    assert steps == [("new-member-7-days", s) for s in plan]
    texts = {s: t for _, s, t, _ in by_member[f"u{newcomer}"]}
    assert f"用户{newcomer}" in texts["welcome"]
    assert coupon_of[newcomer] in texts["gift-message"]
    gift_at = next(at for _, s, _, at in by_member[f"u{newcomer}"] if s == "gift-message")
    assert timedelta(days=6) <= gift_at - (START + timedelta(hours=1)) <= timedelta(days=9)

    wake = by_member[f"u{silent}"]
    assert [s for _, s, _, _ in wake] == ["wake-up", "light-poll"]
    assert "「摄影」" in wake[0][2]
    assert coupon_of[silent] in wake[0][2]
    assert f"https://h5.test/m/{silent}/survey:wake-up-poll" in wake[1][2]
    assert wake[1][3] - wake[0][3] >= timedelta(days=3)

    back = by_member[f"u{leaver}"]
    assert [s for _, s, _, _ in back] == ["exit-survey", "follow-up-fewer", "return-gift"]
    assert back[0][3] - (START + timedelta(days=4, hours=4)) <= timedelta(hours=24)
    assert f"https://h5.test/m/{leaver}/survey:exit" in back[0][2]
    assert coupon_of[leaver] in back[2][2]
    with engine.connect() as conn:
        assert (leaver, "少打扰") in conn.execute(select(member_tags.c.member_id, member_tags.c.tag)).all()

    streak = [s for p, s, _, _ in by_member[f"u{checker}"] if p == "checkin-streak-7"]
    assert streak == ["streak-congrats"]  # the 7th day; the 8th is within the hold

    crowned = {addr for addr, msgs in by_member.items() for p, _, _, _ in msgs if p == "koc-community-stars"}
    assert crowned == {f"u{m}" for m in stars[:3]}  # top 3 by interaction, on 1 June 10:00

    posts = [(s, at.astimezone(ZONE)) for key, r, _, at in sent if not r.direct for s in [key.split(":")[-1]]]
    assert Counter(at.hour for _, at in posts) == _expected_post_hours()
    assert all(at.minute == 0 for _, at in posts)


def _expected_post_hours() -> Counter[int]:
    """From the calendar: 08:00, 21:00 daily; 11:00, 15:00 weekdays; 09:00 Mon/Wed/Fri; after enabling."""
    hours: Counter[int] = Counter()
    for day in range(31):
        local = (START + timedelta(days=day)).astimezone(ZONE)
        for hour in (8, 21):
            hours[hour] += START < local.replace(hour=hour) <= START + timedelta(days=30)
        if local.weekday() < 5:
            for hour in (11, 15):
                hours[hour] += START < local.replace(hour=hour) <= START + timedelta(days=30)
        if local.weekday() in (0, 2, 4):
            hours[9] += START < local.replace(hour=9) <= START + timedelta(days=30)
    return +hours


def _answer_exit(engine: Engine, workspace_id: int, clock: FixedClock, member: int, cid: int) -> None:
    with engine.begin() as conn:
        answer = NewResponse(
            "exit", member, {"reason": "too_many_messages"}, key=f"exit-{member}", community_id=cid
        )
        record_response(conn, workspace_id, clock, answer)


def _coupons(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {int(m): str(code) for m, code in conn.execute(select(coupons.c.member_id, coupons.c.code))}
