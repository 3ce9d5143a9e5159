"""Small builders shared by tests: import files written by hand, counts read back."""

import csv
import json
import tracemalloc
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update

from conftest import T0
from qunyun.analytics import ActivityMirror
from qunyun.domain import FixedClock
from qunyun.ingest import FORMATS, ImportOptions, ImportReport, import_source
from qunyun.ingest.rows import RowProblem
from qunyun.store.tables import activities, communities, identities, members

HEADER = [
    "occurred_at",
    "community",
    "platform",
    "member",
    "nickname",
    "kind",
    "text",
    "amount",
    "currency",
    "reference_id",
    "reply_to",
    "phone",
]


def row(at: str, member: str, kind: str, text: str = "", **extra: str) -> dict[str, str]:
    base = {
        "occurred_at": at,
        "community": "g1",
        "platform": "wechat",
        "member": member,
        "nickname": f"nick-{member}",
        "kind": kind,
        "text": text,
    }
    base.update(extra)
    return base


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in HEADER})
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for r in rows:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def run_import(
    engine: Engine, workspace_id: int, path: Path, fmt: str = "csv", **options: Any
) -> ImportReport:
    opts = ImportOptions(
        workspace_id=workspace_id, rejects_path=path.with_suffix(".rejects.jsonl"), **options
    )
    return import_source(engine, FixedClock(T0), FORMATS[fmt](path), opts, fmt=fmt)


def count_activities(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(activities)).scalar_one())


def mirrored(
    engine: Engine, workspace_id: int, tmp_path: Path, rows: list[dict[str, str]], staff: tuple[str, ...] = ()
) -> ActivityMirror:
    """Import `rows`, flag the `staff` members, and return a synced DuckDB mirror of it all."""
    run_import(engine, workspace_id, write_csv(tmp_path / "community.csv", rows))
    with engine.begin() as conn:
        for external_id in staff:
            member = select(identities.c.member_id).where(identities.c.external_id == external_id)
            conn.execute(
                update(members).where(members.c.id == member.scalar_subquery()).values(is_staff=True)
            )
    mirror = ActivityMirror(engine, tmp_path / "mirror.duckdb", FixedClock(T0 + timedelta(days=30)))
    mirror.sync()
    return mirror


def stored_activities(
    engine: Engine, columns: Sequence[Any], order_by: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """The given columns of every stored activity, joined to its identity and community."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*columns)
            .select_from(activities)
            .join(identities, identities.c.id == activities.c.identity_id)
            .join(communities, communities.c.id == activities.c.community_id)
            .order_by(*order_by)
        ).all()
    return [tuple(r) for r in rows]


def read_with_peak(fmt: str, path: Path) -> tuple[int, int]:
    """(rows a source yields, peak traced memory in bytes while reading them all)."""
    tracemalloc.start()
    try:
        rows = sum(1 for item in FORMATS[fmt](path, "auto") if not isinstance(item, RowProblem))
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, top


def rendered_rows(table: Any, width: int, ids: Sequence[str]) -> list[str]:
    """The table printed at `width`: asserts nothing is wider and each of `ids` (first column, in
    order) takes exactly one line with nothing folded under it; returns those lines."""
    from rich.cells import cell_len
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    lines = console.export_text().splitlines()
    assert max(cell_len(line.rstrip()) for line in lines) <= width
    body = [line for line in lines if line.split() and line.split()[0] in ids]
    assert [line.split()[0] for line in body] == list(ids)
    first = lines.index(body[0])
    assert lines[first : first + len(ids)] == body  # consecutive: no row folds onto a second line
    return body
