"""Who may do what: the three roles, the permissions each holds, and the principal the store checks.

    admin     edit accounts, plans and connections, read saved passwords, delete data, manage users,
              set up the report mailbox, edit the alert rules and where alerts go
    support   read everything but secrets, run SMTP tests and checks, upload reports (and check the
              report mailbox now)
    analyst   reports and notebooks; no SMTP settings at all

The store (admin.store.Store) refuses an action the caller's role lacks with PermissionDenied, so a
hidden button is a convenience, not the protection. A plain `str` actor is a trusted local caller
(the CLI, a notebook, a test, sample data): it acts as an admin under that name, which keeps
`actor="system"` working. Pages never pass a str: they bind the store to the signed-in user with
`Store.as_user(principal)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from admin.errors import AdminInputError, PermissionDenied
from admin.inputs import actor as clean_actor


class Role(StrEnum):
    ADMIN = "admin"
    SUPPORT = "support"
    ANALYST = "analyst"

    @classmethod
    def parse(cls, value: Role | str) -> Role:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(r.value for r in cls)
            raise AdminInputError(
                f"Unknown role {str(value)!r}: choose one of {choices}."
            ) from None


class Permission(StrEnum):
    """One thing the desk lets a role do. The text after the code finishes "You may not …"."""

    VIEW_ACCOUNTS = "view_accounts"
    EDIT_ACCOUNTS = "edit_accounts"
    VIEW_CONNECTIONS = "view_connections"
    EDIT_CONNECTIONS = "edit_connections"
    READ_SECRETS = "read_secrets"
    RUN_PROBES = "run_probes"
    VIEW_AUDIT = "view_audit"
    VIEW_REPORTS = "view_reports"
    UPLOAD_REPORTS = "upload_reports"
    EDIT_INTAKE = "edit_intake"
    DELETE_DATA = "delete_data"
    MANAGE_USERS = "manage_users"
    EDIT_ALERTS = "edit_alerts"

    @property
    def what(self) -> str:
        return _WHAT[self]


_WHAT = {
    Permission.VIEW_ACCOUNTS: "see the accounts",
    Permission.EDIT_ACCOUNTS: "create accounts or change their plan",
    Permission.VIEW_CONNECTIONS: "see SMTP connections, their tests or their settings",
    Permission.EDIT_CONNECTIONS: "add, change, delete or activate SMTP connections",
    Permission.READ_SECRETS: "read saved SMTP passwords",
    Permission.RUN_PROBES: "run SMTP tests",
    Permission.VIEW_AUDIT: "see the audit log",
    Permission.VIEW_REPORTS: "see DMARC reports",
    Permission.UPLOAD_REPORTS: "upload DMARC reports",
    Permission.EDIT_INTAKE: "set up the mailbox the desk takes DMARC reports from",
    Permission.DELETE_DATA: "delete data",
    Permission.MANAGE_USERS: "add, change or disable users",
    Permission.EDIT_ALERTS: "change the alert rules or where alerts are sent",
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPPORT: frozenset(
        {
            Permission.VIEW_ACCOUNTS,
            Permission.VIEW_CONNECTIONS,
            Permission.RUN_PROBES,
            Permission.VIEW_AUDIT,
            Permission.VIEW_REPORTS,
            Permission.UPLOAD_REPORTS,
        }
    ),
    Role.ANALYST: frozenset({Permission.VIEW_ACCOUNTS, Permission.VIEW_REPORTS}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone the store acts for: a signed-in user, or a trusted local caller."""

    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        """Raise PermissionDenied, in plain words, unless this principal's role allows it."""
        if not self.can(permission):
            raise PermissionDenied(
                f"{self.name} ({self.role.value}) may not {permission.what}: "
                f"ask an admin if you need to."
            )

    def __str__(self) -> str:
        # The audit log and messages name the person, as they did when actors were plain names.
        return self.name


SYSTEM = Principal("system", Role.ADMIN)
LOCAL_ADMIN = Principal("local admin", Role.ADMIN)

# Either a Principal, or a plain name for a trusted local caller (see the module docstring).
Actor = Principal | str


def resolve(actor: Actor, bound: Principal | None) -> Principal:
    """The principal an action runs as. A store bound to a user acts for that user whatever name a
    caller passes, so `actor="system"` cannot lift a signed-in analyst to admin."""
    if bound is not None:
        if isinstance(actor, Principal) and actor != bound:
            raise PermissionDenied(f"{bound.name} may not act as {actor.name}.")
        return bound
    if isinstance(actor, Principal):
        return actor
    return Principal(clean_actor(actor), Role.ADMIN)


__all__ = [
    "GRANTS",
    "LOCAL_ADMIN",
    "SYSTEM",
    "Actor",
    "Permission",
    "Principal",
    "Role",
    "resolve",
]
