"""The CLI through its real entry point (subprocess) and Typer's runner, on both databases."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers import row, write_csv
from qunyun.cli.main import app

runner = CliRunner()


def qy(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `qunyun` exactly as an operator would: the installed console script."""
    exe = Path(sys.executable).parent / "qunyun"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("QUNYUN_")} | (env or {})
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_import_refresh_segments_members_member(db_url: str, tmp_path: Path) -> None:
    rows = [
        row("2026-05-01T08:00:00+08:00", "u1", "join", phone="13812345678"),
        row("2026-05-01T09:00:00+08:00", "u1", "message", "想学摄影"),
        row("2026-06-20T09:00:00+08:00", "u2", "join"),
        row("2026-06-21T09:00:00+08:00", "u2", "message", "hello"),
        row("bad", "u3", "message"),
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    env = {"QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "k.key")}
    done = qy("import", "csv", str(path), "--db", db_url, "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows_read"], report["inserted"], report["rejected"]) == (5, 4, 1)
    assert qy("refresh", "--as-of", "2026-07-01", "--db", db_url, cwd=tmp_path, env=env).returncode == 0
    seg = json.loads(qy("segments", "--json", "--db", db_url, cwd=tmp_path, env=env).stdout)
    assert seg["segments"] == {"new": 1, "active": 0, "silent": 1, "churned": 0}
    assert seg["total"] == 2
    listed = json.loads(
        qy("members", "--segment", "silent", "--json", "--db", db_url, cwd=tmp_path, env=env).stdout
    )
    assert [m["display_name"] for m in listed["members"]] == ["nick-u1"]
    member = json.loads(qy("member", "wechat:u1", "--json", "--db", db_url, cwd=tmp_path, env=env).stdout)
    assert member["contacts"] == [{"kind": "phone", "value": "138****5678"}]
    assert member["communities"][0]["segment"] == "silent"
    assert member["last_activity"]["text"] == "想学摄影"


def test_errors_are_one_clear_line_with_a_code(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    missing = qy("import", "csv", str(tmp_path / "nope.csv"), "--db", db, cwd=tmp_path)
    assert missing.returncode == 1
    assert "[import.unreadable]" in missing.stderr
    assert "nope.csv" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = write_csv(tmp_path / "b.csv", [row("bad", "u1", "message")])
    strict = qy("import", "csv", str(bad), "--strict", "--db", db, cwd=tmp_path)
    assert strict.returncode == 1
    assert "line 2, field occurred_at" in strict.stderr
    assert qy("member", "999", "--db", db, cwd=tmp_path).returncode == 1
    usage = qy("members", "--segment", "sleepy", "--db", db, cwd=tmp_path)
    assert usage.returncode == 2


def test_link_unlink_through_the_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    path = write_csv(
        tmp_path / "a.csv",
        [
            row("2026-05-01T08:00:00+08:00", "a", "join"),
            row("2026-05-01T08:00:00+08:00", "b", "join", platform="telegram"),
        ],
    )
    invoke("import", "csv", str(path), "--db", db)
    merged = invoke("members", "link", "wechat:a", "telegram:b", "--db", db, "--json")
    assert len(merged["identities_moved"]) == 1
    profile = invoke("member", "telegram:b", "--db", db, "--json")
    assert {i["external_id"] for i in profile["identities"]} == {"a", "b"}
    undone = invoke("members", "unlink", str(merged["merged_id"]), "--db", db, "--json")
    assert undone["restored_member_id"] == merged["merged_id"]
    assert invoke("member", "telegram:b", "--db", db, "--json")["member_id"] == merged["merged_id"]


def test_init_writes_config_and_key(tmp_path: Path) -> None:
    done = qy("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "qunyun.toml").is_file()
    key = tmp_path / ".qunyun" / "secret.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "qunyun.db").is_file()
    assert key.read_text().strip() not in (tmp_path / "qunyun.db").read_bytes().decode("latin-1")


@pytest.mark.slow
def test_demo_builds_all_four_segments(db_url: str, tmp_path: Path) -> None:
    done = qy(
        "demo",
        "--members",
        "300",
        "--days",
        "120",
        "--seed",
        "5",
        "--db",
        db_url,
        "--no-serve",
        cwd=tmp_path,
        env={"QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "k.key")},
    )
    assert done.returncode == 0, done.stderr
    assert "Silent members worth waking" in done.stdout
    written = sorted(p.name for p in (tmp_path / ".qunyun").glob("weekly-report-*"))
    assert [name.rsplit(".", 1)[1] for name in written] == ["html", "pdf"]  # the weekly report, zh-CN
    assert str((tmp_path / ".qunyun" / written[1]).resolve()) in done.stdout.replace("\n", "")
    seg = json.loads(qy("segments", "--json", "--db", db_url, cwd=tmp_path).stdout)
    assert seg["total"] == 300
    assert all(seg["segments"][s] > 0 for s in ("new", "active", "silent", "churned"))
    again = qy("demo", "--members", "300", "--db", db_url, "--no-serve", cwd=tmp_path)
    assert again.returncode == 1
    assert "demo.not_empty" in again.stderr


def test_simulate_writes_importable_files_and_truth(tmp_path: Path) -> None:
    out = invoke("simulate", str(tmp_path / "sim"), "--members", "120", "--days", "40", "--format", "jsonl")
    assert "activities.jsonl" in out
    truth = (tmp_path / "sim" / "truth.csv").read_text(encoding="utf-8").splitlines()
    assert len(truth) == 121  # header + one row per member
    db = f"sqlite:///{tmp_path / 'q.db'}"
    report = invoke("import", "jsonl", str(tmp_path / "sim" / "activities.jsonl"), "--db", db, "--json")
    assert report["rejected"] == 0
    assert report["inserted"] == report["rows_read"] > 120


def test_refresh_replay_builds_history(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    path = write_csv(
        tmp_path / "a.csv",
        [
            row("2026-05-01T08:00:00+08:00", "u1", "join"),
            row("2026-05-02T08:00:00+08:00", "u1", "message", "在吗"),
        ],
    )
    invoke("import", "csv", str(path), "--db", db)
    done = invoke(
        "refresh", "--from", "2026-05-03", "--as-of", "2026-07-01", "--every", "7d", "--db", db, "--json"
    )
    assert done["runs"] == 10  # 05-04 00:00 local + 8 weekly steps, then the as-of itself
    member = invoke("member", "wechat:u1", "--db", db, "--json")
    # new on joining, then silent once 30 (+3 grace) days passed after the only message
    assert member["communities"][0]["segment"] == "silent"
    backwards = runner.invoke(app, ["refresh", "--as-of", "2026-06-01", "--db", db])
    assert backwards.exit_code != 0
    assert getattr(backwards.exception, "code", None) == "refresh.backwards"


def test_analytics_sync_rebuild_export(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    path = write_csv(
        tmp_path / "a.csv", [row(f"2026-05-01T08:0{i}:00+08:00", "u1", "message", f"m{i}") for i in range(5)]
    )
    invoke("import", "csv", str(path), "--db", db)
    first = invoke("analytics", "sync", "--db", db, "--json")
    assert (first["copied"], first["watermark"]) == (5, 5)
    assert invoke("analytics", "sync", "--db", db, "--json")["copied"] == 0
    assert invoke("analytics", "rebuild", "--db", db, "--json")["copied"] == 5
    exported = invoke("analytics", "export-parquet", str(tmp_path / "pq"), "--db", db, "--json")
    assert exported["tables"]["activities"] == 5
    assert (tmp_path / "pq" / "activities" / "part-0.parquet").is_file()


def test_metrics_command_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    path = write_csv(
        tmp_path / "a.csv",
        [
            row("2026-06-01T08:00:00+08:00", "u1", "join"),
            row("2026-06-02T09:00:00+08:00", "u1", "message", "早上好"),
            row("2026-06-02T09:05:00+08:00", "u2", "message", "收到"),
        ],
    )
    invoke("import", "csv", str(path), "--db", db)
    out = invoke(
        "metrics", "--from", "2026-06-01", "--to", "2026-06-07", "--grain", "week", "--db", db, "--json"
    )
    (week,) = out["periods"]
    assert week["period"] == "2026-06-01"
    assert (week["members"], week["speakers"], week["speakers_incl_ack"], week["ack_messages"]) == (
        2,
        1,
        2,
        1,
    )
    assert week["speaking_rate"] == 0.5
    interaction = next(t for t in out["targets"] if t["kpi"] == "interaction_rate")
    assert (interaction["value"], interaction["target"], interaction["met"]) == (0.5, 0.3, True)
    missing = runner.invoke(app, ["metrics", "--community", "nope", "--db", db])
    assert getattr(missing.exception, "code", None) == "community.not_found"


def test_retention_command_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    path = write_csv(
        tmp_path / "a.csv",
        [
            row("2026-06-01T08:00:00+08:00", "u1", "join"),
            row("2026-06-02T09:00:00+08:00", "u1", "message", "早"),
            row("2026-06-01T08:00:00+08:00", "u2", "join"),
        ],
    )
    invoke("import", "csv", str(path), "--db", db)
    out = invoke("retention", "--from", "2026-06-01", "--to", "2026-06-30", "--db", db, "--json")
    day1 = next(r for r in out["n_day"] if r["n"] == 1)
    assert (day1["eligible"], day1["retained"], day1["retained_or_later"]) == (2, 1, 1)
    assert out["cohorts"][0] == {
        "cohort": "2026-06-01",
        "size": 2,
        "k": 0,
        "retained": 1,
        "retained_or_later": 1,
    }


def test_hours_and_content_commands_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    path = write_csv(
        tmp_path / "a.csv",
        [
            row("2026-06-01T08:10:00+08:00", "u1", "message", "分享一个技巧", reference_id="p1"),
            row("2026-06-01T09:00:00+08:00", "u2", "reply", "学到了", reference_id="r1", reply_to="p1"),
        ],
    )
    invoke("import", "csv", str(path), "--db", db)
    hours = invoke("hours", "--from", "2026-06-01", "--to", "2026-06-07", "--db", db, "--json")
    assert [(c["weekday"], c["hour"]) for c in hours["interactions"]] == [(0, 8), (0, 9)]
    content = invoke("content", "--from", "2026-06-01", "--to", "2026-06-07", "--db", db, "--json")
    assert content["top_posts"][0]["replies"] == 1
    assert content["by_type"] == [
        {
            "content_type": "text",
            "posts": 1,
            "replies_per_post": 1.0,
            "reactions_per_post": 0.0,
            "responses_per_post": 1.0,
        }
    ]


def test_analytics_commands_refuse_bad_dates(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    for command in ("metrics", "retention", "hours", "content"):
        bad = runner.invoke(app, [command, "--from", "last tuesday", "--db", db])
        assert bad.exit_code == 2, command
        assert "not a date" in bad.output
    backwards = runner.invoke(app, ["metrics", "--from", "2026-06-10", "--to", "2026-06-01", "--db", db])
    assert backwards.exit_code == 2


def test_content_reports_responses_per_topic_after_the_text_pass(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    rows = [
        row("2026-06-01T09:00:00+08:00", "a", "message", "今天分享一个摄影构图技巧", reference_id="p1"),
        row("2026-06-01T10:00:00+08:00", "b", "reaction", "👍", reference_id="r1", reply_to="p1"),
        row("2026-06-01T11:00:00+08:00", "c", "reply", "光圈怎么调？", reference_id="r2", reply_to="p1"),
        row("2026-06-02T09:00:00+08:00", "b", "message", "周末有人一起爬山吗", reference_id="p2"),
    ]
    invoke("import", "csv", str(write_csv(tmp_path / "c.csv", rows)), "--db", db)
    invoke("refresh", "--as-of", "2026-06-03", "--db", db)  # the text pass tags the posts' topics
    report = invoke("content", "--from", "2026-06-01", "--to", "2026-06-07", "--db", db, "--json")
    photo = next(t for t in report["by_topic"] if t["topic"] == "摄影")
    assert (photo["posts"], photo["replies_per_post"], photo["reactions_per_post"]) == (1, 1.0, 1.0)
    assert "摄影" in invoke("content", "--from", "2026-06-01", "--to", "2026-06-07", "--db", db)


def test_refresh_stores_behavioural_tags_once_a_day_and_members_filter_on_them(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    rows = [row(f"2026-06-0{d}T10:00:00+08:00", "sharer", "share", "好文分享") for d in (1, 2, 3)]
    rows += [row("2026-06-01T10:00:00+08:00", "quiet", "message", "大家好")]
    invoke("import", "csv", str(write_csv(tmp_path / "b.csv", rows)), "--db", db)
    first = invoke("refresh", "--as-of", "2026-06-05", "--db", db, "--json")
    assert first["behaviour"] == {"members": 1, "added": 1, "removed": 0}
    later = invoke("refresh", "--as-of", "2026-06-06T20:00", "--db", db, "--json")  # 20 h after midnight
    assert later["behaviour"] is None  # counted less than 24 hours ago
    next_day = invoke("refresh", "--as-of", "2026-06-07T01:00", "--db", db, "--json")
    assert next_day["behaviour"] == {"members": 1, "added": 0, "removed": 0}
    listed = invoke("members", "--tag", "热衷分享", "--db", db, "--json")
    assert [m["display_name"] for m in listed["members"]] == ["nick-sharer"]
    assert invoke("members", "--tag", "夜猫子", "--db", db, "--json")["members"] == []
