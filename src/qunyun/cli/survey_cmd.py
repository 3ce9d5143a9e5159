"""`qunyun survey …`: create, list, show, send, answer, close, results (docs/surveys.md)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from qunyun.cli.analytics_query import community_id_of
from qunyun.cli.context import AppContext
from qunyun.cli.options import ConfigOption, DbOption, JsonOption
from qunyun.cli.output import console, print_json, when
from qunyun.cli.survey_view import print_results, print_survey
from qunyun.cli.timeparse import parse_instant
from qunyun.feedback import (
    BUILTINS,
    AnswerError,
    NewResponse,
    NewSurvey,
    Survey,
    SurveyDefinition,
    Window,
    builtin_definition,
    close_survey,
    create_survey,
    get_survey,
    list_surveys,
    load_definition,
    record_delivery,
    record_response,
    survey_counts,
    survey_results,
)
from qunyun.lifecycle.profile import find_member

survey_app = typer.Typer(help="Surveys and polls: NPS, satisfaction, exit reasons — docs/surveys.md.")

SlugArgument = Annotated[str, typer.Argument(help="The survey's slug.")]
CommunityOption = Annotated[str | None, typer.Option("--community", help="Community external id.")]


def _definition(file: Path | None, builtin: str | None) -> SurveyDefinition:
    if (file is None) == (builtin is None):
        raise typer.BadParameter("give exactly one of --file and --builtin")
    if builtin is not None:
        if builtin not in BUILTINS:
            raise typer.BadParameter(f"built-ins: {', '.join(BUILTINS)}", param_hint="--builtin")
        return builtin_definition(builtin)
    assert file is not None
    return load_definition(file)


def status(survey: Survey, ctx: AppContext) -> str:
    now = ctx.clock.now()
    return "open" if survey.is_open(now) else "scheduled" if now < survey.opens_at else "closed"


@survey_app.command("create")
def create_command(
    file: Annotated[Path | None, typer.Option("--file", help="Definition file (.toml or .json).")] = None,
    builtin: Annotated[str | None, typer.Option("--builtin", help="nps or exit.")] = None,
    slug: Annotated[str | None, typer.Option("--slug", help="Slug (default: the file's `slug`).")] = None,
    community: CommunityOption = None,
    opens: Annotated[str | None, typer.Option("--opens", help="Local date/time it opens (now).")] = None,
    closes: Annotated[str | None, typer.Option("--closes", help="Local date (end of day) or time.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a survey from a definition file or a built-in; the same command again changes nothing."""
    definition = _definition(file, builtin)
    ctx = AppContext.create(db, config)
    zone = ctx.settings.zone
    request = NewSurvey(
        definition=definition,
        slug=slug,
        community_id=community_id_of(ctx, community),
        opens_at=parse_instant(opens, zone, end_of_day=False) if opens else None,
        closes_at=parse_instant(closes, zone) if closes else None,
    )
    with ctx.engine.begin() as conn:
        survey, created = create_survey(conn, ctx.workspace_id, ctx.clock, request)
    if as_json:
        print_json({"survey": survey.as_dict(), "created": created})
        return
    verb = "created" if created else "already exists (unchanged)"
    console.print(f"survey {survey.slug!r} ({survey.kind.value}) {verb}")


@survey_app.command("list")
def list_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every survey with its status, deliveries and responses."""
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        found = list_surveys(conn, ctx.workspace_id)
        counts = survey_counts(conn, ctx.workspace_id)
    rows: list[dict[str, Any]] = [
        {
            "slug": s.slug,
            "kind": s.kind.value,
            "title": s.definition.title.text(ctx.settings.general.locale),
            "status": status(s, ctx),
            "opens_at": s.opens_at,
            "closes_at": s.closes_at,
            "community_id": s.community_id,
            "responses": counts.get(s.id, (0, 0))[0],
            "delivered": counts.get(s.id, (0, 0))[1],
        }
        for s in found
    ]
    if as_json:
        print_json({"surveys": rows})
        return
    table = Table(title="Surveys 问卷")
    for column in ("slug", "kind", "title", "status", "opens", "closes", "delivered", "responses"):
        table.add_column(column)
    for r in rows:
        opens, closes = when(r["opens_at"], ctx.settings.zone), when(r["closes_at"], ctx.settings.zone)
        cells = (r["slug"], r["kind"], r["title"], r["status"], opens, closes)
        table.add_row(*cells, str(r["delivered"]), str(r["responses"]))
    console.print(table if rows else "no surveys yet: `qunyun survey create --builtin nps`")


@survey_app.command("show")
def show_command(
    slug: SlugArgument,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One survey's questions and options, labels in the configured locale."""
    ctx = AppContext.create(db, config)
    with ctx.engine.connect() as conn:
        survey = get_survey(conn, ctx.workspace_id, slug)
    if as_json:
        print_json(survey.as_dict() | {"status": status(survey, ctx)})
        return
    print_survey(survey, status(survey, ctx), ctx.settings.general.locale, ctx.settings.zone)


@survey_app.command("send")
def send_command(
    slug: SlugArgument,
    member: Annotated[list[str], typer.Option("--member", help="Member id or platform:external_id; repeat.")],
    key: Annotated[
        str | None, typer.Option("--key", help="Key prefix (default survey:SLUG); member id appended.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that the survey was sent to members (the message itself goes out through a journey)."""
    ctx = AppContext.create(db, config)
    prefix = key or f"survey:{slug}"
    recorded = []
    with ctx.engine.begin() as conn:
        for ref in member:
            member_id = find_member(conn, ctx.workspace_id, ref)
            delivery_key = f"{prefix}:{member_id}"
            added = record_delivery(conn, ctx.workspace_id, ctx.clock, slug, member_id, delivery_key)
            recorded.append({"member_id": member_id, "recorded": added})
    if as_json:
        print_json({"survey": slug, "deliveries": recorded})
        return
    new = sum(1 for r in recorded if r["recorded"])
    console.print(f"survey {slug!r}: {new} deliveries recorded, {len(recorded) - new} already recorded")


def _answers(value: str, slug: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise AnswerError(slug, [f"--answers is not valid JSON: {exc}"]) from exc


@survey_app.command("answer")
def answer_command(
    slug: SlugArgument,
    member: Annotated[str, typer.Option("--member", help="Member id or platform:external_id.")],
    answers: Annotated[str, typer.Option("--answers", help="JSON object, e.g. '{\"score\": 9}'.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same key is applied once.")],
    community: CommunityOption = None,
    at: Annotated[str | None, typer.Option("--at", help="When it was answered (default now).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record one member's answers (e.g. collected elsewhere); also recorded as the member's activity."""
    ctx = AppContext.create(db, config)
    given = _answers(answers, slug)
    community_id = community_id_of(ctx, community)
    when_answered = parse_instant(at, ctx.settings.zone, end_of_day=False) if at else None
    with ctx.engine.begin() as conn:
        member_id = find_member(conn, ctx.workspace_id, member)
        request = NewResponse(slug, member_id, given, key, community_id, when_answered)
        response = record_response(conn, ctx.workspace_id, ctx.clock, request)
    if as_json:
        print_json({"survey": slug, "response": response.as_dict()})
        return
    verb = "already recorded (unchanged)" if response.replayed else "recorded"
    console.print(f"survey {slug!r}: response of member {response.member_id} {verb}")


@survey_app.command("close")
def close_command(
    slug: SlugArgument,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop taking answers now (closing a closed survey changes nothing)."""
    ctx = AppContext.create(db, config)
    with ctx.engine.begin() as conn:
        survey = close_survey(conn, ctx.workspace_id, ctx.clock, slug)
    if as_json:
        print_json(survey.as_dict() | {"status": status(survey, ctx)})
        return
    console.print(f"survey {slug!r} closed at {when(survey.closes_at, ctx.settings.zone)}")


@survey_app.command("results")
def results_command(
    slug: SlugArgument,
    since: Annotated[str | None, typer.Option("--from", help="First local day (default: all).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last local day (default: all).")] = None,
    community: CommunityOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """NPS, satisfaction, choice counts and free-text answers of one survey."""
    ctx = AppContext.create(db, config)
    zone = ctx.settings.zone
    window = Window(
        start=parse_instant(since, zone, end_of_day=False) if since else None,
        end=parse_instant(until, zone) if until else None,
        community_id=community_id_of(ctx, community),
    )
    with ctx.engine.connect() as conn:
        results = survey_results(conn, ctx.workspace_id, slug, window)
    if as_json:
        print_json(results.as_dict() | {"from": since, "to": until, "community": community})
        return
    print_results(results, ctx.settings.general.locale, zone)
