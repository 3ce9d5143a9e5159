"""Which playbooks a workspace has: the built-ins shipped as YAML, and what operators saved.

A built-in is listed (disabled) until an operator enables it; enabling copies
its YAML into the workspace as version 1, so a later release that changes the
built-in never changes a running playbook underneath its enrolments. Saving
an edited playbook adds a version; enrolments keep running the version they
began on.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from qunyun.domain import Clock
from qunyun.errors import NotFoundError
from qunyun.journeys.definition import Playbook
from qunyun.journeys.program import Program, compile_playbook
from qunyun.journeys.source import PlaybookError, Problem, parse_playbook
from qunyun.store.journey_tables import playbook_versions, playbooks


@dataclass(frozen=True)
class Entry:
    name: str
    playbook: Playbook
    origin: str  # builtin | custom
    enabled: bool
    version: int | None  # None: a built-in never saved in this workspace
    source: str
    enabled_at: datetime | None = None

    def summary(self, locale: str) -> dict[str, Any]:
        pb = self.playbook
        return {
            "name": self.name,
            "title": pb.describe(locale),
            "origin": self.origin,
            "enabled": self.enabled,
            "version": self.version,
            "subject": pb.subject,
            "trigger": pb.trigger.kind,
            "steps": len(pb.steps),
            "holdout": pb.holdout,
        }


@cache
def builtin_sources() -> dict[str, str]:
    folder = resources.files("qunyun.journeys") / "builtin"
    found = {}
    for item in folder.iterdir():
        if item.name.endswith(".yaml"):
            found[item.name.removesuffix(".yaml")] = item.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


@cache
def _parsed(source: str, origin: str) -> tuple[Playbook, Program]:
    playbook = parse_playbook(source, origin)
    return playbook, compile_playbook(playbook)


def load(source: str, origin: str) -> tuple[Playbook, Program]:
    """Parse and compile (cached by text: the engine asks for the same versions all day)."""
    return _parsed(source, origin)


class Catalog:
    def __init__(self, engine: Engine, workspace_id: int, clock: Clock) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.clock = clock

    def entries(self) -> list[Entry]:
        with self.engine.connect() as conn:
            saved = {row.name: row for row in conn.execute(self._latest())}
        out: dict[str, Entry] = {}
        for name, source in builtin_sources().items():
            if name not in saved:
                playbook = load(source, f"builtin/{name}.yaml")[0]
                out[name] = Entry(name, playbook, "builtin", False, None, source)
        for name, row in saved.items():
            playbook = load(row.source, f"{name} v{row.version}")[0]
            out[name] = Entry(
                name, playbook, row.origin, row.enabled, row.version, row.source, row.enabled_at
            )
        return [out[name] for name in sorted(out)]

    def get(self, name: str) -> Entry:
        for entry in self.entries():
            if entry.name == name:
                return entry
        raise NotFoundError(
            f"no playbook named {name!r} (see `qunyun playbooks list`)", code="playbook.not_found"
        )

    def enabled(self) -> list[Entry]:
        return [e for e in self.entries() if e.enabled]

    def version(self, conn: Connection, name: str, version: int) -> tuple[Playbook, Program]:
        source = conn.execute(
            select(playbook_versions.c.source).where(
                playbook_versions.c.workspace_id == self.workspace_id,
                playbook_versions.c.name == name,
                playbook_versions.c.version == version,
            )
        ).scalar_one()
        return load(source, f"{name} v{version}")

    def set_enabled(self, name: str, enabled: bool, actor: str) -> Entry:
        entry = self.get(name)
        if entry.version is None:
            return self._store(entry.source, "builtin", enabled, actor)
        now = self.clock.now()
        values: dict[str, Any] = {"enabled": enabled, "updated_at": now, "updated_by": actor}
        if enabled and not entry.enabled:
            values["enabled_at"] = now
        with self.engine.begin() as conn:
            conn.execute(
                update(playbooks)
                .where(playbooks.c.workspace_id == self.workspace_id, playbooks.c.name == name)
                .values(**values)
            )
        return self.get(name)

    def save(self, source: str, origin_label: str, actor: str, *, enabled: bool | None = None) -> Entry:
        """Store a new version of the playbook the YAML names (validated first; nothing stored if not)."""
        playbook = parse_playbook(source, origin_label)
        origin = "builtin" if playbook.name in builtin_sources() else "custom"
        return self._store(source, origin, enabled, actor)

    def copy(self, name: str, new_name: str, actor: str) -> Entry:
        entry = self.get(name)
        if any(e.name == new_name for e in self.entries()):
            raise PlaybookError(new_name, [Problem(None, "name", f"a playbook named {new_name!r} exists")])
        source = _renamed(entry.source, name, new_name)
        return self._store(source, "custom", False, actor)

    def _store(self, source: str, origin: str, enabled: bool | None, actor: str) -> Entry:
        playbook = parse_playbook(source, "<saved>")
        now = self.clock.now()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(playbooks).where(
                    playbooks.c.workspace_id == self.workspace_id, playbooks.c.name == playbook.name
                )
            ).first()
            latest = self._latest_source(conn, playbook.name) if row is not None else None
            if row is None:
                version = 1
                conn.execute(
                    insert(playbooks).values(
                        workspace_id=self.workspace_id,
                        name=playbook.name,
                        origin=origin,
                        enabled=bool(enabled),
                        enabled_at=now if enabled else None,
                        version=version,
                        updated_at=now,
                        updated_by=actor,
                    )
                )
            else:
                version = row.version if latest == source else row.version + 1
                values: dict[str, Any] = {"version": version, "updated_at": now, "updated_by": actor}
                if enabled is not None:
                    values["enabled"] = enabled
                    if enabled and not row.enabled:
                        values["enabled_at"] = now
                conn.execute(update(playbooks).where(playbooks.c.id == row.id).values(**values))
            if latest != source:
                conn.execute(
                    insert(playbook_versions).values(
                        workspace_id=self.workspace_id,
                        name=playbook.name,
                        version=version,
                        source=source,
                        created_at=now,
                        created_by=actor,
                    )
                )
        return self.get(playbook.name)

    def _latest_source(self, conn: Connection, name: str) -> str | None:
        return conn.execute(
            select(playbook_versions.c.source)
            .where(playbook_versions.c.workspace_id == self.workspace_id, playbook_versions.c.name == name)
            .order_by(playbook_versions.c.version.desc())
            .limit(1)
        ).scalar()

    def _latest(self) -> Any:
        newest = (
            select(playbook_versions.c.name, func.max(playbook_versions.c.version).label("version"))
            .where(playbook_versions.c.workspace_id == self.workspace_id)
            .group_by(playbook_versions.c.name)
            .subquery()
        )
        return (
            select(
                playbooks.c.name,
                playbooks.c.origin,
                playbooks.c.enabled,
                playbooks.c.enabled_at,
                playbooks.c.version,
                playbook_versions.c.source,
            )
            .join(newest, newest.c.name == playbooks.c.name)
            .join(
                playbook_versions,
                (playbook_versions.c.workspace_id == playbooks.c.workspace_id)
                & (playbook_versions.c.name == playbooks.c.name)
                & (playbook_versions.c.version == newest.c.version),
            )
            .where(playbooks.c.workspace_id == self.workspace_id)
        )


def _renamed(source: str, old: str, new: str) -> str:
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("name:"):
            lines[i] = f"name: {new}\n"
            return "".join(lines)
    raise PlaybookError(old, [Problem(None, "name", "the playbook has no top-level name line")])
