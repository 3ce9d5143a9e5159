"""`qunyun points …` and `qunyun ledger verify`: the points ledger from the command line."""

from typing import Annotated

import typer
from rich.table import Table

from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption, KeyOption
from qunyun.cli.output import console, print_json, when
from qunyun.engage.ledger import Posted
from qunyun.engage.ledger_verify import verify_ledger

points_app = typer.Typer(no_args_is_help=True, help="Members' points: balance, history, earn, spend, refund.")
ledger_app = typer.Typer(no_args_is_help=True, help="The points ledger as a whole.")


def _posted(result: Posted, as_json: bool, balance: int | None) -> None:
    data = {
        "transaction": result.transaction_id,
        "kind": result.kind,
        "amount": result.amount,
        "replayed": result.replayed,
        "balance": balance,
        **({"detail": result.detail} if result.detail else {}),
    }
    if as_json:
        print_json(data)
        return
    note = " (already applied: nothing changed)" if result.replayed else ""
    console.print(f"{result.kind} {result.amount} points{note}; balance now {balance}")


@points_app.command("balance")
def balance_command(
    member: Annotated[int, typer.Argument(help="Member id.")],
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Points usable now, and the lots they are in (soonest expiry first)."""
    ctx = AppContext.create(db, config)
    ledger = ctx.ledger()
    lots = ledger.lots(member)
    usable = ledger.balance(member)
    if as_json:
        print_json({"member": member, "balance": usable, "lots": [lot.__dict__ for lot in lots]})
        return
    console.print(f"member {member}: {usable} points")
    table = Table("left", "earned", "expires")
    for lot in lots:
        table.add_row(
            str(lot.remaining),
            when(lot.earned_at, ctx.settings.zone),
            when(lot.expires_at, ctx.settings.zone),
        )
    console.print(table)


@points_app.command("history")
def history_command(
    member: Annotated[int, typer.Argument(help="Member id.")],
    limit: Annotated[int, typer.Option(min=1)] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The member's ledger lines, newest first."""
    ctx = AppContext.create(db, config)
    lines = ctx.ledger().history(member, limit)
    if as_json:
        print_json([line.__dict__ for line in lines])
        return
    table = Table("when", "kind", "change", "rule", "key")
    for line in lines:
        table.add_row(
            when(line.at, ctx.settings.zone), line.kind, f"{line.change:+d}", line.rule or "", line.key
        )
    console.print(table)


@points_app.command("earn")
def earn_command(
    member: Annotated[int, typer.Argument(help="Member id.")],
    amount: Annotated[int | None, typer.Argument(help="Points (default: the rule's amount).")] = None,
    key: KeyOption = ...,  # type: ignore[assignment]  # typer: a required option
    rule: Annotated[str | None, typer.Option(help="Earn rule name (points.earn in qunyun.toml).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Award points to a member."""
    ctx = AppContext.create(db, config)
    ledger = ctx.ledger()
    if amount is None:
        if rule is None:
            raise typer.BadParameter("give an amount or --rule")
        result = ledger.earn_rule(member, rule, key=key)
    else:
        result = ledger.earn(member, amount, key=key, rule=rule)
    _posted(result, as_json, ledger.balance(member))


@points_app.command("spend")
def spend_command(
    member: Annotated[int, typer.Argument(help="Member id.")],
    amount: Annotated[int, typer.Argument(help="Points.")],
    key: KeyOption = ...,  # type: ignore[assignment]  # typer: a required option
    reason: Annotated[str | None, typer.Option(help="What the points bought.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take points from a member (refused, with nothing written, if the balance is short)."""
    ctx = AppContext.create(db, config)
    ledger = ctx.ledger()
    _posted(ledger.spend(member, amount, key=key, reason=reason), as_json, ledger.balance(member))


@points_app.command("refund")
def refund_command(
    spend_key: Annotated[str, typer.Argument(help="The key of the spend to refund.")],
    key: KeyOption = ...,  # type: ignore[assignment]  # typer: a required option
    amount: Annotated[int | None, typer.Option(help="Points (default: all that is left).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a spend's points back, into the lots they came from."""
    ctx = AppContext.create(db, config)
    _posted(ctx.ledger().refund(spend_key, key=key, amount=amount), as_json, None)


@points_app.command("expire")
def expire_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Expire every lot past its date (the worker does this daily; safe to repeat)."""
    ctx = AppContext.create(db, config)
    expired = ctx.ledger().expire_due()
    if as_json:
        print_json({"expired": expired})
    else:
        console.print(f"{expired} points expired")


@ledger_app.command("verify")
def verify_command(
    fix: Annotated[bool, typer.Option(help="Rewrite cached balances from the entries.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reconcile the ledger: entries balance, caches and lots agree with the entries. Exit 1 if not."""
    ctx = AppContext.create(db, config)
    report = verify_ledger(ctx.engine, ctx.workspace_id, fix=fix)
    totals = ctx.ledger().totals()
    if as_json:
        print_json({**report.as_dict(), "totals": totals})
    else:
        state = "[green]clean[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]"
        console.print(
            f"ledger {state}: {report.transactions} transactions, {report.accounts} accounts, "
            f"{report.lots} lots, {report.points_held} points held"
            + (f"; {report.fixed} cached balance(s) rewritten" if report.fixed else "")
        )
        for name, total in sorted(totals.items()):
            console.print(f"  {name}: {total}")
        for problem in report.problems:
            console.print(f"  [red]{problem}[/]")
    if not report.ok:
        raise typer.Exit(1)
