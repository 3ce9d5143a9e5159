"""The demo's last step: an admin account, then the dashboard on the demo community until Ctrl-C."""

from contextlib import suppress

from qunyun.auth.accounts import Accounts
from qunyun.cli.context import AppContext
from qunyun.cli.output import console
from qunyun.cli.serve_cmd import services_for
from qunyun.errors import AuthError
from qunyun.sim import Simulator

DEMO_USER = "demo"
# A demo on loopback only: the password is printed on purpose. Real accounts: `qunyun users add`.
DEMO_PASSWORD = "qunyun-demo-2026"


def serve_demo(ctx: AppContext, sim: Simulator, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    from qunyun.api import create_app
    from qunyun.api.app import warm_up

    # The dashboard's "today" is the simulated community's last day, so this week's flows are real.
    at_end = ctx.at(sim.end)
    with suppress(AuthError):  # made by an earlier run on this database
        Accounts(at_end.engine, at_end.clock).add(
            at_end.workspace_id, DEMO_USER, DEMO_PASSWORD, "admin", display_name="演示管理员"
        )
    console.print(
        f"dashboard: http://{host}:{port}/  log in as [bold]{DEMO_USER}[/] / [bold]{DEMO_PASSWORD}[/] "
        f"(admin; its clock is frozen at the simulated {sim.end:%Y-%m-%d}); Ctrl-C stops it"
    )
    app = create_app(services_for(at_end), dashboard=True)
    warm_up(app)
    uvicorn.run(app, host=host, port=port, log_level="warning")
