"""Live platforms: receiving activity and sending messages (Matrix, Telegram, Discord, Slack,
WeCom, email, signed webhooks). Only the domain is imported here; callers wire in the store
(`store.sends.SqlSendLog` as the send log, cursors for sync tokens)."""

from qunyun.connectors.base import (
    Channel,
    ChannelError,
    Delivery,
    DeliveryStatus,
    MemorySendLog,
    OutboundMessage,
    Recipient,
    SendLog,
)
from qunyun.connectors.pacing import Pacer, Rate

__all__ = [
    "Channel",
    "ChannelError",
    "Delivery",
    "DeliveryStatus",
    "MemorySendLog",
    "OutboundMessage",
    "Pacer",
    "Rate",
    "Recipient",
    "SendLog",
]
