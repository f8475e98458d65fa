"""The package's exceptions.

Expected outcomes (a failed SMTP test, an SPF permerror, a report that will not parse in a batch) are
values with a code and a message, not exceptions. Exceptions are for calls that cannot produce a
result at all: an argument that is not what the function takes, a resolver with no nameserver, or a
database that does not answer.

    DiagnosticsError
     ├── InvalidInput (ValueError)        an argument is malformed: not an IP, not a domain, ...
     ├── ResolverError (OSError)          the resolver cannot be set up: no usable nameserver
     ├── DatabaseUnavailable (ConnectionError)  the database cannot be reached right now: down,
     │    │                               restarting, or the connection was cut
     │    └── DatabaseBusy (TimeoutError) another writer held the database past the busy timeout
     ├── ReportError (ValueError)         one input is not a report the parser accepts
     │    └── ReportTooLarge              it exceeds a size or decompression cap
     └── MailboxError (OSError)           a report mailbox cannot be used: TLS not trusted, a folder
          ├── MailboxUnreachable (ConnectionError)   no connection, or it was lost: try again later
          └── MailboxLoginRefused (PermissionError)  the server refused the user name or password

Each subclass also inherits the builtin it resembles, so callers that already catch `ValueError` or
`OSError` keep working.
"""

from __future__ import annotations


class DiagnosticsError(Exception):
    """Root of every exception this package raises on purpose."""


class InvalidInput(DiagnosticsError, ValueError):
    """An argument is not in a form the function accepts; the message says which and why."""


class ResolverError(DiagnosticsError, OSError):
    """The DNS resolver cannot be configured (no nameserver, unreadable system configuration)."""


class DatabaseUnavailable(DiagnosticsError, ConnectionError):
    """The database does not answer right now (diagnostics.database translates SQLAlchemy's errors
    into this at the engine): the message says so in plain words, and a later call may work."""


class DatabaseBusy(DatabaseUnavailable, TimeoutError):
    """Another connection held the database's write lock longer than the busy timeout."""


class ReportError(DiagnosticsError, ValueError):
    """An input is not a DMARC, failure or TLS report that can be read; the message says why."""


class ReportTooLarge(ReportError):
    """An input, or what it decompresses to, is over a configured cap."""


class MailboxError(DiagnosticsError, OSError):
    """A report mailbox (diagnostics.intake) cannot be read: the server cannot be reached, its
    certificate is not trusted, or it refuses a folder; the message says which, in plain words."""


class MailboxUnreachable(MailboxError, ConnectionError):
    """The mail server cannot be reached now, or the connection was lost: worth trying again."""


class MailboxLoginRefused(MailboxError, PermissionError):
    """The mail server refused the user name or password: trying again will not help."""
