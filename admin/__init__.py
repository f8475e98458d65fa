"""The desk's admin data: accounts and plans, SMTP connections, outbound routing and the sending
domain, the audit log, probe history, secrets encrypted at rest, and the database with its
migrations.

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
from admin.plans import Plan, Route, RouteMode
from admin.records import Account, AuditAction, AuditEntry, Connection, ProbeRecord, User
from admin.rotation import KeyRotation
from admin.sample import ensure_sample_data
from admin.secrets import KeySource, generate_key
from admin.sending import active_connection, provider_of, sending_domain
from admin.signin import SessionCheck, SignInResult
from admin.store import Store

__all__ = [
    "Account",
    "AdminError",
    "AdminInputError",
    "AuditAction",
    "AuditEntry",
    "Connection",
    "KeyRotation",
    "KeySource",
    "NotFound",
    "Permission",
    "PermissionDenied",
    "Plan",
    "PlanRuleError",
    "Principal",
    "ProbeRecord",
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
    "active_connection",
    "ensure_sample_data",
    "generate_key",
    "provider_of",
    "sending_domain",
]
