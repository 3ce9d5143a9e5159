"""Operator accounts, dashboard sessions and API tokens.

A principal is who is asking: an operator of one workspace with one role,
reached through a session cookie (the dashboard) or a bearer token (scripts).
Every account and token change is written to the audit log in the same
transaction as the change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from qunyun.auth.roles import Permission, Role, allows, parse_role
from qunyun.auth.secrets import burn_time, digest, hash_password, new_secret, password_matches
from qunyun.domain import Clock
from qunyun.errors import AuthError, NotFoundError
from qunyun.store import audit
from qunyun.store.auth_tables import api_tokens, operator_sessions, operators

SESSION_PREFIX = "qys_"
TOKEN_PREFIX = "qyt_"


@dataclass(frozen=True)
class Principal:
    operator_id: int
    username: str
    display_name: str
    workspace_id: int
    role: Role
    locale: str
    via: Literal["session", "token"]
    csrf_token: str | None = None  # sessions only: unsafe requests must echo it

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    @property
    def actor(self) -> str:
        return f"operator:{self.username}"


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


class Accounts:
    def __init__(self, engine: Engine, clock: Clock, session_hours: float = 12.0) -> None:
        self.engine = engine
        self.clock = clock
        self.session_ttl = timedelta(hours=session_hours)

    # --- accounts -------------------------------------------------------------------------------

    def add(
        self,
        workspace_id: int,
        username: str,
        password: str,
        role: str,
        *,
        display_name: str | None = None,
        locale: str = "zh-CN",
        actor: str = "cli",
    ) -> int:
        parsed = parse_role(role)
        name = username.strip()
        if not name or len(name) > 64:
            raise AuthError("a username needs 1-64 characters", code="auth.bad_username")
        now = self.clock.now()
        try:
            with self.engine.begin() as conn:
                operator_id = conn.execute(
                    insert(operators)
                    .values(
                        workspace_id=workspace_id,
                        username=name,
                        display_name=display_name or name,
                        password_hash=hash_password(password),
                        role=parsed.value,
                        locale=locale,
                        created_at=now,
                    )
                    .returning(operators.c.id)
                ).scalar_one()
                audit.record(
                    conn,
                    workspace_id=workspace_id,
                    at=now,
                    actor=actor,
                    action="operator.add",
                    target=f"operator:{name}",
                    detail={"role": parsed.value},
                )
        except IntegrityError:
            raise AuthError(f"the username {name!r} is taken", code="auth.username_taken") from None
        return int(operator_id)

    def list_operators(self, workspace_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    operators.c.id,
                    operators.c.username,
                    operators.c.display_name,
                    operators.c.role,
                    operators.c.locale,
                    operators.c.created_at,
                )
                .where(operators.c.workspace_id == workspace_id, operators.c.removed_at.is_(None))
                .order_by(operators.c.username)
            )
            return [dict(r._mapping) for r in rows]

    def remove(self, workspace_id: int, username: str, *, actor: str = "cli") -> None:
        """Removes the account and ends its sessions and tokens at once."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            operator_id = self._live_id(conn, workspace_id, username)
            conn.execute(update(operators).where(operators.c.id == operator_id).values(removed_at=now))
            conn.execute(
                update(operator_sessions)
                .where(
                    operator_sessions.c.operator_id == operator_id, operator_sessions.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.operator_id == operator_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            audit.record(
                conn,
                workspace_id=workspace_id,
                at=now,
                actor=actor,
                action="operator.remove",
                target=f"operator:{username}",
            )

    def _live_id(self, conn: Connection, workspace_id: int, username: str) -> int:
        found = conn.execute(
            select(operators.c.id).where(
                operators.c.workspace_id == workspace_id,
                operators.c.username == username,
                operators.c.removed_at.is_(None),
            )
        ).scalar()
        if found is None:
            raise NotFoundError(f"no operator {username!r}", code="operator.not_found")
        return int(found)

    # --- sessions -------------------------------------------------------------------------------

    def log_in(self, username: str, password: str) -> OpenedSession:
        """A new session for the right password; the same error whether the name or the password
        is wrong (and the same time, see `burn_time`)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(operators).where(operators.c.username == username, operators.c.removed_at.is_(None))
            ).first()
        if row is None:
            burn_time(password)
            raise AuthError("wrong username or password", code="auth.bad_credentials")
        if not password_matches(row.password_hash, password):
            raise AuthError("wrong username or password", code="auth.bad_credentials")
        token, csrf = new_secret(SESSION_PREFIX), new_secret("")
        now = self.clock.now()
        expires = now + self.session_ttl
        with self.engine.begin() as conn:
            conn.execute(
                insert(operator_sessions).values(
                    token_hash=digest(token),
                    operator_id=row.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
            audit.record(
                conn,
                workspace_id=row.workspace_id,
                at=now,
                actor=f"operator:{row.username}",
                action="session.open",
                target=f"operator:{row.username}",
            )
        return OpenedSession(token, csrf, expires, _principal(row._mapping, "session", csrf))

    def session_principal(self, token: str) -> Principal | None:
        now = self.clock.now()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(operators, operator_sessions.c.csrf_token)
                .join(operator_sessions, operator_sessions.c.operator_id == operators.c.id)
                .where(
                    operator_sessions.c.token_hash == digest(token),
                    operator_sessions.c.revoked_at.is_(None),
                    operator_sessions.c.expires_at > now,
                    operators.c.removed_at.is_(None),
                )
            ).first()
        return None if row is None else _principal(row._mapping, "session", row.csrf_token)

    def log_out(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(operator_sessions)
                .where(
                    operator_sessions.c.token_hash == digest(token), operator_sessions.c.revoked_at.is_(None)
                )
                .values(revoked_at=self.clock.now())
            )

    # --- API tokens -----------------------------------------------------------------------------

    def create_token(self, workspace_id: int, username: str, name: str, *, actor: str = "cli") -> str:
        """A new API token for `username`; the only time its value is shown."""
        token = new_secret(TOKEN_PREFIX)
        now = self.clock.now()
        with self.engine.begin() as conn:
            operator_id = self._live_id(conn, workspace_id, username)
            token_id = conn.execute(
                insert(api_tokens)
                .values(
                    operator_id=operator_id,
                    name=name,
                    token_hash=digest(token),
                    prefix=token[: len(TOKEN_PREFIX) + 6],
                    created_at=now,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
            audit.record(
                conn,
                workspace_id=workspace_id,
                at=now,
                actor=actor,
                action="token.create",
                target=f"token:{token_id}",
                detail={"operator": username, "name": name},
            )
        return token

    def tokens(self, workspace_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    api_tokens.c.id,
                    operators.c.username,
                    api_tokens.c.name,
                    api_tokens.c.prefix,
                    api_tokens.c.created_at,
                    api_tokens.c.last_used_at,
                )
                .join(operators, operators.c.id == api_tokens.c.operator_id)
                .where(operators.c.workspace_id == workspace_id, api_tokens.c.revoked_at.is_(None))
                .order_by(api_tokens.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def revoke_token(self, workspace_id: int, token_id: int, *, actor: str = "cli") -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(
                    api_tokens.c.id == token_id,
                    api_tokens.c.revoked_at.is_(None),
                    api_tokens.c.operator_id.in_(
                        select(operators.c.id).where(operators.c.workspace_id == workspace_id)
                    ),
                )
                .values(revoked_at=now)
            ).rowcount
            if not done:
                raise NotFoundError(f"no live token {token_id}", code="token.not_found")
            audit.record(
                conn,
                workspace_id=workspace_id,
                at=now,
                actor=actor,
                action="token.revoke",
                target=f"token:{token_id}",
            )

    def token_principal(self, token: str) -> Principal | None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(operators, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
                .join(api_tokens, api_tokens.c.operator_id == operators.c.id)
                .where(
                    api_tokens.c.token_hash == digest(token),
                    api_tokens.c.revoked_at.is_(None),
                    operators.c.removed_at.is_(None),
                )
            ).first()
            if row is None:
                return None
            # Last use to the minute: one write per token per minute, not per request.
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now)
                )
        return _principal(row._mapping, "token", None)


def _principal(row: Any, via: Literal["session", "token"], csrf: str | None) -> Principal:
    return Principal(
        operator_id=int(row["id"]),
        username=row["username"],
        display_name=row["display_name"],
        workspace_id=int(row["workspace_id"]),
        role=Role(row["role"]),
        locale=row["locale"],
        via=via,
        csrf_token=csrf,
    )
