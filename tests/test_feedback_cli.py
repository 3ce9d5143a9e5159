"""`qunyun survey …` and survey scores in `qunyun metrics`, end to end on both databases."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers import row, write_csv
from qunyun.cli.main import app
from test_cli import qy

runner = CliRunner()


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout) if "--json" in args else result.stdout


def failure(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0
    return result.exception


@pytest.fixture
def community(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: None) -> str:
    """Five members of g1 (u1…u5) in a migrated database; the working directory is tmp_path."""
    monkeypatch.chdir(tmp_path)
    rows = [row("2026-06-01T08:00:00+08:00", f"u{i}", "join") for i in range(1, 6)]
    rows.append(row("2026-06-02T09:00:00+08:00", "u1", "message", "早上好"))
    invoke("import", "csv", str(write_csv(tmp_path / "a.csv", rows)), "--db", db_url)
    return db_url


def test_survey_lifecycle_through_the_cli(community: str) -> None:
    db = community
    created = invoke("survey", "create", "--builtin", "nps", "--opens", "2026-01-01", "--db", db, "--json")
    assert (created["created"], created["survey"]["slug"], created["survey"]["kind"]) == (True, "nps", "nps")
    again = invoke("survey", "create", "--builtin", "nps", "--opens", "2026-01-01", "--db", db, "--json")
    assert again["created"] is False
    sent = invoke(
        "survey", "send", "nps", "--member", "wechat:u1", "--member", "wechat:u2", "--db", db, "--json"
    )
    assert [d["recorded"] for d in sent["deliveries"]] == [True, True]
    resent = invoke("survey", "send", "nps", "--member", "wechat:u1", "--db", db, "--json")
    assert [d["recorded"] for d in resent["deliveries"]] == [False]
    for i, score in enumerate([10, 9, 7, 4, 2], start=1):
        answers = json.dumps({"score": score, "why": "群里干货多" if score >= 9 else ""}, ensure_ascii=False)
        args = (
            "survey",
            "answer",
            "nps",
            "--member",
            f"wechat:u{i}",
            "--answers",
            answers,
            "--key",
            f"imp:{i}",
        )
        first = invoke(*args, "--at", "2026-06-02T10:00", "--db", db, "--json")
        replay = invoke(*args, "--at", "2026-06-02T10:00", "--db", db, "--json")
        assert (first["response"]["replayed"], replay["response"]["replayed"]) == (False, True)
    results = invoke("survey", "results", "nps", "--db", db, "--json")
    nps = results["questions"][0]["nps"]
    # 2 promoters, 1 passive, 2 detractors of 5: 40% − 40% = 0.
    assert (results["responses"], nps["promoters"], nps["detractors"], nps["nps"]) == (5, 2, 2, 0.0)
    assert (results["delivered"], results["response_rate"]) == (2, 1.0)
    assert [t["text"] for t in results["questions"][1]["texts"]] == ["群里干货多", "群里干货多"]
    later = invoke("survey", "results", "nps", "--from", "2026-07-01", "--db", db, "--json")
    assert (later["responses"], later["questions"][0]["nps"]) == (0, None)
    listed = invoke("survey", "list", "--db", db, "--json")["surveys"]
    assert [(s["slug"], s["status"], s["responses"], s["delivered"]) for s in listed] == [
        ("nps", "open", 5, 2)
    ]
    shown = invoke("survey", "show", "nps", "--db", db, "--json")
    assert shown["definition"]["questions"][0]["label"]["en"].startswith("How likely")
    assert "promoters 2" in invoke("survey", "results", "nps", "--db", db)
    assert "您有多大可能" in invoke("survey", "show", "nps", "--db", db)


def test_cli_refusals_carry_stable_codes(community: str, tmp_path: Path) -> None:
    db = community
    invoke("survey", "create", "--builtin", "exit", "--opens", "2026-01-01", "--db", db)
    answer = ("survey", "answer", "exit", "--member", "wechat:u1", "--db", db)
    assert failure(*answer, "--answers", '{"reason": "bored"}', "--key", "a").code == "survey.bad_answer"
    assert failure(*answer, "--answers", "{oops", "--key", "a").code == "survey.bad_answer"
    invoke(*answer, "--answers", '{"reason": "too_few_benefits"}', "--key", "a")
    conflict = failure(*answer, "--answers", '{"reason": "boring_content"}', "--key", "a")
    assert conflict.code == "survey.key_conflict"
    twice = failure(*answer, "--answers", '{"reason": "boring_content"}', "--key", "b")
    assert twice.code == "survey.already_answered"
    assert failure("survey", "show", "nope", "--db", db).code == "survey.not_found"
    other = ("survey", "answer", "exit", "--member", "wechat:nobody", "--answers", "{}", "--key", "z")
    assert failure(*other, "--db", db).code == "member.not_found"
    invoke("survey", "close", "exit", "--db", db)
    late = ("survey", "answer", "exit", "--member", "wechat:u2", "--answers", '{"reason": "other"}')
    assert failure(*late, "--key", "c", "--db", db).code == "survey.bad_answer"  # checked before the clock
    closed = (
        "survey",
        "answer",
        "exit",
        "--member",
        "wechat:u2",
        "--answers",
        '{"reason": "too_few_benefits"}',
    )
    assert failure(*closed, "--key", "c", "--db", db).code == "survey.closed"
    usage = runner.invoke(app, ["survey", "create", "--db", db])
    assert usage.exit_code == 2


def test_metrics_report_nps_and_satisfaction(community: str, tmp_path: Path) -> None:
    db = community
    (tmp_path / "sat.json").write_text(
        json.dumps(
            {
                "slug": "service",
                "title": {"zh-CN": "服务满意度", "en": "Service satisfaction"},
                "questions": [
                    {
                        "id": "overall",
                        "kind": "satisfaction",
                        "label": {"zh-CN": "满意吗？", "en": "Satisfied?"},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    invoke("survey", "create", "--file", str(tmp_path / "sat.json"), "--opens", "2026-01-01", "--db", db)
    invoke("survey", "create", "--builtin", "nps", "--opens", "2026-01-01", "--db", db)
    for i, (score, sat) in enumerate([(10, 5), (9, 4), (3, 2)], start=1):
        common = ("--member", f"wechat:u{i}", "--at", "2026-06-03T12:00", "--db", db)
        invoke(
            "survey", "answer", "nps", "--answers", json.dumps({"score": score}), "--key", f"n{i}", *common
        )
        invoke(
            "survey",
            "answer",
            "service",
            "--answers",
            json.dumps({"overall": sat}),
            "--key",
            f"s{i}",
            *common,
        )
    out = invoke(
        "metrics", "--from", "2026-06-01", "--to", "2026-06-14", "--grain", "week", "--db", db, "--json"
    )
    first, second = out["periods"]
    assert (first["nps"], first["nps_responses"]) == (pytest.approx(100 / 3), 3)
    assert (first["satisfaction"], first["csat"]) == (pytest.approx(11 / 3), pytest.approx(2 / 3))
    assert (second["nps"], second["satisfaction"], second["csat"]) == (None, None, None)
    target = next(t for t in out["targets"] if t["kpi"] == "nps")
    assert (target["value"], target["met"]) == (None, None)  # the latest period has no answers
    one_week = invoke("metrics", "--from", "2026-06-01", "--to", "2026-06-07", "--db", db, "--json")
    target = next(t for t in one_week["targets"] if t["kpi"] == "nps")
    assert (target["value"], target["target"], target["met"]) == (pytest.approx(100 / 3), 40.0, False)
    assert "NPS" in invoke("metrics", "--from", "2026-06-01", "--to", "2026-06-07", "--db", db)


def test_the_installed_command(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": {"zh-CN": "标题"}, "questions": []}', encoding="utf-8")
    done = qy("survey", "create", "--file", str(bad), "--slug", "x", "--db", db_url, cwd=tmp_path)
    assert done.returncode == 1
    assert "[survey.bad_definition]" in done.stderr
    assert "bad.json: title.en: Field required" in done.stderr
    assert "Traceback" not in done.stderr
    created = qy("survey", "create", "--builtin", "exit", "--db", db_url, "--json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert (
        json.loads(created.stdout)["survey"]["definition"]["questions"][0]["options"][0]["id"]
        == "boring_content"
    )
    results = qy("survey", "results", "exit", "--db", db_url, "--json", cwd=tmp_path)
    assert json.loads(results.stdout)["questions"][0]["choices"]["shares"]["other"] is None
