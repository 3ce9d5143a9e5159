"""The `qunyun` entry point: command registration and error presentation."""

import sys

import typer
from rich.text import Text

from qunyun.cli.alerts_cmd import alerts_command
from qunyun.cli.analytics_cmd import analytics_app
from qunyun.cli.connect_cmd import connect_app, send_command
from qunyun.cli.content_cmd import content_command, hours_command
from qunyun.cli.demo_cmd import demo_command
from qunyun.cli.engage_cmd import (
    checkin_command,
    coupons_app,
    leaderboard_command,
    link_command,
    referrals_app,
    squads_app,
    tiers_app,
)
from qunyun.cli.import_cmd import import_app
from qunyun.cli.init_cmd import init_command
from qunyun.cli.lifecycle_cmd import cleanup_command, refresh_command, segments_command
from qunyun.cli.members_cmd import member_command, members_app
from qunyun.cli.metrics_cmd import metrics_command
from qunyun.cli.models_cmd import models_app
from qunyun.cli.output import err_console
from qunyun.cli.playbooks_cmd import (
    opt_out_command,
    outbox_app,
    playbooks_app,
    run_command,
    tasks_app,
    worker_command,
)
from qunyun.cli.points_cmd import ledger_app, points_app
from qunyun.cli.report_cmd import report_app
from qunyun.cli.retention_cmd import retention_command
from qunyun.cli.serve_cmd import serve_command, serve_hooks_command
from qunyun.cli.simulate_cmd import simulate_command
from qunyun.cli.survey_cmd import survey_app
from qunyun.cli.topics_cmd import topics_command
from qunyun.cli.users_cmd import tokens_app, users_app
from qunyun.cli.wecom_cmd import wecom_app
from qunyun.errors import QunyunError

app = typer.Typer(
    name="qunyun",
    help="Qunyun (群运): community operations — members, activity, lifecycle, playbooks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("init")(init_command)
app.add_typer(import_app, name="import")
app.command("refresh")(refresh_command)
app.command("segments")(segments_command)
app.add_typer(members_app, name="members")
app.command("member")(member_command)
app.command("cleanup-list")(cleanup_command)
app.command("demo")(demo_command)
app.command("simulate")(simulate_command)
app.add_typer(analytics_app, name="analytics")
app.command("metrics")(metrics_command)
app.command("retention")(retention_command)
app.command("hours")(hours_command)
app.command("content")(content_command)
app.add_typer(models_app, name="models")
app.add_typer(connect_app, name="connect")
app.command("send")(send_command)
app.command("serve")(serve_command)
app.command("serve-hooks")(serve_hooks_command)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(wecom_app, name="wecom")
app.command("topics")(topics_command)
app.command("alerts")(alerts_command)
app.add_typer(points_app, name="points")
app.add_typer(ledger_app, name="ledger")
app.command("checkin")(checkin_command)
app.add_typer(coupons_app, name="coupons")
app.command("leaderboard")(leaderboard_command)
app.add_typer(referrals_app, name="referrals")
app.add_typer(tiers_app, name="tiers")
app.command("link")(link_command)
app.add_typer(squads_app, name="squads")
app.add_typer(survey_app, name="survey")
app.add_typer(playbooks_app, name="playbooks")
app.add_typer(tasks_app, name="tasks")
app.add_typer(outbox_app, name="outbox")
app.command("run")(run_command)
app.command("worker")(worker_command)
app.command("opt-out")(opt_out_command)
app.add_typer(report_app, name="report")


def main() -> None:
    try:
        app()
    except QunyunError as error:
        message = Text("error", style="red") + Text(f" [{error.code}]: {error.message}")
        err_console.print(message, soft_wrap=True, highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
