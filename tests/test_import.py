"""File import on SQLite and PostgreSQL: idempotency, bad rows, strict mode, crashes."""

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from helpers import count_activities, row, run_import, write_csv, write_jsonl
from qunyun.errors import IngestError
from qunyun.store.tables import activities, communities, identities, import_runs, members

GOOD = [
    row("2026-05-01T08:00:00+08:00", "u1", "join"),
    row("2026-05-01T09:30:00+08:00", "u1", "message", "大家好，今天分享一下摄影构图"),
    row("2026-05-02T21:00:00+08:00", "u2", "message", "Thanks, very helpful!"),
    row("2026-05-03T10:00:00Z", "u2", "purchase", amount="99.90", currency="CNY", reference_id="order-7"),
    row("2026-05-03T10:05:00+08:00", "u1", "reaction", reference_id="msg-2:like:u1"),
]


def test_csv_import_stores_every_row(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    report = run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", GOOD))
    assert (report.rows_read, report.inserted, report.duplicates, report.rejected) == (5, 5, 0, 0)
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                activities.c.kind, activities.c.occurred_at, activities.c.amount_minor, activities.c.currency
            ).order_by(activities.c.occurred_at)
        ).all()
        assert conn.execute(
            select(identities.c.external_id).order_by(identities.c.external_id)
        ).scalars().all() == ["u1", "u2"]
        assert conn.execute(select(communities.c.platform, communities.c.external_id)).all() == [
            ("wechat", "g1")
        ]
    assert stored[0].occurred_at.isoformat() == "2026-05-01T00:00:00+00:00"  # 08:00 Shanghai in UTC
    purchase = next(r for r in stored if r.kind == "purchase")
    assert (purchase.amount_minor, purchase.currency) == (9990, "CNY")


def test_reimport_changes_nothing(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD)
    run_import(engine, workspace_id, path)
    again = run_import(engine, workspace_id, path)
    assert (again.inserted, again.duplicates) == (0, 5)
    assert count_activities(engine) == 5
    with engine.connect() as conn:
        assert len(conn.execute(select(members.c.id)).all()) == 2


def test_same_data_as_jsonl_after_csv_is_a_duplicate(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    run_import(engine, workspace_id, write_csv(tmp_path / "a.csv", GOOD))
    jsonl = [dict(r, amount=float(r["amount"])) if r.get("amount") else r for r in GOOD]
    report = run_import(engine, workspace_id, write_jsonl(tmp_path / "a.jsonl", jsonl), fmt="jsonl")
    assert (report.inserted, report.duplicates, report.rejected) == (0, 5, 0)


BAD_ROWS = [
    (row("yesterday", "u3", "message", "hi"), "occurred_at", "not an ISO 8601"),
    (row("2026-05-01T08:00:00", "u3", "message", "hi"), "occurred_at", "no time zone"),
    (row("2026-05-01T08:00:00+08:00", "u3", "shout", "hi"), "kind", "unknown kind"),
    (row("2026-05-01T08:00:00+08:00", "", "message", "hi"), "member", "missing"),
    (row("2026-05-01T08:00:00+08:00", "u3", "purchase"), "amount", "needs an amount"),
    (
        row("2026-05-01T08:00:00+08:00", "u3", "purchase", amount="12.345", currency="CNY"),
        "amount",
        "decimals",
    ),
]


@pytest.mark.parametrize(("bad", "field", "message"), BAD_ROWS)
def test_bad_row_is_named_and_rejected_while_the_rest_imports(
    engine: Engine, workspace_id: int, tmp_path: Path, bad: dict[str, str], field: str, message: str
) -> None:
    path = write_csv(tmp_path / "a.csv", [*GOOD[:2], bad, *GOOD[2:]])
    report = run_import(engine, workspace_id, path)
    assert (report.inserted, report.rejected) == (5, 1)
    assert report.problems[0].startswith(f"line 4, field {field}: ")
    assert message in report.problems[0]
    rejects = [json.loads(x) for x in (tmp_path / "a.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["field"], r["file"]) for r in rejects] == [(4, field, str(path))]
    assert rejects[0]["row"]["member"] == bad["member"]


def test_broken_utf8_is_named_by_line_and_field(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD)
    lines = path.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace("摄影".encode(), b"\xff\xfe")  # line 3: the first message's text
    path.write_bytes(b"\r\n".join(lines))
    report = run_import(engine, workspace_id, path)
    assert (report.inserted, report.rejected) == (4, 1)
    assert report.problems == ["line 3, field text: bytes not valid in the file's encoding (0xff)"]


def test_gbk_file_is_detected_and_imported(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", GOOD[:3], encoding="gbk")
    report = run_import(engine, workspace_id, path)
    assert (report.inserted, report.rejected) == (3, 0)
    with engine.connect() as conn:
        texts = conn.execute(select(activities.c.text).where(activities.c.text.is_not(None))).scalars().all()
    assert "大家好，今天分享一下摄影构图" in texts


def test_broken_gbk_bytes_reject_only_their_row(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", GOOD[:3], encoding="gbk")
    data = path.read_bytes().replace("构图".encode("gbk"), b"\x81\x20")  # lead byte without a valid trail
    path.write_bytes(data)
    report = run_import(engine, workspace_id, path)
    assert report.rejected == 1
    assert report.inserted == 2
    assert report.problems[0].startswith("line 3, field text: bytes not valid")


def test_wrong_column_count_and_bad_json(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("2026-05-04T08:00:00+08:00,g1,wechat\r\n")
    report = run_import(engine, workspace_id, path)
    assert report.problems == ["line 7, field *: expected 12 columns, found 3"]
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text(json.dumps(GOOD[1], ensure_ascii=False) + "\n{not json\n[1, 2]\n", encoding="utf-8")
    report = run_import(engine, workspace_id, jsonl, fmt="jsonl")
    assert [p.split(":")[0] for p in report.problems] == ["line 2, field *", "line 3, field *"]
    good_again = write_jsonl(jsonl, [GOOD[1]])
    assert run_import(engine, workspace_id, good_again, fmt="jsonl").rejected == 0
    assert not (tmp_path / "b.rejects.jsonl").exists()  # no stale rejects from the run before


def test_hostile_text_is_stored_safely(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    hostile = "'; DROP TABLE activities; --\x00\x1b[31m<script>alert(1)</script> 🎉"
    path = write_jsonl(tmp_path / "h.jsonl", [row("2026-05-01T08:00:00+08:00", "u'1\"", "message", hostile)])
    report = run_import(engine, workspace_id, path, fmt="jsonl")
    assert report.inserted == 1
    with engine.connect() as conn:
        text = conn.execute(select(activities.c.text)).scalar_one()
    assert text == "'; DROP TABLE activities; --[31m<script>alert(1)</script> 🎉"  # NUL and ESC removed


def test_strict_mode_imports_nothing_if_any_row_is_bad(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", [*GOOD, row("bad", "u9", "message")])
    with pytest.raises(IngestError) as caught:
        run_import(engine, workspace_id, path, strict=True)
    assert caught.value.code == "import.strict_rejected"
    assert "line 7, field occurred_at" in caught.value.message
    assert count_activities(engine) == 0
    rejects = (tmp_path / "a.rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["line"] for r in rejects] == [7]
    good = write_csv(tmp_path / "good.csv", GOOD)
    assert run_import(engine, workspace_id, good, strict=True).inserted == 5


def test_crash_mid_batch_leaves_no_half_written_batch(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row(f"2026-05-01T08:{m:02d}:00+08:00", f"u{m}", "message", f"m{m}") for m in range(50)]
    path = write_csv(tmp_path / "a.csv", rows)
    import qunyun.ingest.pipeline as pipeline

    real = pipeline.insert_ignoring_conflicts
    calls = {"n": 0}

    def dying(conn: Any, table: Any, columns: Any, batch: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch: its members exist, half its rows are in, then…
            real(conn, table, columns, batch[: len(batch) // 2])
            raise RuntimeError("power cut")
        return real(conn, table, columns, batch)

    monkeypatch.setattr(pipeline, "insert_ignoring_conflicts", dying)
    with pytest.raises(RuntimeError):
        run_import(engine, workspace_id, path, batch_size=20)
    assert count_activities(engine) == 20  # the first batch only; the second rolled back whole
    with engine.connect() as conn:
        assert conn.execute(select(import_runs.c.status)).scalar_one() == "failed"
        assert len(conn.execute(select(members.c.id)).all()) == 20
    monkeypatch.setattr(pipeline, "insert_ignoring_conflicts", real)
    report = run_import(engine, workspace_id, path, batch_size=20)
    assert (report.inserted, report.duplicates) == (30, 20)
    assert count_activities(engine) == 50
