"""The import action: a stream of rows in, activities stored batch by batch.

Each batch — its new members, identities, contacts and activities — commits
in one transaction, so a crash loses at most the batch in flight and never
leaves part of one. Re-running the same file inserts nothing new: every
activity carries an idempotency key that is unique per source.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, insert, update

from qunyun.domain import ActivityRecord, Clock
from qunyun.errors import IngestError
from qunyun.ingest.contacts import ContactLinker
from qunyun.ingest.rows import RowDefaults, RowProblem, parse_or_problem
from qunyun.ingest.sources import RawRow, RowSource
from qunyun.store.bulk import insert_ignoring_conflicts
from qunyun.store.identity import IdentityDirectory, IdentityKey
from qunyun.store.tables import ACTIVITY_INSERT_COLUMNS, activities, import_runs
from qunyun.store.types import encode_utc
from qunyun.store.workspace import ensure_community

STORED_COLUMNS = ACTIVITY_INSERT_COLUMNS
_MAX_PROBLEMS_SHOWN = 20


@dataclass
class ImportReport:
    path: str
    rows_read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    merged: int = 0
    rejects_path: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "merged": self.merged,
            "rejects_path": self.rejects_path,
        }


Progress = Callable[[int, ImportReport], None]


@dataclass
class ImportOptions:
    workspace_id: int
    defaults: RowDefaults = field(default_factory=RowDefaults)
    strict: bool = False
    batch_size: int = 5000
    rejects_path: Path | None = None
    identity_cache_size: int = 200_000
    actor: str = "import"


class _Rejects:
    """Bad rows of this run, as JSONL; a rejects file left by an earlier run is replaced."""

    def __init__(self, path: Path | None, source_path: Path) -> None:
        self.path = path
        self.source_path = source_path
        self._handle: IO[str] | None = None
        if path is not None:
            path.unlink(missing_ok=True)  # stale rows from a previous run would mislead

    def write(self, problem: RowProblem, raw: dict[str, Any] | None) -> None:
        if self.path is None:
            return
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8", errors="backslashreplace")
        entry = {
            "file": str(self.source_path),
            problem.unit: problem.line,
            "field": problem.field,
            "error": problem.message,
            "row": raw,
        }
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class Importer:
    """Stores ActivityRecords in batches; usable by file imports, the simulator and connectors."""

    def __init__(
        self, engine: Engine, clock: Clock, options: ImportOptions, linker: ContactLinker | None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.options = options
        self.linker = linker
        self.directory = IdentityDirectory(options.workspace_id, options.identity_cache_size)
        self._communities: dict[tuple[str, str], int] = {}

    def store_batch(
        self, records: list[ActivityRecord], also: Callable[[Connection], None] | None = None
    ) -> tuple[int, int]:
        """Store one batch atomically; returns (inserted, contact merges).

        `also` runs in the same transaction: a live connector records how far
        it has read there, so the position and the activities commit together.
        """
        if not records and also is None:
            return 0, 0
        try:
            with self.engine.begin() as conn:
                stored = self._store(conn, records) if records else (0, 0)
                if also is not None:
                    also(conn)
                return stored
        except BaseException:
            # New ids created inside the rolled-back transaction no longer exist.
            self.directory.forget()
            self._communities.clear()
            raise

    def _store(self, conn: Connection, records: list[ActivityRecord]) -> tuple[int, int]:
        now = self.clock.now()
        community_ids = {
            key: self._community(conn, key, records)
            for key in {(r.platform.value, r.community) for r in records}
        }
        wanted: dict[IdentityKey, str | None] = {}
        for record in records:
            key = (record.platform.value, record.member)
            if record.nickname or key not in wanted:
                wanted[key] = record.nickname
        refs = self.directory.resolve(conn, wanted, now)
        merged = self.linker.link(conn, records, refs, now) if self.linker else 0
        dialect = conn.dialect.name
        stamp = encode_utc(now, dialect)
        rows = []
        for r in records:
            platform = r.platform.value
            rows.append(
                (
                    community_ids[(platform, r.community)],
                    refs[(platform, r.member)].identity_id,
                    r.kind.value,
                    encode_utc(r.occurred_at, dialect),
                    r.text,
                    r.amount_minor,
                    r.currency,
                    r.reference_id,
                    r.reply_to,
                    platform,
                    r.idempotency_key(),
                    stamp,
                )
            )
        return insert_ignoring_conflicts(conn, activities, STORED_COLUMNS, rows), merged

    def _community(self, conn: Connection, key: tuple[str, str], records: list[ActivityRecord]) -> int:
        found = self._communities.get(key)
        if found is None:
            name = next(
                (
                    r.community_name
                    for r in records
                    if (r.platform.value, r.community) == key and r.community_name
                ),
                None,
            )
            found = ensure_community(conn, self.options.workspace_id, key[0], key[1], name, self.clock.now())
            self._communities[key] = found
        return found

    def run(
        self,
        items: Iterable[ActivityRecord],
        report: ImportReport,
        progress: Callable[[ImportReport], None] | None = None,
    ) -> None:
        """Store `items` in batches of `options.batch_size`, updating `report` as they commit."""
        batch: list[ActivityRecord] = []
        for record in items:
            batch.append(record)
            if len(batch) >= self.options.batch_size:
                self._flush(batch, report, progress)
                batch = []
        self._flush(batch, report, progress)

    def _flush(
        self,
        batch: list[ActivityRecord],
        report: ImportReport,
        progress: Callable[[ImportReport], None] | None,
    ) -> None:
        if not batch:
            return
        inserted, merged = self.store_batch(batch)
        report.inserted += inserted
        report.duplicates += len(batch) - inserted
        report.merged += merged
        if progress is not None:
            progress(report)


def _valid_records(
    rows: Iterable[RawRow | RowProblem],
    options: ImportOptions,
    report: ImportReport,
    rejects: _Rejects,
) -> Iterator[ActivityRecord]:
    for item in rows:
        report.rows_read += 1
        if isinstance(item, RowProblem):
            problem, raw = item, None
        else:
            line, raw = item
            # Exports count messages, not lines; a multi-file export names the file it is in.
            unit = str(getattr(rows, "unit", "line"))
            parsed = parse_or_problem(raw, line, options.defaults, unit)
            if isinstance(parsed, ActivityRecord):
                yield parsed
                continue
            problem = parsed
        report.rejected += 1
        if len(report.problems) < _MAX_PROBLEMS_SHOWN:
            report.problems.append(str(problem))
        rejects.write(problem, raw)


def _check_strict(source: RowSource, options: ImportOptions) -> None:
    """First pass of --strict: read everything, store nothing, fail on the first bad rows."""
    report = ImportReport(str(source.path))
    rejects = _Rejects(options.rejects_path, source.path)
    try:
        for _ in _valid_records(source, options, report, rejects):
            pass
    finally:
        rejects.close()
    if report.rejected:
        shown = "\n  ".join(report.problems[:10])
        where = f"\n  all bad rows: {options.rejects_path}" if options.rejects_path else ""
        raise IngestError(
            f"{source.path}: {report.rejected} bad row(s) of {report.rows_read}; "
            f"nothing imported (--strict):\n  {shown}{where}",
            code="import.strict_rejected",
        )


def import_source(
    engine: Engine,
    clock: Clock,
    source: RowSource,
    options: ImportOptions,
    linker: ContactLinker | None = None,
    progress: Progress | None = None,
    fmt: str = "csv",
) -> ImportReport:
    """Import a file source; see the module docstring for the guarantees."""
    if options.strict:
        _check_strict(source, options)
    report = ImportReport(str(source.path))
    run_id = _start_run(engine, clock, options, source, fmt)
    rejects = _Rejects(options.rejects_path, source.path)  # after a strict pass: same rows, none bad
    importer = Importer(engine, clock, options, linker)
    status = "failed"
    try:
        records = _valid_records(source, options, report, rejects)
        importer.run(records, report, (lambda r: progress(source.bytes_read(), r)) if progress else None)
        status = "done"
    finally:
        rejects.close()
        _finish_run(engine, clock, run_id, report, status)
    if report.rejected and options.rejects_path is not None:
        report.rejects_path = str(options.rejects_path)
    return report


def _start_run(engine: Engine, clock: Clock, options: ImportOptions, source: RowSource, fmt: str) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            insert(import_runs).values(
                workspace_id=options.workspace_id,
                format=fmt,
                path=str(source.path),
                started_at=clock.now(),
                status="running",
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])


def _finish_run(engine: Engine, clock: Clock, run_id: int, report: ImportReport, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(import_runs)
            .where(import_runs.c.id == run_id)
            .values(
                finished_at=clock.now(),
                status=status,
                rows_read=report.rows_read,
                inserted=report.inserted,
                duplicates=report.duplicates,
                rejected=report.rejected,
            )
        )
