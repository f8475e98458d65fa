"""The desk's admin data: accounts and plans, SMTP connections, outbound routing, the audit log,
probe history, secrets encrypted at rest, and the database with its migrations.

No Streamlit in here: pages call it, and pass in what they read from Streamlit (the secret key, the
signed-in user as `actor`).

    from admin import Store
    store = Store()            # data/desk.sqlite, $DATABASE_URL, or Store("postgresql+psycopg2://...")
"""

from admin.errors import (
    AdminError,
    AdminInputError,
    NotFound,
    PlanRuleError,
    SecretKeyError,
    StoreUnavailable,
)
from admin.plans import Plan, Route, RouteMode
from admin.records import Account, AuditAction, AuditEntry, Connection, ProbeRecord
from admin.sample import ensure_sample_data
from admin.secrets import KeySource, generate_key
from admin.store import Store

__all__ = [
    "Account",
    "AdminError",
    "AdminInputError",
    "AuditAction",
    "AuditEntry",
    "Connection",
    "KeySource",
    "NotFound",
    "Plan",
    "PlanRuleError",
    "ProbeRecord",
    "Route",
    "RouteMode",
    "SecretKeyError",
    "Store",
    "StoreUnavailable",
    "ensure_sample_data",
    "generate_key",
]
