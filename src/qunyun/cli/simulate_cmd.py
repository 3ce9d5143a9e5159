"""`qunyun simulate OUT_DIR`: a simulated community as import files plus its ground truth."""

from pathlib import Path
from typing import Annotated

import typer

from qunyun.cli.output import console, err_console


def simulate_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder for activities.<format> and truth.csv.")],
    members: Annotated[int, typer.Option(min=1, help="Members to simulate.")] = 3000,
    days: Annotated[int, typer.Option(min=1, help="Days of community history.")] = 180,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
) -> None:
    """Write a simulated community in the import format, with who really dropped out (truth.csv)."""
    from qunyun.sim import SimConfig, Simulator, write_activities_csv, write_activities_jsonl, write_truth_csv

    if fmt not in ("csv", "jsonl"):
        raise typer.BadParameter("use csv or jsonl", param_hint="--format")
    out_dir.mkdir(parents=True, exist_ok=True)
    sim = Simulator(SimConfig(members=members, days=days, seed=seed))
    activities_path = out_dir / f"activities.{fmt}"
    writer = write_activities_csv if fmt == "csv" else write_activities_jsonl
    with err_console.status("simulating…"):
        rows = writer(sim, activities_path)
        truth = write_truth_csv(sim, out_dir / "truth.csv")
    console.print(f"{activities_path}: {rows:,} activities · {out_dir / 'truth.csv'}: {truth:,} members")
    console.print(f"import with: qunyun import {fmt} {activities_path}")
