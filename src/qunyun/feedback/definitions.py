"""Survey definitions from files (TOML or JSON) and the built-ins shipped in the package.

Every problem becomes one SurveyDefinitionError naming the file and the field,
with the question's id beside its position so the operator finds it:

    exit.toml: questions[1] (id 'reason').options[2].label.en: Field required

YAML is not read: it would need a new dependency for what TOML (the format of
`qunyun.toml`) already says as clearly.
"""

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qunyun.feedback.errors import SurveyDefinitionError
from qunyun.feedback.questions import SurveyDefinition

BUILTINS = ("nps", "exit", "wake-up-poll", "proposal")
MAX_FILE_BYTES = 1_000_000  # a definition is a few kB; anything bigger is a mistake or hostile
_SHOWN_PROBLEMS = 5


def load_definition(path: Path) -> SurveyDefinition:
    """Read and validate a definition file (`.toml` or `.json`)."""
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SurveyDefinitionError(f"{path}: use a .toml or .json definition file (docs/surveys.md)")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SurveyDefinitionError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SurveyDefinitionError(f"{path}: cannot read: {exc}") from exc
    return parse_definition(text, suffix.lstrip("."), str(path))


def parse_definition(text: str, fmt: str, source: str) -> SurveyDefinition:
    """Validate a definition given as TOML or JSON text; `source` names it in errors."""
    try:
        raw = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SurveyDefinitionError(f"{source}: not valid {fmt.upper()}: {exc}") from exc
    if not isinstance(raw, dict):
        raise SurveyDefinitionError(f"{source}: the definition must be a table/object at the top level")
    try:
        return SurveyDefinition.model_validate(raw)
    except ValidationError as exc:
        raise SurveyDefinitionError(f"{source}: {describe(exc, raw)}") from exc


def builtin_definition(name: str) -> SurveyDefinition:
    """A definition shipped with Qunyun: `nps` or `exit`."""
    if name not in BUILTINS:
        raise SurveyDefinitionError(f"no built-in survey {name!r} (built-ins: {', '.join(BUILTINS)})")
    text = resources.files("qunyun.feedback.data").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_definition(text, "toml", f"built-in {name}.toml")


def describe(error: ValidationError, raw: dict[str, Any]) -> str:
    """The first few problems, each as `field.path: message`."""
    problems = [
        f"{_path(tuple(e['loc']), raw)}: {_message(e['msg'])}" for e in error.errors(include_url=False)
    ]
    more = len(problems) - _SHOWN_PROBLEMS
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    return shown + (f"; and {more} more" if more > 0 else "")


def _message(msg: str) -> str:
    # Our own checks raise ValueError, which pydantic prefixes; the prefix adds nothing for a reader.
    return msg.removeprefix("Value error, ")


def _path(loc: tuple[Any, ...], raw: Any) -> str:
    if not loc:
        return "(top level)"
    parts: list[str] = []
    node = raw
    for step in loc:
        if isinstance(step, int):
            parts.append(f"[{step}]")
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                parts.append(f" (id {node['id']!r})")
            continue
        parts.append(("." if parts else "") + str(step))
        node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts)
