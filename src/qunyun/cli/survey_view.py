"""How `qunyun survey show` and `survey results` print for people (JSON is in survey_cmd.py)."""

from zoneinfo import ZoneInfo

from rich.table import Table

from qunyun.cli.output import console, when
from qunyun.feedback import Question, QuestionKind, QuestionResult, Survey, SurveyResults

_TEXTS_SHOWN = 20


def print_survey(survey: Survey, status: str, locale: str, zone: ZoneInfo) -> None:
    definition = survey.definition
    title = definition.title.text(locale)
    console.print(f"[bold]{title}[/bold]  ({survey.slug}, {survey.kind.value}, {status})")
    console.print(f"opens {when(survey.opens_at, zone)}, closes {when(survey.closes_at, zone)}")
    if definition.intro is not None:
        console.print(definition.intro.text(locale))
    table = Table()
    for column in ("id", "kind", "question", "required", "options"):
        table.add_column(column, overflow="fold")
    for q in definition.questions:
        table.add_row(q.id, q.kind.value, q.label.text(locale), _required(q), _options(q, locale))
    console.print(table)


def _required(question: Question) -> str:
    condition = question.required_if
    if condition is not None:
        return f"if {condition.question}={condition.option}"
    return "yes" if question.required else "no"


def _options(question: Question, locale: str) -> str:
    if question.kind == QuestionKind.NPS:
        return "0-10"
    if question.kind == QuestionKind.SATISFACTION:
        return "1-5"
    if question.kind == QuestionKind.TEXT:
        return f"≤ {question.text_limit} chars"
    return "\n".join(f"{o.id}: {o.label.text(locale)}" for o in question.options)


def print_results(results: SurveyResults, locale: str, zone: ZoneInfo) -> None:
    survey = results.survey
    rate = "—" if results.response_rate is None else f"{results.response_rate:.0%}"
    console.print(
        f"[bold]{survey.definition.title.text(locale)}[/bold] ({survey.slug}): "
        f"{results.responses} responses, delivered to {results.delivered}, response rate {rate}"
    )
    for question in results.questions:
        console.print(f"\n[bold]{question.question.id}[/bold] {question.question.label.text(locale)}")
        _print_question(question, locale, zone)


def _print_question(result: QuestionResult, locale: str, zone: ZoneInfo) -> None:
    if result.answered == 0:
        console.print("  no answers yet")
    elif result.nps is not None:
        n = result.nps
        console.print(
            f"  NPS {n.score:+.1f}  (promoters {n.promoters}, passives {n.passives}, "
            f"detractors {n.detractors}; {n.responses} answers)"
        )
    elif result.satisfaction is not None:
        s = result.satisfaction
        console.print(f"  mean {s.mean:.2f} / 5, CSAT {s.csat:.0%}  ({s.responses} answers)")
    elif result.choices is not None:
        _print_choices(result, locale)
    else:
        for text in result.texts[:_TEXTS_SHOWN]:
            console.print(f"  {when(text.submitted_at, zone)}  member {text.member_id}: {text.text}")
        if len(result.texts) > _TEXTS_SHOWN:
            console.print(f"  … {len(result.texts) - _TEXTS_SHOWN} more (--json lists all)")


def _print_choices(result: QuestionResult, locale: str) -> None:
    assert result.choices is not None
    labels = {o.id: o.label.text(locale) for o in result.question.options}
    table = Table(show_header=True)
    for column in ("option", "answers", "share"):
        table.add_column(column)
    for option, count in result.choices.counts.items():
        share = result.choices.share(option)
        table.add_row(labels.get(option, option), str(count), "—" if share is None else f"{share:.0%}")
    console.print(table)
