"""Reports in, tables out: DMARC aggregate (RFC 7489, RFC 9990), failure and SMTP TLS reports.

The parsing layer of `diagnostics.dmarc`: files, folders, archives, e-mails and mailboxes are read
within `ParseLimits` into DataFrames with categorical columns, and every input that is not a valid
report gets one line in `ReportBatch.errors` saying why. No network, no DNS, no SQL: explaining
the rows is `diagnostics.dmarc.explain`, keeping them is `diagnostics.dmarc.store`.

    batch = load_reports(["inbox.mbox", "reports/", "uploads/*.zip"], progress=print)
    report = parse_report("google.com!example.com!1700000000!1700086399.xml.gz")
"""

from diagnostics.dmarc.parse._aggregate import ReportMeta
from diagnostics.dmarc.parse._batch import (
    REPORT_COLUMNS,
    AggregateReport,
    Progress,
    ReportBatch,
    Source,
    load_reports,
    parse_report,
)
from diagnostics.dmarc.parse._columns import RECORD_COLUMNS
from diagnostics.dmarc.parse._failure import FAILURE_COLUMNS, FailureReport
from diagnostics.dmarc.parse._limits import DEFAULT_LIMITS, ParseLimits
from diagnostics.dmarc.parse._tls import TLS_COLUMNS, TlsFailure, TlsPolicy, TlsReport
from diagnostics.dmarc.parse._unpack import holds_feedback

__all__ = [
    "DEFAULT_LIMITS",
    "FAILURE_COLUMNS",
    "RECORD_COLUMNS",
    "REPORT_COLUMNS",
    "TLS_COLUMNS",
    "AggregateReport",
    "FailureReport",
    "ParseLimits",
    "Progress",
    "ReportBatch",
    "ReportMeta",
    "Source",
    "TlsFailure",
    "TlsPolicy",
    "TlsReport",
    "holds_feedback",
    "load_reports",
    "parse_report",
]
