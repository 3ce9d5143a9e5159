"""Message templates: Jinja2 in a sandbox, one text per locale.

Templates come from operators' YAML, so they run in Jinja's SandboxedEnvironment
(no attribute access to Python internals) and see only plain data: dicts of
strings and numbers built by the engine. A missing variable renders empty;
`check` catches syntax errors when a playbook is validated, so a broken
template never reaches a running enrolment.
"""

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from qunyun.errors import QunyunError
from qunyun.journeys.definition import Step, Text, localised

_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
MAX_LENGTH = 4000  # rendered characters; longer output is cut (no platform takes more in one message)


@cache
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


class TemplateRenderError(QunyunError):
    """A template that compiled but failed on this member's data (code playbook.template)."""


def render(text: Text, locale: str, variables: Mapping[str, Any]) -> str:
    try:
        out = _compiled(localised(text, locale)).render(**variables).strip()
    except TemplateError as exc:  # undefined attribute of a missing object, sandbox refusal …
        raise TemplateRenderError(f"template failed: {exc}", code="playbook.template") from exc
    return out[:MAX_LENGTH]


def _texts(text: Text) -> Iterator[tuple[str, str]]:
    if isinstance(text, str):
        yield "", text
    else:
        for locale, value in text.items():
            yield f".{locale}", value


TEMPLATE_FIELDS = ("template", "subject", "title", "body")


def template_errors(step: Step) -> Iterator[tuple[str, str]]:
    """(field path inside the step, message) for each template that does not compile."""
    for action in ("send_message", "post_to_community", "send_survey", "notify_operator"):
        spec = getattr(step, action)
        if spec is None:
            continue
        for field in TEMPLATE_FIELDS:
            value = getattr(spec, field, None)
            if value is None:
                continue
            for suffix, source in _texts(value):
                try:
                    _compiled(source)
                except TemplateSyntaxError as exc:
                    yield (
                        f"{action}.{field}{suffix}",
                        f"template error: {exc.message} (template line {exc.lineno})",
                    )
