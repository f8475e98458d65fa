"""The desk's admin data: accounts and plans, SMTP connections, outbound routing and the sending
domain, users and their sign-in, the audit log, probe history, the report mailbox, secrets encrypted
at rest, and the database with its migrations.

No Streamlit in here: the app (desk/) calls it, and passes in what it reads from Streamlit (the
secret key, the signed-in user: `store.as_user(principal)`; admin.access says which role may do
what).

    from admin import Store
    store = Store()            # data/desk.sqlite, $DATABASE_URL, or Store("postgresql+psycopg2://...")

The house: store (accounts, connections, routing, probes, the audit log; plans holds the plan
rules), diagnosis (one account's whole answer, which every surface renders), users (user administration) and authentication (sign-in, sessions, throttling, the audit of
each sign-in), sending (an account's connection, domain and provider), reports (report imports as
a user), secrets and rotation (the key), records (the frozen values handed out). Every read and
write goes through one `_transactions.Transactions`, which also writes every audit entry and gives
every timestamp from the store's clock; `_lookups` finds and locks rows, `_snapshots` turns them
into records and audit states.
"""

from admin.access import Permission, Principal, Role
from admin.diagnosis import (
    AccountDiagnosis,
    AccountProblem,
    AccountSetup,
    account_setup,
    describe_test,
    diagnose_account,
    network_checks,
)
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
from admin.records import Account, AuditAction, AuditEntry, Connection, ProbeRecord, User
from admin.rotation import KeyRotation
from admin.sample import ensure_sample_data
from admin.secrets import KeySource, generate_key
from admin.sending import active_connection, provider_of, sending_domain
from admin.signin import SessionCheck, SignInResult
from admin.store import Store
from admin.troubles import TroubleKind

__all__ = [
    "Account",
    "AccountDiagnosis",
    "AccountProblem",
    "AccountSetup",
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
    "TroubleKind",
    "User",
    "account_setup",
    "active_connection",
    "describe_test",
    "diagnose_account",
    "ensure_sample_data",
    "generate_key",
    "network_checks",
    "provider_of",
    "sending_domain",
]
