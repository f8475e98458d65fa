"""The desk's admin data: accounts and plans, SMTP connections, outbound routing, the audit log,
probe history, the report mailbox, secrets encrypted at rest, and the database with its migrations.

No Streamlit in here: pages call it, and pass in what they read from Streamlit (the secret key, the
signed-in user: `store.as_user(principal)`; admin.access says which role may do what).

    from admin import Store
    store = Store()            # data/desk.sqlite, $DATABASE_URL, or Store("postgresql+psycopg2://...")
"""

from admin.access import Permission, Principal, Role
from admin.errors import (
    AdminError,
    AdminInputError,
    NotFound,
    PermissionDenied,
    PlanRuleError,
    SecretKeyError,
    StoreBusy,
    StoreUnavailable,
)
from admin.intake import IntakeMailbox, IntakeRun, ReportIntake
from admin.plans import Plan, Route, RouteMode
from admin.records import Account, AuditAction, AuditEntry, Connection, ProbeRecord
from admin.rotation import KeyRotation
from admin.sample import ensure_sample_data
from admin.secrets import KeySource, generate_key
from admin.signin import SessionCheck, SignInResult
from admin.store import Store
from admin.users import User

__all__ = [
    "Account",
    "AdminError",
    "AdminInputError",
    "AuditAction",
    "AuditEntry",
    "Connection",
    "IntakeMailbox",
    "IntakeRun",
    "KeyRotation",
    "KeySource",
    "NotFound",
    "Permission",
    "PermissionDenied",
    "Plan",
    "PlanRuleError",
    "Principal",
    "ProbeRecord",
    "ReportIntake",
    "Role",
    "Route",
    "RouteMode",
    "SecretKeyError",
    "SessionCheck",
    "SignInResult",
    "Store",
    "StoreBusy",
    "StoreUnavailable",
    "User",
    "ensure_sample_data",
    "generate_key",
]
