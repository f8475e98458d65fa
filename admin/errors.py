"""The exceptions of the admin package (accounts, connections, routing, secrets, the database).

Expected outcomes of a check are values elsewhere; these are for calls the store must refuse.

    AdminError
     ├── AdminInputError (ValueError)     an argument is malformed: an unknown plan, an empty name
     ├── NotFound (LookupError)           no account or connection with that id
     ├── PermissionDenied (PermissionError) the signed-in user's role does not allow it
     ├── PlanRuleError (ValueError)       the account's plan forbids it: Nano choosing managed sending
     ├── SecretKeyError (ValueError)      the secret key is wrong for the stored secrets, or unusable
     └── StoreUnavailable (OSError)       the database cannot be reached, opened or migrated
          └── StoreBusy (TimeoutError)    another writer held it past the busy timeout

Each subclass also inherits the builtin it resembles, so callers that already catch `ValueError`,
`LookupError`, `PermissionError` or `OSError` keep working. Messages are plain words for a page
and never hold a secret. A database that stops answering after the store opened (down, restarted,
the connection cut) raises StoreUnavailable, and one that stays locked StoreBusy, from every call:
admin.database turns SQLAlchemy's errors into them where the engine raises them.
"""

from __future__ import annotations


class AdminError(Exception):
    """Root of every exception the admin package raises on purpose."""


class AdminInputError(AdminError, ValueError):
    """An argument is not in a form the store accepts; the message says which and why."""


class NotFound(AdminError, LookupError):
    """The account or connection named by an id does not exist (any more)."""


class PermissionDenied(AdminError, PermissionError):
    """The user's role does not allow the action; the message says what the role may not do."""


class PlanRuleError(AdminError, ValueError):
    """The account's plan does not allow the change, e.g. managed sending on the Nano plan."""


class SecretKeyError(AdminError, ValueError):
    """The secret key cannot decrypt what was saved with another key, or is not a usable key."""


class StoreUnavailable(AdminError, OSError):
    """The database cannot be reached, opened or brought up to the current schema."""


class StoreBusy(StoreUnavailable, TimeoutError):
    """Another connection held the database's write lock longer than the busy timeout."""
