"""Identities: merge through a shared contact, manual link and unlink, audit, privacy."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from conftest import T0
from helpers import row, write_csv
from qunyun.domain import FixedClock
from qunyun.errors import PrivacyError, QunyunError
from qunyun.ingest import ContactLinker, CsvSource, ImportOptions, import_source
from qunyun.lifecycle.profile import find_member, member_profile
from qunyun.privacy import PiiProtector, SecretKey
from qunyun.store.merges import merge_members, unmerge
from qunyun.store.tables import audit_log, contacts, identities, members, merges

PHONE = "+86 138-1234-5678"


def _import(engine: Engine, workspace_id: int, path: Path, protector: PiiProtector) -> int:
    options = ImportOptions(workspace_id=workspace_id)
    report = import_source(
        engine, FixedClock(T0), CsvSource(path), options, ContactLinker(protector, workspace_id)
    )
    return report.merged


def _two_platforms(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "a.csv",
        [
            row("2026-05-01T08:00:00+08:00", "wx-1", "join", phone=PHONE),
            row("2026-05-01T09:00:00+08:00", "wx-1", "message", "你好"),
            row(
                "2026-05-02T08:00:00+08:00",
                "tg-1",
                "join",
                platform="telegram",
                community="t1",
                phone="13812345678",
            ),
            row("2026-05-02T08:00:00+08:00", "wx-2", "join", phone="13900000000"),
        ],
    )


def _member_of(engine: Engine, platform: str, external: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(identities.c.member_id).where(
                    identities.c.platform == platform, identities.c.external_id == external
                )
            ).scalar_one()
        )


def test_shared_phone_merges_across_platforms(
    engine: Engine, workspace_id: int, tmp_path: Path, protector: PiiProtector
) -> None:
    assert _import(engine, workspace_id, _two_platforms(tmp_path), protector) == 1
    assert _member_of(engine, "wechat", "wx-1") == _member_of(engine, "telegram", "tg-1")
    assert _member_of(engine, "wechat", "wx-2") != _member_of(engine, "wechat", "wx-1")
    with engine.connect() as conn:
        merge = conn.execute(select(merges)).one()
        assert merge.reason == "shared phone"
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert actions == ["member.merge"]
    # Importing again neither re-merges nor duplicates contacts.
    assert _import(engine, workspace_id, _two_platforms(tmp_path), protector) == 0


def test_phone_never_stored_in_clear(
    engine: Engine, workspace_id: int, tmp_path: Path, protector: PiiProtector
) -> None:
    _import(engine, workspace_id, _two_platforms(tmp_path), protector)
    with engine.connect() as conn:
        dumped = []
        for table in ("contacts", "identities", "members", "activities", "audit_log", "merges"):
            dumped += [repr(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table}"))]
        tokens = conn.execute(select(contacts.c.ciphertext)).scalars().all()
    blob = "\n".join(dumped)
    assert "12345678" not in blob
    assert "13900000000" not in blob
    assert sorted(protector.decrypt(bytes(t)) for t in tokens) == sorted(
        [PHONE, "13812345678", "13900000000"]
    )
    with pytest.raises(PrivacyError) as caught:
        PiiProtector(SecretKey(bytes(32))).decrypt(bytes(tokens[0]))
    assert caught.value.code == "privacy.decrypt"


def test_link_and_unlink_are_reversible_and_audited(
    engine: Engine, workspace_id: int, tmp_path: Path, protector: PiiProtector
) -> None:
    _import(engine, workspace_id, _two_platforms(tmp_path), protector)
    a, b = _member_of(engine, "wechat", "wx-1"), _member_of(engine, "wechat", "wx-2")
    with engine.begin() as conn:
        before = {r.id: r.member_id for r in conn.execute(select(identities.c.id, identities.c.member_id))}
        result = merge_members(
            conn,
            workspace_id=workspace_id,
            survivor_id=a,
            merged_id=b,
            reason="same person",
            actor="alice",
            now=T0,
        )
    assert _member_of(engine, "wechat", "wx-2") == a
    with engine.begin() as conn:
        assert find_member(conn, workspace_id, str(b)) == a  # the merged id still finds the person
        profile = member_profile(conn, workspace_id, a, protector)
        assert {i["external_id"] for i in profile["identities"]} == {"wx-1", "tg-1", "wx-2"}
        with pytest.raises(QunyunError) as caught:
            merge_members(
                conn,
                workspace_id=workspace_id,
                survivor_id=a,
                merged_id=b,
                reason="again",
                actor="alice",
                now=T0,
            )
        assert caught.value.code == "merge.same_member"
    with engine.begin() as conn:
        unmerge(conn, workspace_id=workspace_id, merge_id=result.merge_id, actor="bob", now=T0)
        after = {r.id: r.member_id for r in conn.execute(select(identities.c.id, identities.c.member_id))}
        assert after == before
        assert conn.execute(select(members.c.merged_into_id).where(members.c.id == b)).scalar_one() is None
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor).order_by(audit_log.c.id)).all()
        assert actions[-2:] == [("member.merge", "alice"), ("member.unmerge", "bob")]
        with pytest.raises(QunyunError) as again:
            unmerge(conn, workspace_id=workspace_id, merge_id=result.merge_id, actor="bob", now=T0)
        assert again.value.code == "merge.already_undone"


def test_profile_masks_contacts_unless_revealed(
    engine: Engine, workspace_id: int, tmp_path: Path, protector: PiiProtector
) -> None:
    _import(engine, workspace_id, _two_platforms(tmp_path), protector)
    a = _member_of(engine, "wechat", "wx-1")
    with engine.connect() as conn:
        masked = member_profile(conn, workspace_id, a, protector)["contacts"]
        clear = member_profile(conn, workspace_id, a, protector, reveal=True)["contacts"]
    assert {c["value"] for c in masked} == {"138****5678"}
    assert {c["value"] for c in clear} == {PHONE, "13812345678"}
