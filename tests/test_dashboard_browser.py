"""The dashboard in Debian's headless Chromium, driven by Playwright: log in, read the overview,
filter members, open one, tag them, enable a playbook, dry-run it, switch language, and on a phone.

Screenshots land in test-artifacts/screenshots/ (QUNYUN_ARTIFACTS overrides the folder).
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import update

from api_helpers import PASSWORD, add_tenant
from conftest import T0
from journey_helpers import act, add_members, community
from qunyun.api import Services, create_app
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.store import ensure_workspace, make_engine, migrate
from qunyun.store.tables import member_state

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("QUNYUN_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")
)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("dashboard")
    engine = make_engine(f"sqlite:///{home / 'q.db'}")
    migrate(engine)
    clock = FixedClock(T0 + timedelta(hours=1))
    with engine.begin() as conn:
        workspace_id = ensure_workspace(conn, "default", T0)
    add_tenant(engine, clock, workspace_id)
    g1 = community(engine, workspace_id, "g1")
    ids = add_members(engine, workspace_id, g1, 3) + add_members(
        engine, workspace_id, g1, 2, segment="silent"
    )
    act(engine, g1, ids[0], "message", T0, "今天的摄影分享太棒了")
    with engine.begin() as conn:
        conn.execute(
            update(member_state)
            .where(member_state.c.member_id.in_(ids[3:]))
            .values(last_message_at=T0 - timedelta(days=40), messages_total=3)
        )
    settings = load_settings(None, environ={"QUNYUN_PRIVACY__KEY_FILE": str(home / "secret.key")})
    services = Services(settings, engine, clock, workspace_id, mirror_path=home / "mirror.duckdb")
    app = create_app(services, dashboard=True)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if uv.started:
            break
        time.sleep(0.05)
    yield {"base": f"http://127.0.0.1:{port}", "ids": ids}
    uv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _shot(page: Any, name: str) -> None:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _log_in(page: Any, base: str, username: str = "operator") -> None:
    page.goto(f"{base}/")
    page.wait_for_url("**/login**")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url("**/overview")


def test_operator_morning_round(server: dict[str, Any], browser: Any) -> None:
    base, ids = server["base"], server["ids"]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, base)
    assert page.inner_text("#kpi-members") == "5"
    assert page.inner_text("#kpi-segment-silent") == "2"
    assert "概览" in page.inner_text("h1")
    _shot(page, "01-overview-zh")

    page.click("text=成员")
    page.select_option("#filter-segment", "silent")
    page.click("#filter-button")
    page.wait_for_url("**segment=silent**")
    rows = page.locator("tr.member-row")
    assert rows.count() == 2
    assert [int(t) for t in rows.locator("td:first-child").all_inner_texts()] == ids[3:]
    _shot(page, "02-members-silent")

    rows.first.locator("a").click()
    page.wait_for_url(f"**/members/{ids[3]}")
    assert f"#{ids[3]}" in page.inner_text("#member-title")
    page.fill("#new-tag", "回归候选")
    page.click("#member-actions button[data-action=tag]")
    page.wait_for_selector("#member-tags .tag:has-text('回归候选')")
    _shot(page, "03-member")

    page.goto(f"{base}/playbooks")
    page.click("#enable-silent-wake-up")
    page.wait_for_selector("#playbook-silent-wake-up .state:has-text('已启用')")
    _shot(page, "04-playbooks")

    page.goto(f"{base}/playbooks/silent-wake-up")
    page.click("#dry-run")
    page.wait_for_selector("#plans tr.plan")
    assert page.locator("#plans tr.plan").count() == 2
    _shot(page, "05-dry-run")

    page.click("#lang-switch")
    page.wait_for_selector("text=Dry run")
    page.goto(f"{base}/overview")  # the choice is kept in a cookie
    assert "Overview" in page.inner_text("h1")
    _shot(page, "06-overview-en")
    page.close()


def test_phone_and_roles(server: dict[str, Any], browser: Any) -> None:
    base = server["base"]
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _log_in(phone, base, "viewer")
    assert phone.inner_text("#kpi-members") == "5"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # nothing forces sideways scrolling on the overview
    _shot(phone, "07-overview-phone-viewer")
    phone.goto(f"{base}/members")  # a viewer sees aggregates only
    assert "无权" in phone.inner_text("#message")
    phone.close()


def test_analytics_and_weekly_report(server: dict[str, Any], browser: Any) -> None:
    base = server["base"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, base, "analyst")
    page.goto(f"{base}/analytics")
    # The first visit starts the week's computation; the page reloads itself until the charts are in.
    page.wait_for_selector("#chart-trend svg", timeout=60_000)
    assert page.locator("#chart-hours svg").count() == 1
    assert page.locator("#topics").count() == 1
    _shot(page, "08-analytics")
    page.goto(f"{base}/overview")
    assert page.locator("#kpis tr.kpi-row").count() >= 10
    page.goto(f"{base}/report")
    frame = page.frame_locator("#report-frame")
    assert "社群运营数据周报" in frame.locator("h1").inner_text(timeout=60_000)
    _shot(page, "09-report")
    page.close()
