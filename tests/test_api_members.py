"""Members, lists and playbooks through /api/v1 on a hand-made community (SQLite and PostgreSQL)."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from api_helpers import add_tenant, bearer, make_app
from conftest import T0
from journey_helpers import act, add_members, community
from qunyun.analytics import ActivityMirror
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.engage.coupons import CampaignSpec, Coupons
from qunyun.store.erasure import erase_member
from qunyun.store.journey_tables import member_optouts
from qunyun.store.tables import activities, audit_log, identities, member_state, member_topics

DAY = timedelta(days=1)


@pytest.fixture
def shop(settings: Settings, engine: Engine, workspace_id: int) -> dict[str, Any]:
    """Community g1: members 1-3 active, 4-5 silent, 6 churned; g2 on telegram: member 7 active."""
    clock = FixedClock(T0 + timedelta(hours=1))
    tenant = add_tenant(engine, clock, workspace_id)
    g1 = community(engine, workspace_id, "g1")
    g2 = community(engine, workspace_id, "g2", platform="telegram")
    ids = add_members(engine, workspace_id, g1, 3) + add_members(
        engine, workspace_id, g1, 2, segment="silent"
    )
    ids += add_members(engine, workspace_id, g1, 1, segment="churned")
    ids += add_members(engine, workspace_id, g2, 1, platform="telegram")
    act(engine, g1, ids[0], "message", T0, "今天的摄影分享太棒了")
    with engine.begin() as conn:  # the silent two last spoke 40 days ago
        conn.execute(
            update(member_state)
            .where(member_state.c.member_id.in_(ids[3:5]))
            .values(last_message_at=T0 - 40 * DAY, messages_total=3)
        )
    client = make_app(settings, engine, clock, workspace_id)
    return {
        "client": client, "ids": ids, "g1": g1, "engine": engine, "clock": clock,
        "op": bearer(tenant.tokens["operator"]), "analyst": bearer(tenant.tokens["analyst"]),
        "admin": bearer(tenant.tokens["admin"]),
    }  # fmt: skip


def _ids(answer: Any) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [m["member_id"] for m in answer.json()["members"]]


def test_filters_and_pages(shop: dict[str, Any]) -> None:
    client, ids, op = shop["client"], shop["ids"], shop["op"]
    assert _ids(client.get("/api/v1/members", headers=op)) == ids
    assert _ids(client.get("/api/v1/members?segment=silent", headers=op)) == ids[3:5]
    assert _ids(client.get("/api/v1/members?platform=telegram", headers=op)) == [ids[6]]
    assert _ids(client.get("/api/v1/members?community=g2", headers=op)) == [ids[6]]
    assert _ids(client.get(f"/api/v1/members?q={ids[2]}", headers=op)) == [ids[2]]
    assert _ids(client.get(f"/api/v1/members?q=wechat:u{ids[1]}", headers=op)) == [ids[1]]
    assert _ids(client.get("/api/v1/members?q=wechat:nobody", headers=op)) == []
    page1 = client.get("/api/v1/members?per_page=3&page=1", headers=op)
    page3 = client.get("/api/v1/members?per_page=3&page=3", headers=op)
    assert _ids(page1) == ids[:3]
    assert page1.json()["has_more"] is True
    assert _ids(page3) == ids[6:]
    assert page3.json()["has_more"] is False
    assert client.get("/api/v1/members?segment=sleepy", headers=op).status_code == 422
    client.post(f"/api/v1/members/{ids[4]}/tags", json={"tag": "vip"}, headers=op)
    assert _ids(client.get("/api/v1/members?tag=vip", headers=op)) == [ids[4]]
    # An interest topic counts as a tag in the community it was found in only.
    g1 = shop["g1"]
    with shop["engine"].begin() as conn:
        conn.execute(
            insert(member_topics),
            [
                {
                    "community_id": g1,
                    "member_id": ids[2],
                    "topic": "摄影",
                    "score": 3.0,
                    "as_of": T0,
                    "reasons": [],
                },
                {
                    "community_id": g1,
                    "member_id": ids[6],
                    "topic": "摄影",
                    "score": 2.0,
                    "as_of": T0,
                    "reasons": [],
                },
            ],
        )
    assert _ids(client.get("/api/v1/members?tag=摄影", headers=op)) == [ids[2]]  # ids[6] is in g2 only


def test_member_page_tags_and_opt_out(shop: dict[str, Any], engine: Engine) -> None:
    client, ids, op = shop["client"], shop["ids"], shop["op"]
    first = ids[0]
    assert client.post(f"/api/v1/members/{first}/tags", json={"tag": "摄影爱好者"}, headers=op).json()[
        "added"
    ]
    again = client.post(f"/api/v1/members/{first}/tags", json={"tag": "摄影爱好者"}, headers=op).json()
    assert again["added"] is False
    page = client.get(f"/api/v1/members/{first}", headers=op).json()
    assert [t["tag"] for t in page["tags"]] == ["摄影爱好者"]
    assert page["timeline"][0]["text"] == "今天的摄影分享太棒了"
    assert page["identities"][0]["external_id"] == f"u{first}"
    assert page["points"]["balance"] == 0
    removed = client.delete(f"/api/v1/members/{first}/tags/摄影爱好者", headers=op).json()
    assert removed["removed"] is True
    assert client.get(f"/api/v1/members/{first}", headers=op).json()["tags"] == []
    assert client.post(f"/api/v1/members/{first}/opt-out", headers=op).json()["changed"] is True
    assert client.post(f"/api/v1/members/{first}/opt-out", headers=op).json()["changed"] is False
    with engine.connect() as conn:
        assert conn.execute(select(member_optouts.c.member_id)).scalars().all() == [first]
    assert client.get("/api/v1/members/999999", headers=op).status_code == 404


def test_points_once_per_idempotency_key(shop: dict[str, Any], engine: Engine) -> None:
    client, member, op = shop["client"], shop["ids"][1], shop["op"]
    url, body = f"/api/v1/members/{member}/points", {"points": 30, "reason": "活动奖励"}
    assert client.post(url, json=body, headers=op).status_code == 400  # no key
    first = client.post(url, json=body, headers={**op, "Idempotency-Key": "k1"})
    assert first.status_code == 201
    assert first.json()["balance"] == 30
    replay = client.post(url, json=body, headers={**op, "Idempotency-Key": "k1"})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = client.post(url, json={**body, "points": 31}, headers={**op, "Idempotency-Key": "k1"})
    assert other.status_code == 409
    second = client.post(url, json=body, headers={**op, "Idempotency-Key": "k2"})
    assert second.json()["balance"] == 60
    assert client.get(f"/api/v1/members/{member}", headers=op).json()["points"]["balance"] == 60
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).where(audit_log.c.action == "member.points")).all()
    assert len(actions) == 2


def test_coupon_issued_once(shop: dict[str, Any], engine: Engine, workspace_id: int) -> None:
    client, member, op = shop["client"], shop["ids"][3], shop["op"]
    Coupons(engine, workspace_id, shop["clock"]).create_campaign(
        CampaignSpec(
            slug="back-20",
            name="回归礼",
            kind="amount",
            value=2000,
            starts_at=T0,
            ends_at=T0 + 30 * DAY,
            validity_days=7,
        )
    )
    url = f"/api/v1/members/{member}/coupons"
    first = client.post(url, json={"campaign": "back-20"}, headers={**op, "Idempotency-Key": "c1"}).json()
    again = client.post(url, json={"campaign": "back-20"}, headers={**op, "Idempotency-Key": "c1"}).json()
    assert first["code"] == again["code"]
    coupons = client.get(f"/api/v1/members/{member}", headers=op).json()["coupons"]
    assert [c["code"] for c in coupons] == [first["code"]]


def test_lists_export_csv_and_xlsx(shop: dict[str, Any]) -> None:
    client, ids, op = shop["client"], shop["ids"], shop["op"]
    silent = client.get("/api/v1/lists/worth-waking", headers=op).json()["members"]
    assert {m["member_id"] for m in silent} == set(ids[3:5])
    csv = client.get("/api/v1/lists/cleanup/export?format=csv", headers=op)
    assert csv.status_code == 200
    assert csv.content.startswith("\ufeff".encode())
    assert csv.headers["content-disposition"] == 'attachment; filename="cleanup.csv"'
    xlsx = client.get("/api/v1/lists/koc/export?format=xlsx", headers=op)
    assert zipfile.ZipFile(io.BytesIO(xlsx.content)).namelist()  # a real XLSX is a zip archive
    assert client.get("/api/v1/lists/nope", headers=op).status_code == 404
    assert client.get("/api/v1/lists/koc/export", headers=shop["analyst"]).status_code == 403


def test_playbooks_enable_validate_save_dry_run(shop: dict[str, Any]) -> None:
    client, op = shop["client"], shop["op"]
    names = [p["name"] for p in client.get("/api/v1/playbooks", headers=op).json()["playbooks"]]
    assert "silent-wake-up" in names
    enabled = client.post("/api/v1/playbooks/silent-wake-up/enable", headers=op).json()
    assert enabled["enabled"] is True
    assert enabled["version"] == 1
    source = client.get("/api/v1/playbooks/silent-wake-up", headers=op).json()["source"]
    broken = source.replace("steps:", "stepz:", 1)
    verdict = client.post(
        "/api/v1/playbooks/validate", content=broken, headers={**op, "Content-Type": "application/yaml"}
    )
    assert verdict.json()["valid"] is False
    assert "line" in verdict.json()["message"]
    edited = source + "\n# edited in the dashboard\n"
    saved = client.put(
        "/api/v1/playbooks/silent-wake-up", content=edited, headers={**op, "Content-Type": "application/yaml"}
    )
    assert saved.status_code == 200
    assert saved.json()["version"] == 2
    refused = client.put(
        "/api/v1/playbooks/silent-wake-up", content=broken, headers={**op, "Content-Type": "application/yaml"}
    )
    assert refused.status_code == 422
    unchanged = client.put(
        "/api/v1/playbooks/silent-wake-up", content=edited, headers={**op, "Content-Type": "application/yaml"}
    )
    assert unchanged.json()["version"] == 2  # the same text again is not a new version
    plans = client.post("/api/v1/playbooks/silent-wake-up/dry-run", headers=op).json()["plans"]
    assert sorted(p["member_id"] for p in plans) == shop["ids"][3:5]
    treated = [p for p in plans if p["arm"] == "treated"]
    assert all(any("回来" in (s["text"] or "") for s in p["sends"]) for p in treated)


def test_erasure_forgets_the_person_and_keeps_the_counts(
    shop: dict[str, Any], engine: Engine, workspace_id: int
) -> None:
    client, ids, op = shop["client"], shop["ids"], shop["op"]
    admin = shop["admin"]
    first = ids[0]
    client.post(f"/api/v1/members/{first}/tags", json={"tag": "vip"}, headers=op)
    assert (
        client.post(f"/api/v1/members/{first}/erase", json={"confirm": first}, headers=op).status_code == 403
    )
    unconfirmed = client.post(f"/api/v1/members/{first}/erase", json={"confirm": ids[1]}, headers=admin)
    assert unconfirmed.status_code == 422
    done = client.post(f"/api/v1/members/{first}/erase", json={"confirm": first}, headers=admin)
    assert done.status_code == 200
    assert done.json()["messages"] == 1
    page = client.get(f"/api/v1/members/{first}", headers=op).json()
    assert page["display_name"] is None
    assert [i["external_id"] for i in page["identities"]] == [f"erased:{page['identities'][0]['id']}"]
    assert page["identities"][0]["nickname"] is None
    assert page["tags"] == []
    assert page["opt_out"]["detail"] == "erased"
    assert [a["text"] for a in page["timeline"]] == [None]  # the message is still counted, its text gone
    with engine.connect() as conn:
        texts = conn.execute(select(activities.c.text).where(activities.c.text.is_not(None))).all()
        actions = conn.execute(
            select(audit_log.c.action).where(audit_log.c.target == f"member:{first}")
        ).all()
    assert texts == []
    assert ("member.erase",) in [tuple(a) for a in actions]
    # The platform user can come back as a new member: their old platform id is free again.
    with engine.connect() as conn:
        assert (
            conn.execute(select(identities.c.id).where(identities.c.external_id == f"u{first}")).first()
            is None
        )


def test_erasure_reaches_the_analytics_mirror(
    shop: dict[str, Any], engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    first = shop["ids"][0]
    mirror = ActivityMirror(engine, tmp_path / "mirror.duckdb", shop["clock"])
    mirror.sync()
    assert mirror.duck.execute("SELECT count(*) FROM activities WHERE text IS NOT NULL").fetchone() == (1,)
    with engine.begin() as conn:
        erase_member(conn, workspace_id, first, shop["clock"].now())
    mirror.sync()
    assert mirror.duck.execute("SELECT count(*) FROM activities WHERE text IS NOT NULL").fetchone() == (0,)
    assert mirror.duck.execute("SELECT count(*) FROM activities").fetchone() == (1,)
    external = mirror.duck.execute(
        "SELECT external_id FROM identities WHERE member_id = ?", [first]
    ).fetchall()
    assert [e[0] for e in external] == [f"erased:{r}" for r in _identity_ids(engine, first)]
    mirror.close()


def _identity_ids(engine: Engine, member_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(identities.c.id).where(identities.c.member_id == member_id)).scalars()
        )
