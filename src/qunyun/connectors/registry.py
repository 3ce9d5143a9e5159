"""Channels by name, built from `qunyun.toml`: the one place that knows every adapter.

Built-ins register here the same way an operator's own adapter would
(`register("name", factory)`); Step 7's dispatcher asks `build` for the
channel a playbook step names.
"""

from collections.abc import Callable

from qunyun.config import Settings
from qunyun.connectors.base import Channel, ChannelError, SendLog
from qunyun.connectors.discord import DiscordBotChannel, DiscordWebhookChannel
from qunyun.connectors.email import EmailChannel, SmtpSettings
from qunyun.connectors.matrix import MatrixChannel, MatrixClient
from qunyun.connectors.pacing import Rate
from qunyun.connectors.slack import SlackChannel
from qunyun.connectors.telegram import TelegramChannel
from qunyun.connectors.webhook import WebhookChannel
from qunyun.connectors.wecom_send import WeComAppChannel, WeComRobotChannel
from qunyun.domain import Clock

Factory = Callable[[Settings, SendLog, Clock], Channel]
_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    _FACTORIES[name] = factory


def names() -> list[str]:
    return sorted(_FACTORIES)


def build(name: str, settings: Settings, send_log: SendLog, clock: Clock) -> Channel:
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ChannelError(f"unknown channel {name!r}; known: {', '.join(names())}", code="channel.unknown")
    return factory(settings, send_log, clock)


def _need(value: str | int | None, key: str) -> str:
    if value is None or value == "":
        raise ChannelError(
            f"set {key} in qunyun.toml (or its QUNYUN_ variable)", code="channel.not_configured"
        )
    return str(value)


def _matrix(settings: Settings, log: SendLog, clock: Clock) -> Channel:
    config = settings.matrix
    base = _need(config.homeserver, "matrix.homeserver")
    if config.access_token:
        client = MatrixClient(base, config.access_token)
    else:
        client = MatrixClient.login(
            base, _need(config.user, "matrix.user"), _need(config.password, "matrix.password")
        )
    return MatrixChannel(client, log, rate=Rate(config.send_per_minute, 60.0))


def _email(settings: Settings, log: SendLog, clock: Clock) -> Channel:
    config = settings.email
    smtp = SmtpSettings(
        host=_need(config.host, "email.host"),
        port=config.port,
        sender=config.sender,
        username=config.username,
        password=config.password,
        starttls=config.starttls,
        rate=Rate(max(1, round(config.per_second * 10)), 10.0),
    )
    return EmailChannel(smtp, log)


def _wecom(settings: Settings, log: SendLog, clock: Clock) -> Channel:
    config = settings.wecom
    agent = int(_need(config.agent_id, "wecom.agent_id"))
    corp, secret = _need(config.corp_id, "wecom.corp_id"), _need(config.secret, "wecom.secret")
    return WeComAppChannel(corp, secret, agent, log, base_url=config.api_url)


def _webhook(settings: Settings, log: SendLog, clock: Clock) -> Channel:
    config = settings.webhook
    rate = Rate(max(1, round(config.per_second * 10)), 10.0)
    return WebhookChannel(
        _need(config.url, "webhook.url"), _need(config.secret, "webhook.secret"), clock, log, rate=rate
    )


register("matrix", _matrix)
register(
    "telegram",
    lambda s, log, clock: TelegramChannel(
        _need(s.telegram.bot_token, "telegram.bot_token"), log, base_url=s.telegram.api_url
    ),
)
register(
    "slack",
    lambda s, log, clock: SlackChannel(
        _need(s.slack.bot_token, "slack.bot_token"), log, base_url=s.slack.api_url
    ),
)
register(
    "discord",
    lambda s, log, clock: DiscordBotChannel(
        _need(s.discord.bot_token, "discord.bot_token"), log, base_url=s.discord.api_url
    ),
)
register(
    "discord-webhook",
    lambda s, log, clock: DiscordWebhookChannel(_need(s.discord.webhook_url, "discord.webhook_url"), log),
)
register("wecom", _wecom)
register(
    "wecom-robot",
    lambda s, log, clock: WeComRobotChannel(_need(s.wecom.robot_webhook_url, "wecom.robot_webhook_url"), log),
)
register("email", _email)
register("webhook", _webhook)
