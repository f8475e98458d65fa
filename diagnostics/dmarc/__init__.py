"""DMARC reports in, tables out: aggregate (RFC 7489 and RFC 9990), failure and SMTP TLS reports.

    report = parse_report("google.com!example.com!1700000000!1700086399.xml.gz")
    batch = load_reports(["inbox.mbox", "reports/", "uploads/*.zip"], progress=print)
    batch.records        # one row per report record, categorical columns
    batch.errors         # (source, reason) for every input that was not a valid report

Parsing never touches the network and never waits on DNS; enrichment of source IPs is its own step.
"""

from diagnostics.dmarc.explain import (
    Action,
    ActionCode,
    Category,
    Diagnosis,
    Evidence,
    Readiness,
    explain,
    readiness,
)
from diagnostics.dmarc.parse import (
    DEFAULT_LIMITS,
    FAILURE_COLUMNS,
    RECORD_COLUMNS,
    REPORT_COLUMNS,
    TLS_COLUMNS,
    AggregateReport,
    FailureReport,
    ParseLimits,
    ReportBatch,
    ReportMeta,
    TlsFailure,
    TlsPolicy,
    TlsReport,
    load_reports,
    parse_report,
)

__all__ = [
    "DEFAULT_LIMITS",
    "FAILURE_COLUMNS",
    "RECORD_COLUMNS",
    "REPORT_COLUMNS",
    "TLS_COLUMNS",
    "AggregateReport",
    "FailureReport",
    "ParseLimits",
    "ReportBatch",
    "ReportMeta",
    "TlsFailure",
    "TlsPolicy",
    "TlsReport",
    "load_reports",
    "parse_report",
]

# The report store (reports in the desk's database, and the queries the pages ask of them).
from diagnostics.dmarc.enrichcache import SqlEnrichmentCache
from diagnostics.dmarc.schema import StoreError
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.summary import FileResult, ImportSummary, Outcome

__all__ += [
    "FileResult",
    "ImportSummary",
    "Outcome",
    "ReportStore",
    "SqlEnrichmentCache",
    "StoreError",
]

# Explanations: why each source passes or fails and exactly what to change (issue 5).
__all__ += [
    "Action",
    "ActionCode",
    "Category",
    "Diagnosis",
    "Evidence",
    "Readiness",
    "explain",
    "readiness",
]
