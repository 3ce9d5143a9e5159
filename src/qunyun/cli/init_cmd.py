"""`qunyun init`: a config file, a secret key, a migrated database."""

from pathlib import Path
from typing import Annotated

import typer

from qunyun.cli.context import AppContext
from qunyun.cli.options import DbOption
from qunyun.cli.output import console
from qunyun.config import DEFAULT_CONFIG_NAME

STARTER_CONFIG = """\
# Qunyun configuration — every key and its default: docs/configuration.md
[general]
timezone = "Asia/Shanghai"
locale = "zh-CN"

[database]
# Embedded default; a PostgreSQL URL works too: postgresql://user@host/db
url = "sqlite:///qunyun.db"

[privacy]
# The key that pseudonymises and encrypts contacts. Keep it out of version control.
key_file = ".qunyun/secret.key"

[lifecycle]
silent_after_days = 30
churn_inactive_days = 90
"""


def init_command(
    db: DbOption = None,
    config: Annotated[Path, typer.Option("--config", help="Config file to create.")] = Path(
        DEFAULT_CONFIG_NAME
    ),
) -> None:
    """Create qunyun.toml (if missing) and the secret key, and migrate the database."""
    created = not config.exists()
    if created:
        config.write_text(STARTER_CONFIG, encoding="utf-8")
    ctx = AppContext.create(db, config)
    ctx.protector(create=True)
    workspace = ctx.workspace_id
    key_file = ctx.settings.resolve_path(ctx.settings.privacy.key_file)
    console.print(f"{'created' if created else 'kept'} {config}")
    if ctx.settings.privacy.secret_key:
        console.print("secret key: from configuration")
    else:
        console.print(f"secret key: {key_file} (back it up; without it contacts cannot be matched or read)")
    console.print(
        f"database ready: {ctx.engine.url.render_as_string(hide_password=True)} (workspace {workspace})"
    )
