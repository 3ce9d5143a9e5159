"""Options shared by every command."""

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql://…). Default: [database] url "
        "from qunyun.toml; QUNYUN_DATABASE_URL overrides.",
        envvar="QUNYUN_DATABASE_URL",
        show_envvar=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Path to qunyun.toml (default: ./qunyun.toml or $QUNYUN_CONFIG)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (see docs/cli.md).")]
KeyOption = Annotated[
    str, typer.Option("--key", help="Idempotency key: the same key twice applies once (docs/engagement.md).")
]
