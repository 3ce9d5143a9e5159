"""Outbound channels against loopback fakes of each platform's documented contract.

What every adapter must show: one idempotency key sends once, replays answer
from the log, a dropped answer is never resent (unless the platform itself
deduplicates), 429 / retry_after is honoured, published limits are kept
before the platform has to say so, refusals come back with the platform's words.
"""

from collections.abc import Iterator

import pytest

from platform_fakes import FakeDiscord, FakeSlack, FakeTelegram, FakeWeCom, Reply, serve
from qunyun.connectors.base import DeliveryStatus, MemorySendLog, OutboundMessage, Policy, Recipient
from qunyun.connectors.discord import DiscordBotChannel, DiscordWebhookChannel
from qunyun.connectors.pacing import ManualTime, Pacer
from qunyun.connectors.slack import SlackChannel
from qunyun.connectors.telegram import TelegramChannel
from qunyun.connectors.wecom_send import WeComAppChannel, WeComRobotChannel
from qunyun.domain import IdempotencyConflictError

GROUP = "-100200300"
PERSON = "4242"
HELLO = OutboundMessage("早上好！今天的打卡开始啦")


@pytest.fixture
def time() -> ManualTime:
    return ManualTime()


@pytest.fixture
def telegram_fake() -> FakeTelegram:
    return FakeTelegram("123:abc", {GROUP, PERSON, "-1001", "-1002"} | {str(i) for i in range(100)})


@pytest.fixture
def telegram(telegram_fake: FakeTelegram, time: ManualTime) -> Iterator[TelegramChannel]:
    with serve(telegram_fake) as url:
        yield TelegramChannel("123:abc", MemorySendLog(), base_url=url, pacer=Pacer(time))


def test_telegram_sends_once_per_key(telegram: TelegramChannel, telegram_fake: FakeTelegram) -> None:
    first = telegram.send(Recipient(GROUP), HELLO, "k1")
    assert first.status is DeliveryStatus.SENT
    assert first.platform_id == "1"
    again = telegram.send(Recipient(GROUP), HELLO, "k1")
    assert again.status is DeliveryStatus.ALREADY_SENT
    assert again.platform_id == "1"
    assert telegram_fake.sent == [(GROUP, HELLO.text)]
    with pytest.raises(IdempotencyConflictError):
        telegram.send(Recipient(GROUP), OutboundMessage("另一条"), "k1")


def test_telegram_honours_retry_after(
    telegram: TelegramChannel, telegram_fake: FakeTelegram, time: ManualTime
) -> None:
    telegram_fake.next_replies.append(FakeTelegram.too_many(3))
    delivery = telegram.send(Recipient(GROUP), HELLO, "k1")
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert sum(time.sleeps) >= 3.0
    assert len(telegram_fake.sent) == 1


def test_telegram_long_retry_after_hands_back_and_releases_the_key(
    telegram: TelegramChannel, telegram_fake: FakeTelegram
) -> None:
    telegram_fake.next_replies.append(FakeTelegram.too_many(120))
    delivery = telegram.send(Recipient(GROUP), HELLO, "k1")
    assert delivery.status is DeliveryStatus.DEFERRED
    assert delivery.retry_after == 120
    assert telegram_fake.sent == []
    assert telegram.send(Recipient(GROUP), HELLO, "k1").status is DeliveryStatus.SENT


def test_telegram_refusal_carries_the_platform_words(telegram: TelegramChannel) -> None:
    delivery = telegram.send(Recipient("-999"), HELLO, "k1")
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error is not None
    assert "chat not found" in delivery.error
    too_long = telegram.send(Recipient(GROUP), OutboundMessage("字" * 4097), "k2")
    assert too_long.status is DeliveryStatus.FAILED


def test_telegram_lost_answer_is_in_doubt_and_never_resent(
    telegram: TelegramChannel, telegram_fake: FakeTelegram
) -> None:
    telegram_fake.drop_after_handling = 1
    delivery = telegram.send(Recipient(GROUP), HELLO, "k1")
    assert delivery.status is DeliveryStatus.IN_DOUBT
    replay = telegram.send(Recipient(GROUP), HELLO, "k1")
    assert replay.status is DeliveryStatus.IN_DOUBT
    assert len(telegram_fake.sent) == 1  # the member got it once; we did not send it again


def test_telegram_keeps_20_per_minute_in_a_group(telegram: TelegramChannel, time: ManualTime) -> None:
    for i in range(25):
        assert telegram.send(Recipient(GROUP), OutboundMessage(f"第{i}条"), f"k{i}").delivered
    # 20 go at once (a full bucket), then one every 3 s.
    assert time.monotonic() == pytest.approx(5 * 3.0)


def test_telegram_keeps_30_per_second_overall(telegram: TelegramChannel, time: ManualTime) -> None:
    for i in range(60):
        assert telegram.send(Recipient(str(i)), HELLO, f"k{i}").delivered
    assert time.monotonic() == pytest.approx(30 / 30)


@pytest.fixture
def slack_fake() -> FakeSlack:
    return FakeSlack("xoxb-1", {"C1", "U7"})


def test_slack_posts_and_paces_one_per_second(slack_fake: FakeSlack, time: ManualTime) -> None:
    with serve(slack_fake) as url:
        slack = SlackChannel("xoxb-1", MemorySendLog(), base_url=url, pacer=Pacer(time))
        for i in range(3):
            delivery = slack.send(Recipient("C1"), OutboundMessage(f"hi {i}"), f"k{i}")
            assert delivery.status is DeliveryStatus.SENT
        assert delivery.platform_id == "C1:1764000000.000003"
        assert time.monotonic() == pytest.approx(2.0)
        slack_fake.next_replies.append(
            Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})
        )
        assert slack.send(Recipient("U7", direct=True), HELLO, "dm").attempts == 2
        assert time.sleeps[-1] == pytest.approx(7.0, abs=1.0)
        refused = slack.send(Recipient("C404"), HELLO, "k404")
        assert (refused.status, refused.error) == (DeliveryStatus.FAILED, "channel_not_found")
        wrong = SlackChannel("bad", MemorySendLog(), base_url=url, pacer=Pacer(time))
        assert wrong.send(Recipient("C1"), HELLO, "x").error == "invalid_auth"
    assert [text for _, text in slack_fake.sent] == ["hi 0", "hi 1", "hi 2", HELLO.text]


@pytest.fixture
def discord_fake() -> FakeDiscord:
    return FakeDiscord("bot-token", {"555"}, {"777"})


def test_discord_resends_a_lost_answer_and_the_nonce_keeps_it_single(
    discord_fake: FakeDiscord, time: ManualTime
) -> None:
    with serve(discord_fake) as url:
        bot = DiscordBotChannel("bot-token", MemorySendLog(), base_url=url, pacer=Pacer(time))
        discord_fake.drop_after_handling = 1
        delivery = bot.send(Recipient("555"), HELLO, "k1")
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert [m["content"] for m in discord_fake.messages] == [HELLO.text]
    assert delivery.platform_id == discord_fake.messages[0]["id"]


def test_discord_dm_buckets_and_429(discord_fake: FakeDiscord, time: ManualTime) -> None:
    with serve(discord_fake) as url:
        bot = DiscordBotChannel("bot-token", MemorySendLog(), base_url=url, pacer=Pacer(time))
        assert bot.send(Recipient("777", direct=True), HELLO, "dm").status is DeliveryStatus.SENT
        assert discord_fake.messages[0]["channel_id"] == "dm-777"
        discord_fake.next_replies.append(FakeDiscord.too_many(1.5, is_global=True))
        assert bot.send(Recipient("555"), HELLO, "k1").attempts == 2
        assert time.monotonic() >= 1.5
        before = time.monotonic()
        discord_fake.remaining = 1  # the next answer reports the bucket empty for 2.5 s
        bot.send(Recipient("555"), OutboundMessage("a"), "k2")
        bot.send(Recipient("555"), OutboundMessage("b"), "k3")
        assert time.monotonic() - before >= 2.5
        refused = bot.send(Recipient("404"), HELLO, "k404")
        assert refused.status is DeliveryStatus.FAILED
        assert refused.error is not None
        assert "10003" in refused.error
        hook = DiscordWebhookChannel(f"{url}/webhooks/1/tok", MemorySendLog(), pacer=Pacer(time))
        sent = hook.send(Recipient("#general"), OutboundMessage("webhook 你好"), "w1")
        assert sent.status is DeliveryStatus.SENT
    assert discord_fake.messages[-1]["content"] == "webhook 你好"


@pytest.fixture
def wecom_fake() -> FakeWeCom:
    return FakeWeCom("ww1", "s3cret", {"zhangsan", "lisi"}, {"chat1"})


def test_wecom_app_message_token_refresh_and_duplicate_check(wecom_fake: FakeWeCom, time: ManualTime) -> None:
    with serve(wecom_fake) as url:
        app = WeComAppChannel(
            "ww1", "s3cret", 1000002, MemorySendLog(), base_url=f"{url}/cgi-bin", pacer=Pacer(time)
        )
        assert app.send(Recipient("zhangsan", direct=True), HELLO, "k1").platform_id == "msg1"
        wecom_fake.expire_tokens()
        assert app.send(Recipient("lisi", direct=True), HELLO, "k2").status is DeliveryStatus.SENT
        gettokens = [r for r in wecom_fake.requests if r.path.endswith("gettoken")]
        assert len(gettokens) == 2
        # An answer lost after WeCom took the message: resent at once, WeCom's duplicate check drops it.
        wecom_fake.drop_after_handling = 1
        lost = app.send(Recipient("zhangsan", direct=True), OutboundMessage("限时券"), "k3")
        assert lost.status is DeliveryStatus.SENT
        assert wecom_fake.sent.count(("zhangsan", "限时券")) == 1
        refused = app.send(Recipient("nobody", direct=True), HELLO, "k4")
        assert refused.status is DeliveryStatus.FAILED
        assert refused.error is not None
        assert "nobody" in refused.error
        wecom_fake.next_replies.append(Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
        throttled = app.send(Recipient("lisi", direct=True), OutboundMessage("x"), "k5")
        assert throttled.status is DeliveryStatus.DEFERRED  # 60 s is beyond the in-line wait
        assert app.send(Recipient("chat1"), OutboundMessage("群公告"), "k6").status is DeliveryStatus.SENT
        assert app.send(Recipient("zhangsan", direct=True), OutboundMessage("长" * 700), "k7").error
        robot = WeComRobotChannel(f"{url}/cgi-bin/webhook/send?key=abc", MemorySendLog(), pacer=Pacer(time))
        for i in range(21):
            robot.send(Recipient("group"), OutboundMessage(f"机器人{i}"), f"r{i}")
    assert wecom_fake.robot_sent[-1] == "机器人20"
    assert time.monotonic() >= 3.0  # the 21st robot message waited for the 20-per-minute bucket


def test_policy_gives_up_after_max_attempts(telegram_fake: FakeTelegram, time: ManualTime) -> None:
    with serve(telegram_fake) as url:
        channel = TelegramChannel(
            "123:abc", MemorySendLog(), base_url=url, pacer=Pacer(time), policy=Policy(max_attempts=3)
        )
        telegram_fake.next_replies.extend(Reply(502, b"bad gateway") for _ in range(3))
        delivery = channel.send(Recipient(GROUP), HELLO, "k1")
    assert delivery.status is DeliveryStatus.DEFERRED
    assert delivery.attempts == 3
    assert time.sleeps[:2] == [1.0, 2.0]  # exponential backoff without a retry-after


def test_giving_up_after_a_doubtful_attempt_keeps_the_key(
    discord_fake: FakeDiscord, time: ManualTime
) -> None:
    """Discord dedupes by nonce for minutes only: after lost answers the key must not be freed."""
    with serve(discord_fake) as url:
        bot = DiscordBotChannel(
            "bot-token", MemorySendLog(), base_url=url, pacer=Pacer(time), policy=Policy(max_attempts=2)
        )
        discord_fake.drop_after_handling = 2
        first = bot.send(Recipient("555"), HELLO, "k1")
        assert first.status is DeliveryStatus.IN_DOUBT
        assert bot.send(Recipient("555"), HELLO, "k1").status is DeliveryStatus.IN_DOUBT
    assert [m["content"] for m in discord_fake.messages] == [HELLO.text]  # posted once, nonce-deduped
