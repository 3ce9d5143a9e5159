"""Reading a playbook from YAML text, with errors that name the file, line and field.

PyYAML's node tree keeps each value's position; we keep a map from the path
of every mapping key and list item to its line, then translate pydantic's
error locations through it. A YAML syntax error already carries a mark.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from qunyun.errors import QunyunError
from qunyun.journeys.definition import Playbook, Step
from qunyun.journeys.templates import template_errors

Path = tuple[str | int, ...]

# Field names whose YAML spelling differs from the Python attribute (reserved words).
_ALIASES = {"if_": "if", "else_": "else", "not_": "not", "for_": "for"}


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str
    message: str

    def render(self, origin: str) -> str:
        where = f"{origin}:{self.line}" if self.line else origin
        line = f" (line {self.line})" if self.line else ""
        return f"{where}: {self.field or '(top)'}: {self.message}{line}"


class PlaybookError(QunyunError):
    """A playbook that cannot be used; `problems` names each place (code playbook.invalid)."""

    def __init__(self, origin: str, problems: list[Problem]) -> None:
        self.origin = origin
        self.problems = problems
        super().__init__("\n".join(p.render(origin) for p in problems), code="playbook.invalid")


def parse_playbook(text: str, origin: str = "<playbook>") -> Playbook:
    """The validated playbook, or PlaybookError naming file, line and field of every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PlaybookError(origin, [Problem(line, "", f"not valid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise PlaybookError(origin, [Problem(None, "", f"not valid YAML: {exc}")]) from exc
    if node is None:
        raise PlaybookError(origin, [Problem(1, "", "the file is empty")])
    lines: dict[Path, int] = {}
    _index(node, (), lines)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise PlaybookError(origin, [Problem(node.start_mark.line + 1, "", "a playbook is a mapping")])
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError(origin, list(_problems(exc, lines))) from exc
    problems = list(_template_problems(playbook.steps, ("steps",), lines))
    if problems:
        raise PlaybookError(origin, problems)
    return playbook


def _template_problems(steps: list[Step], path: Path, lines: dict[Path, int]) -> Iterator[Problem]:
    for i, step in enumerate(steps):
        here = (*path, i)
        for field, message in template_errors(step):
            where = (*here, *field.split("."))
            yield Problem(_line_of(where, lines), _dotted((*here, field)), message)
        yield from _template_problems(step.then or [], (*here, "then"), lines)
        yield from _template_problems(step.else_ or [], (*here, "else"), lines)


def _index(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            _index(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines)


def _problems(exc: ValidationError, lines: dict[Path, int]) -> Iterator[Problem]:
    # A value that fits none of a union's members gets one error per member: say them as one.
    merged: dict[Path, list[str]] = {}
    for error in exc.errors():
        messages = merged.setdefault(_yaml_path(error["loc"]), [])
        if error["msg"] not in messages:
            messages.append(error["msg"])
    for path, messages in merged.items():
        yield Problem(_line_of(path, lines), _dotted(path), "; or ".join(messages))


def _yaml_path(loc: tuple[Any, ...]) -> Path:
    # pydantic adds the name of a union's or literal's member to the location; YAML never has those.
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            out.append(part)
        elif isinstance(part, str) and not part.startswith(("function-", "literal[", "str", "dict[")):
            out.append(_ALIASES.get(part, part))
    return tuple(out)


def _line_of(path: Path, lines: dict[Path, int]) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
