"""Getting activity in: file formats, validation, batching, identity resolution.

Formats register in `FORMATS` (name → source class); later importers
(Telegram, Discord, Slack, WeChat) register the same way.
"""

from collections.abc import Callable
from pathlib import Path

from qunyun.ingest.contacts import ContactLinker
from qunyun.ingest.discord import DiscordSource
from qunyun.ingest.pipeline import Importer, ImportOptions, ImportReport, import_source
from qunyun.ingest.rows import FIELDS, RowDefaults, RowProblem
from qunyun.ingest.slack import SlackSource
from qunyun.ingest.sources import CsvSource, JsonlSource, RowSource
from qunyun.ingest.telegram import TelegramSource
from qunyun.ingest.wechat import WechatSource

# name → a source over a path (file or folder) and an encoding
FORMATS: dict[str, Callable[[Path, str], RowSource]] = {
    "csv": CsvSource,
    "jsonl": JsonlSource,
    "telegram": TelegramSource,
    "discord": DiscordSource,
    "slack": SlackSource,
    "wechat": WechatSource,
}

__all__ = [
    "FIELDS",
    "FORMATS",
    "ContactLinker",
    "CsvSource",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "JsonlSource",
    "RowDefaults",
    "RowProblem",
    "RowSource",
    "import_source",
]
