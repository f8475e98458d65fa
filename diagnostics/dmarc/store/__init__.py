"""The report store: DMARC, failure and TLS reports in the desk's database, and what pages ask of them.

The storing layer of `diagnostics.dmarc`, and the only part of it that imports SQLAlchemy.
`ReportStore(url)` opens (and creates or upgrades) the report tables in SQLite or PostgreSQL,
imports what the parser read (`import_paths`, `import_batch`: each report whole or not at all) and
answers the pages' questions from a rollup of the records (verdicts, volume by day, sources), as
DataFrames. It explains nothing itself: `diagnostics.dmarc.explain` reads the records it returns.

    store = ReportStore("sqlite:///data/desk.sqlite")
    summary = store.import_paths(["reports/"])

`Progress` is the parser's callback type (progress(done, total, name) after each input), exported
here too for callers of `import_paths`.
"""

from diagnostics.dmarc.parse import Progress
from diagnostics.dmarc.store._enrichcache import SqlEnrichmentCache
from diagnostics.dmarc.store._queries import Moment, period_bound
from diagnostics.dmarc.store._schema import StoreError
from diagnostics.dmarc.store._store import ReportStore
from diagnostics.dmarc.store._summary import FileResult, ImportSummary, Outcome

__all__ = [
    "FileResult",
    "ImportSummary",
    "Moment",
    "Outcome",
    "Progress",
    "ReportStore",
    "SqlEnrichmentCache",
    "StoreError",
    "period_bound",
]
