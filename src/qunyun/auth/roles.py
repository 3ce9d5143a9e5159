"""Roles and what each may do: the one policy table the API, the dashboard and the tests read.

An analyst reads everything, including member pages, but changes nothing and
exports no personal data; a viewer sees aggregates only (no member-level
rows). Operators run the community; admins also manage accounts, read the
audit log and erase members.
"""

from enum import StrEnum

from qunyun.errors import AuthError


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ_AGGREGATES = "read_aggregates"  # KPIs, charts, playbook results, reports
    READ_MEMBERS = "read_members"  # member lists and pages (personal data: audited)
    EXPORT_MEMBERS = "export_members"  # CSV/XLSX lists and a member's data export
    OPERATE = "operate"  # tags, opt-outs, enrolments, points, coupons, playbooks, tasks, alerts
    ADMINISTER = "administer"  # accounts, other people's tokens, the audit log, erasure


POLICY: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ_AGGREGATES}),
    Role.ANALYST: frozenset({Permission.READ_AGGREGATES, Permission.READ_MEMBERS}),
    Role.OPERATOR: frozenset(
        {Permission.READ_AGGREGATES, Permission.READ_MEMBERS, Permission.EXPORT_MEMBERS, Permission.OPERATE}
    ),
    Role.ADMIN: frozenset(Permission),
}


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise AuthError(f"no role {value!r} (use one of {names})", code="auth.bad_role") from None


def allows(role: Role, permission: Permission) -> bool:
    return permission in POLICY[role]
