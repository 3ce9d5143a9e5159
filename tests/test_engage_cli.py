"""Engagement from the command line (in-process runner), on SQLite and PostgreSQL."""

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from engage_helpers import make_members
from qunyun.cli.main import app
from test_cli import qy

runner = CliRunner()


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    return json.loads(result.stdout) if "--json" in args else result.output


@pytest.mark.usefixtures("engines")
def test_points_coupons_checkin_leaderboard_and_verify(
    db_url: str, engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    alice, bob = make_members(engine, workspace_id, 2)
    db = ("--db", db_url)
    earned = run("points", "earn", str(alice), "50", "--key", "e1", "--json", *db)
    assert (earned["amount"], earned["balance"], earned["replayed"]) == (50, 50, False)
    assert run("points", "earn", str(alice), "50", "--key", "e1", "--json", *db)["replayed"] is True
    assert run("points", "earn", str(alice), "--rule", "checkin", "--key", "e2", "--json", *db)["amount"] == 5
    run("points", "spend", str(bob), "1", "--key", "s0", *db, code=1)
    assert run("points", "spend", str(alice), "30", "--key", "s1", "--json", *db)["balance"] == 25
    assert run("points", "refund", "s1", "--key", "r1", "--amount", "10", "--json", *db)["amount"] == 10
    assert run("points", "balance", str(alice), "--json", *db)["balance"] == 35
    history = run("points", "history", str(alice), "--json", *db)
    assert [h["kind"] for h in history] == ["refund", "spend", "earn", "earn"]
    checked = run("checkin", str(bob), "--json", *db)
    assert (checked["points"], checked["streak"]["current"]) == (5, 1)
    assert run("checkin", str(bob), "--json", *db)["replayed"] is True

    run("coupons", "create", "return-20", "--name", "回归礼", "--amount", "20", "--ends", "2099-12-31", *db)
    coupon = run("coupons", "issue", "return-20", str(bob), "--key", "i1", "--json", *db)
    assert (coupon["value"], coupon["status"]) == (2000, "issued")
    assert (
        run("coupons", "redeem", coupon["code"].lower(), "--key", "u1", "--json", *db)["status"] == "redeemed"
    )
    again = qy(
        "coupons", "redeem", coupon["code"], "--key", "u2", *db, cwd=tmp_path
    )  # the real console script
    assert again.returncode == 1
    assert f"coupon {coupon['code']}: already redeemed" in again.stderr
    stats = run("coupons", "list", "--json", *db)
    assert (stats[0]["issued"], stats[0]["redeemed"]) == (1, 1)
    assert [c["status"] for c in run("coupons", "list", "--member", str(bob), "--json", *db)] == ["redeemed"]

    board = run("leaderboard", "--award", "--json", *db)
    assert [s["member_id"] for s in board["standings"]] == [
        bob
    ]  # bob's check-in is this month's only interaction
    assert board["crowned"] == [bob]
    assert run("leaderboard", "--award", "--json", *db)["crowned"] == []  # once per month
    verified = run("ledger", "verify", "--json", *db)
    assert verified["ok"] is True
    assert verified["totals"]["held_by_members"] == 35 + 5 + 100
