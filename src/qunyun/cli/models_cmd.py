"""`qunyun models [fit|backtest]`: the lifecycle models per community (docs/models.md)."""

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from qunyun.analytics import AnalyticsEngine
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, err_console, print_json, when
from qunyun.cli.timeparse import parse_instant
from qunyun.lifecycle.model_views import latest_fits
from qunyun.lifecycle.refresh import last_refresh
from qunyun.store.tables import communities

models_app = typer.Typer(help="Lifecycle models: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma — docs/models.md.")

CommunityOption = Annotated[str | None, typer.Option("--community", help="Community external id.")]


def _as_of(ctx: AppContext, value: str | None) -> datetime:
    if value:
        return parse_instant(value, ctx.settings.zone)
    with ctx.engine.connect() as conn:
        return last_refresh(conn, ctx.workspace_id) or ctx.clock.now()


@models_app.callback(invoke_without_command=True)
def models_command(
    typer_ctx: typer.Context,
    community: CommunityOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the latest fit per community: chosen model, parameters, fit diagnostics, why."""
    if typer_ctx.invoked_subcommand is not None:
        return
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        fits = latest_fits(conn, ctx.workspace_id, community)
    if as_json:
        print_json({"fits": fits})
        return
    if not fits:
        console.print("no models fitted yet: run `qunyun refresh` or `qunyun models fit`")
        return
    table = Table(title="Lifecycle models (latest fit per community and target)")
    for column in ("community", "target", "model", "status", "parameters", "log-likelihood", "as of"):
        table.add_column(column)
    for fit in fits:
        params = ", ".join(f"{k}={v:.4g}" for k, v in fit["params"].items())
        ll = "" if fit["log_likelihood"] is None else f"{fit['log_likelihood']:,.1f}"
        table.add_row(
            fit["community"],
            fit["target"],
            fit["model"],
            fit["status"],
            params,
            ll,
            when(fit["as_of"], ctx.settings.zone),
        )
    console.print(table)


@models_app.command("fit")
def fit_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Default: the last refresh.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Backtest, fit and score every community now (refresh does this every models.refit_days)."""
    from qunyun.lifecycle.science import fit_and_score  # scipy and friends: only when used

    ctx = AppContext.create(db, config)
    at = _as_of(ctx, as_of)
    ctx.mirror.sync()
    with err_console.status("backtesting and fitting models…"):
        outcomes = fit_and_score(
            AnalyticsEngine.on_mirror(ctx.mirror), ctx.engine, ctx.settings, ctx.workspace_id, at, ctx.clock
        )
    summary = [
        {"community_id": o.community_id, "members": o.members, "chosen": o.chosen, "status": o.status}
        for o in outcomes
    ]
    if as_json:
        print_json({"as_of": at, "communities": summary})
        return
    for o in summary:
        console.print(
            f"community {o['community_id']}: {o['members']:,} members → {o['chosen']} ({o['status']})"
        )


@models_app.command("backtest")
def backtest_command(
    community: CommunityOption = None,
    cutoff: Annotated[
        str | None, typer.Option("--cutoff", help="Default: horizon before the last refresh.")
    ] = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="Days (default: models.horizon_days).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Split each community's history at a cutoff and score every candidate side by side."""
    from qunyun.lifecycle.science import local_midnight, run_backtests

    ctx = AppContext.create(db, config)
    days = horizon or ctx.settings.models.horizon_days
    at = parse_instant(cutoff, ctx.settings.zone) if cutoff else _as_of(ctx, None) - timedelta(days=days)
    ctx.mirror.sync()
    with err_console.status("backtesting…"):
        results = run_backtests(
            AnalyticsEngine.on_mirror(ctx.mirror), ctx.settings, ctx.workspace_id, at, days
        )
    with ctx.engine.connect() as conn:
        names = dict(
            conn.execute(
                communities.select().with_only_columns(communities.c.id, communities.c.external_id)
            ).all()
        )
    report: dict[str, Any] = {
        names[c]: r.as_json() for c, r in results.items() if community is None or names[c] == community
    }
    if as_json:
        print_json({"cutoff": local_midnight(at, ctx.settings), "horizon_days": days, "communities": report})
        return
    if not report:
        console.print("no community has enough members before the cutoff to backtest")
        return
    for name, result in report.items():
        table = Table(
            title=f"{name}: {result['members']:,} members, {result['came_back']:,} active again "
            f"within {days} days → use {result['chosen']}"
        )
        for column in ("candidate", "AUC", "AUC of P(alive)", "predicted", "actual", "MAE"):
            table.add_column(column)
        for candidate, score in sorted(result["scores"].items(), key=lambda kv: -(kv[1]["auc"] or 0)):
            table.add_row(
                candidate,
                *[
                    _fmt(score[k])
                    for k in ("auc", "auc_p_alive", "predicted_total", "actual_total", "mean_abs_error")
                ],
            )
        console.print(table)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.3f}"
