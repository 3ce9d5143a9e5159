"""Member pages (H5) through the ASGI app on SQLite and PostgreSQL: signed links, check-in,
wallet, survey answers; forged, expired and borrowed links refused."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from conftest import T0
from engage_helpers import make_members
from qunyun.api import Services, create_app
from qunyun.config import load_settings
from qunyun.domain import FixedClock
from qunyun.engage.coupons import CampaignSpec
from qunyun.engage.links import LinkError, MemberLinks
from qunyun.engage.service import Engagement
from qunyun.feedback.definitions import builtin_definition
from qunyun.feedback.surveys import NewSurvey, create_survey
from qunyun.store.tables import activities

LINKS = MemberLinks(b"s" * 32)
DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def client(engine: Engine, workspace_id: int, clock: FixedClock) -> Iterator[TestClient]:
    settings = load_settings(None, environ={})
    app = create_app(Services(settings, engine, clock, workspace_id, links=LINKS))
    with TestClient(app, follow_redirects=True) as test_client:
        yield test_client


def link(workspace_id: int, member: int, target: str = "home", days: int = 7) -> str:
    return "/m/" + LINKS.issue(workspace_id, member, target, T0 + days * DAY)


def test_links_refuse_tampering_and_expiry() -> None:
    token = LINKS.issue(1, 42, "home", T0 + DAY)
    assert LINKS.verify(token, T0).member_id == 42
    payload, _, signature = token.partition(".")
    forged = LINKS.issue(1, 43, "home", T0 + DAY).partition(".")[0] + "." + signature
    for bad in (forged, payload + ".x", "garbage", token[:-2] + "AA"):
        with pytest.raises(LinkError, match="not valid"):
            LINKS.verify(bad, T0)
    with pytest.raises(LinkError, match="expired"):
        LINKS.verify(token, T0 + DAY)
    with pytest.raises(LinkError):
        MemberLinks(b"t" * 32).verify(token, T0)  # another workspace secret


def test_home_shows_wallet_and_checks_in(
    client: TestClient, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    alice, bob = make_members(engine, workspace_id, 2)
    e = Engagement(load_settings(None, environ={}), engine, clock, workspace_id)
    e.ledger.earn(alice, 120, key="gift")
    e.coupons.create_campaign(CampaignSpec("return-20", "回归礼", "amount", 2000, T0, T0 + 30 * DAY))
    coupon = e.coupons.issue("return-20", alice, key="c1")
    page = client.get(link(workspace_id, alice))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for text in ("我的积分", "120", coupon.code, "¥20", "立即打卡", "/i/"):
        assert text in page.text
    assert "Check in now" in client.get(link(workspace_id, alice), headers={"Accept-Language": "en-US"}).text
    done = client.post(link(workspace_id, alice) + "/checkin")
    assert "打卡成功" in done.text
    assert "今天已打卡" in done.text
    client.post(link(workspace_id, alice) + "/checkin")  # a double tap
    assert e.ledger.balance(alice) == 125
    assert e.ledger.balance(bob) == 0  # the link acted only for its own member
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(activities.c.kind == "checkin")).scalar_one() == 1


def test_refused_links(client: TestClient, engine: Engine, workspace_id: int) -> None:
    (member,) = make_members(engine, workspace_id, 1)
    expired = client.get("/m/" + LINKS.issue(workspace_id, member, "home", T0 - DAY))
    assert expired.status_code == 403
    assert "链接已过期" in expired.text
    other_workspace = client.get(link(workspace_id + 1, member))
    assert other_workspace.status_code == 403
    forged = client.post("/m/abc.def/checkin")
    assert forged.status_code == 403


def test_survey_answered_once_from_the_link(
    client: TestClient, engine: Engine, workspace_id: int, clock: FixedClock
) -> None:
    (member,) = make_members(engine, workspace_id, 1)
    with engine.begin() as conn:
        create_survey(conn, workspace_id, clock, NewSurvey(builtin_definition("exit")))
    url = link(workspace_id, member, "survey:exit")
    form = client.get(url + "?lang=en")
    assert "What is the main reason you left the community?" in form.text
    missing = client.post(url + "/survey", data={"reason": "other"})  # wrong field name: nothing answered
    assert "reason" in missing.text
    answered = client.post(url + "/survey", data={"q_reason": "other", "q_other_reason": "太吵了"})
    assert "感谢你的反馈" in answered.text
    assert (
        "感谢你的反馈"
        in client.post(url + "/survey", data={"q_reason": "other", "q_other_reason": "太吵了"}).text
    )
    changed = client.post(url + "/survey", data={"q_reason": "boring_content"})
    assert changed.status_code == 409
    assert "已经填写过" in changed.text
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).where(activities.c.kind == "survey_answer")).scalar_one() == 1
        )
