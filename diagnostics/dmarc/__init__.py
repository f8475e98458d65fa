"""DMARC reports in, tables out: aggregate (RFC 7489 and RFC 9990), failure and SMTP TLS reports.

    report = parse_report("google.com!example.com!1700000000!1700086399.xml.gz")
    batch = load_reports(["inbox.mbox", "reports/", "uploads/*.zip"], progress=print)
    batch.records        # one row per report record, categorical columns
    batch.errors         # (source, reason) for every input that was not a valid report
    explain(batch.records, resolver=resolver)   # why each source passes or fails, what to change
    ReportStore(url).import_batch(batch)        # the reports in the desk's database

Three layers, each a subpackage, each exporting its public names (all of them are here too):
- `parse/`: reports in, tables out; no network, no DNS, no SQL.
- `explain/`: why each source passes or fails and what to change; DNS through `resolver=`.
- `store/`: the report store, the only part that imports SQLAlchemy. It is imported on first use
  of one of its names, so parsing and explaining never load SQLAlchemy.
What they share (the verdict columns) is in `_keys.py`. `record.py` is a domain's DMARC record in
DNS (parse_dmarc, check_dmarc), which the explainer's policy step and diagnostics.health read.

`diagnostics.dmarc.explain` is the function; its layer is imported by module path
(`from diagnostics.dmarc.explain import Category`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diagnostics.dmarc.explain import (
    Action,
    ActionCode,
    Category,
    Confidence,
    Diagnosis,
    Evidence,
    Readiness,
    explain,
    readiness,
    selectors_seen,
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

if TYPE_CHECKING:
    from diagnostics.dmarc.store import (
        FileResult,
        ImportSummary,
        Outcome,
        ReportStore,
        SqlEnrichmentCache,
        StoreError,
    )

# Parsing.
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
__all__ += [
    "FileResult",
    "ImportSummary",
    "Outcome",
    "ReportStore",
    "SqlEnrichmentCache",
    "StoreError",
]
# Explanations: why each source passes or fails and exactly what to change.
__all__ += [
    "Action",
    "ActionCode",
    "Category",
    "Confidence",
    "Diagnosis",
    "Evidence",
    "Readiness",
    "explain",
    "readiness",
    "selectors_seen",
]

_FROM_THE_STORE = frozenset(
    {"FileResult", "ImportSummary", "Outcome", "ReportStore", "SqlEnrichmentCache", "StoreError"}
)


def __getattr__(name: str) -> Any:
    # PEP 562: the store's names are looked up here only when first asked for, so that
    # `import diagnostics.dmarc` (and with it every parse or explain import) leaves SQLAlchemy
    # unloaded until a caller wants the database.
    if name in _FROM_THE_STORE:
        from diagnostics.dmarc import store

        value = getattr(store, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_THE_STORE)
