"""Playbook files: the schema, errors that name file/line/field, the built-ins, the compiled program."""

import typing
from pathlib import Path

import pytest

from qunyun.domain import SYSTEM_KINDS, ActivityKind
from qunyun.journeys.catalog import builtin_sources
from qunyun.journeys.definition import DERIVED_EVENTS, ActivityEvent
from qunyun.journeys.program import compile_playbook
from qunyun.journeys.source import PlaybookError, parse_playbook

GOOD = """\
name: demo
title: {zh-CN: 演示, en: Demo}
trigger:
  segment_entered: silent
steps:
  - id: hi
    send_message: {template: "你好 {{ member.nickname }}"}
  - if: {did: [message]}
    then:
      - add_tag: 回来了
    else:
      - wait: {days: 1}
      - id: bye
        send_message: {template: 再见}
  - award_points: {amount: 5}
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, "pb.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_a_good_playbook_compiles_branches_to_forward_jumps() -> None:
    program = compile_playbook(parse_playbook(GOOD, "pb.yaml"))
    ops = [(i.op, i.target) for i in program.instructions]
    # 0 hi · 1 if (else→4) · 2 add_tag · 3 jump→6 · 4 wait · 5 bye · 6 award_points
    assert ops == [("send_message", -1), ("if", 4), ("add_tag", -1), ("jump", 6), ("wait", -1),
                   ("send_message", -1), ("award_points", -1)]  # fmt: skip
    assert [i.step_id for i in program.instructions][:2] == ["hi", "s1"]


def test_broken_yaml_names_its_line() -> None:
    text = (
        'name: broken\ntrigger:\n  segment_entered: silent\nsteps:\n  - wait: "three days"\n'
        "  - send_message: {template: 42\n"
    )
    ((line, _, message),) = problems(text)
    assert line == 7
    assert "not valid YAML" in message


def test_schema_errors_name_line_and_field() -> None:
    text = GOOD.replace("{days: 1}", "{dayz: 1}").replace(
        "segment_entered: silent", "segment_entered: sleepy"
    )
    found = {(line, field) for line, field, _ in problems(text)}
    assert (4, "trigger.segment_entered") in found
    assert (12, "steps[1].else[0].wait.dayz") in found


def test_a_step_with_two_actions_or_a_bad_template_is_refused_at_its_line() -> None:
    two = GOOD.replace("  - award_points: {amount: 5}\n", "  - award_points: {amount: 5}\n    add_tag: x\n")
    assert [(line, field) for line, field, _ in problems(two)] == [(15, "steps[2]")]
    bad = GOOD.replace("你好 {{ member.nickname }}", "你好 {{ member.nickname ")
    ((line, field, message),) = problems(bad)
    assert (line, field) == (7, "steps[0].send_message.template")
    assert "template error" in message


def test_a_trigger_needs_exactly_one_kind() -> None:
    text = GOOD.replace("  segment_entered: silent\n", "  segment_entered: silent\n  manual: true\n")
    ((line, field, message),) = problems(text)
    assert (line, field) == (3, "trigger")
    assert "exactly one" in message


def test_activity_events_are_every_member_kind_and_the_derived_events() -> None:
    member_kinds = {k.value for k in ActivityKind if k not in SYSTEM_KINDS}
    assert set(typing.get_args(ActivityEvent)) == member_kinds | set(DERIVED_EVENTS)


def test_the_built_in_playbooks_are_valid_and_cover_the_mission() -> None:
    sources = builtin_sources()
    assert set(sources) == {
        "new-member-7-days", "koc-community-stars", "silent-wake-up", "win-back-trilogy",
        "content-calendar", "checkin-streak-7", "referral-tiers",
    }  # fmt: skip
    for name, text in sources.items():
        playbook = parse_playbook(text, f"{name}.yaml")
        assert playbook.name == name
        assert playbook.describe("en")
        assert playbook.describe("zh-CN")
    wake = parse_playbook(sources["silent-wake-up"], "x")
    assert wake.trigger.segment_entered == "silent"
    assert {s.action for s in wake.steps} >= {"send_message", "issue_coupon"}


def test_validate_cli_exits_non_zero_with_the_location(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qunyun.cli.main import app

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("amount: 5", "amount: -5"), encoding="utf-8")
    result = CliRunner().invoke(app, ["playbooks", "validate", str(bad)])
    assert result.exit_code != 0
    message = str(result.exception)  # main() prints it as `error [playbook.invalid]: …`
    assert f"{bad}:15: steps[2].award_points.amount" in message
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    assert CliRunner().invoke(app, ["playbooks", "validate", str(good)]).exit_code == 0
