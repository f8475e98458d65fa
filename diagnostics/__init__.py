"""The deliverability desk's library: DNS, SPF, DKIM and DMARC records and reports, SMTP probing,
and plain-language explanations of what is wrong and what to change.

No Streamlit in here: the same calls serve the pages, the CLI (`python -m diagnostics`) and notebooks.
`run_sync` is the library's one bridge from synchronous code to its asyncio functions, exported
for the app's own bounded work.
"""

from diagnostics._sync import run_sync
from diagnostics.dns import Answer, Resolver, Status
from diagnostics.errors import (
    DatabaseBusy,
    DatabaseUnavailable,
    DiagnosticsError,
    InvalidInput,
    ReportError,
    ReportTooLarge,
    ResolverError,
)
from diagnostics.findings import Finding, Severity
from diagnostics.secret import Secret

__all__ = [
    "Answer",
    "DatabaseBusy",
    "DatabaseUnavailable",
    "DiagnosticsError",
    "Finding",
    "InvalidInput",
    "ReportError",
    "ReportTooLarge",
    "Resolver",
    "ResolverError",
    "Secret",
    "Severity",
    "Status",
    "run_sync",
]
