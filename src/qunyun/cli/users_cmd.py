"""`qunyun users …` and `qunyun tokens …`: operator accounts and API tokens (docs/api.md)."""

import os
from typing import Annotated

import typer
from rich.table import Table

from qunyun.auth.accounts import Accounts
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json

users_app = typer.Typer(help="Operator accounts: admin, operator, analyst, viewer.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for scripts (Authorization: Bearer …).", no_args_is_help=True)
PASSWORD_ENV = "QUNYUN_PASSWORD"


def _accounts(db: str | None, config: object) -> tuple[AppContext, Accounts]:
    ctx = AppContext.create(db, config)  # type: ignore[arg-type]  # ConfigOption is Path | None
    return ctx, Accounts(ctx.engine, ctx.clock)


@users_app.command("add")
def add_command(
    username: str,
    role: Annotated[str, typer.Option(help="admin, operator, analyst or viewer.")] = "operator",
    name: Annotated[str | None, typer.Option(help="Display name (default: the username).")] = None,
    locale: Annotated[str, typer.Option(help="zh-CN or en: the dashboard's language for them.")] = "zh-CN",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Add an operator; the password comes from $QUNYUN_PASSWORD or a hidden prompt."""
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    ctx, accounts = _accounts(db, config)
    accounts.add(ctx.workspace_id, username, password, role, display_name=name, locale=locale)
    console.print(f"added {username} ({role})")


@users_app.command("list")
def list_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Operator accounts of the workspace."""
    ctx, accounts = _accounts(db, config)
    rows = accounts.list_operators(ctx.workspace_id)
    if as_json:
        print_json({"operators": rows})
        return
    table = Table(title="Operators")
    for column in ("username", "name", "role", "locale", "created"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["username"], r["display_name"], r["role"], r["locale"], str(r["created_at"])[:16])
    console.print(table)


@users_app.command("remove")
def remove_command(username: str, db: DbOption = None, config: ConfigOption = None) -> None:
    """Remove an operator: their sessions and tokens stop working at once."""
    ctx, accounts = _accounts(db, config)
    accounts.remove(ctx.workspace_id, username)
    console.print(f"removed {username}")


@tokens_app.command("create")
def create_command(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Make an API token for an operator; it acts with their role. Shown once: store it now."""
    ctx, accounts = _accounts(db, config)
    console.print(accounts.create_token(ctx.workspace_id, username, name), markup=False, highlight=False)


@tokens_app.command("list")
def tokens_list_command(
    db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Live tokens (their first characters only)."""
    ctx, accounts = _accounts(db, config)
    rows = accounts.tokens(ctx.workspace_id)
    if as_json:
        print_json({"tokens": rows})
        return
    table = Table(title="API tokens")
    for column in ("id", "operator", "name", "starts", "created", "last used"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]), r["username"], r["name"], r["prefix"] + "…", str(r["created_at"])[:16],
            str(r["last_used_at"] or "")[:16],
        )  # fmt: skip
    console.print(table)


@tokens_app.command("revoke")
def revoke_command(token_id: int, db: DbOption = None, config: ConfigOption = None) -> None:
    """Revoke a token by id (see `qunyun tokens list`)."""
    ctx, accounts = _accounts(db, config)
    accounts.revoke_token(ctx.workspace_id, token_id)
    console.print(f"revoked token {token_id}")
