"""DMARC report imports on behalf of a user: the role check and the audit entry around a ReportStore.

    summary = import_reports(store.as_user(dana), dana, report_store, uploads, progress=bar)

`diagnostics.dmarc.ReportStore` is the library notebooks and the CLI use; it knows no users. Anything
that imports for a person (the pages) goes through here, so that the rule "support and admins
upload reports, analysts do not" (admin.access) holds whatever the page shows, and the audit log
says who imported how many files and reports. The entry holds counts only: no file contents and
no file names (a name may say more about a customer than the counts do).

The app offers no way to delete report data; when it does, the delete belongs here too, behind
Permission.DELETE_DATA.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from admin.access import Permission, Principal
from admin.records import AuditAction
from admin.store import Store
from diagnostics.dmarc import FileResult, ImportSummary, Outcome, ReportStore
from diagnostics.dmarc.parse import Source
from diagnostics.dmarc.store import Progress
from diagnostics.wording import plural

log = logging.getLogger(__name__)


def import_reports(
    store: Store,
    who: Principal,
    reports: ReportStore,
    sources: Sequence[Source | FileResult],
    *,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import `sources` into `reports` as `who`, one file at a time, and add one audit entry.

    A `FileResult` among the sources stands for a file the caller refused before reading it (over
    the upload size cap, say): it is counted and reported, not read. `progress(done, total, name)`
    follows each file. Raises PermissionDenied, before anything is read, when `who` may not upload
    reports, or when `store` is bound to another user."""
    acting = store.acting_as(who)
    if not acting.can(Permission.UPLOAD_REPORTS):
        # Audited, not only logged: the page never offers the upload to such a role, so a refusal
        # here means the page was bypassed (a stale page after a role change, a crafted request,
        # a script using the wrong account) and an admin reviewing the audit log should see it,
        # under the user's name, next to their other actions. It needs a signed-in user, so it
        # cannot be used to flood the log anonymously.
        store.audit_event(
            AuditAction.REPORTS_REFUSED,
            f"Refused to import {plural(len(sources), 'file')} of DMARC reports: "
            f"the {acting.role.value} role may not {Permission.UPLOAD_REPORTS.what}.",
            after={"files": len(sources)},
            actor=acting,
        )
        acting.require(Permission.UPLOAD_REPORTS)
    results: list[FileResult] = []
    # What this import touched is refreshed in the support queue (admin.queue): the accounts
    # of the domains it stored reports for are marked, whatever happens.
    started = reports.report_mark()
    try:
        # One call for every file: the store compacts the days they touched once, at the end
        # (diagnostics.dmarc.rollup), and on_result still tells what was stored if it stops midway.
        reports.import_files(sources, progress=progress, on_result=results.append)
    except BaseException as exc:
        # What was stored before the failure stays stored, so it is audited all the same.
        _audit_safely(store, acting, ImportSummary(tuple(results)), len(sources), exc)
        _mark_safely(store, reports, started)
        raise
    summary = ImportSummary(tuple(results))
    _audit(store, acting, summary, len(sources), None)
    mark_imported(store, reports, started)
    return summary


def mark_imported(store: Store, reports: ReportStore, since: int) -> int:
    """Mark for a refresh the support queue's rows of the accounts sending from a domain whose
    reports were stored after `since` (`ReportStore.report_mark()`); how many were marked."""
    return store.queue.mark_stale(domains=reports.domains_since(since))


def _mark_safely(store: Store, reports: ReportStore, since: int) -> None:
    try:
        mark_imported(store, reports, since)
    except Exception:
        log.exception("could not mark the support queue after an interrupted import")


def counts(summary: ImportSummary, files: int) -> dict[str, Any]:
    """What the audit entry keeps of an import: numbers, nothing read from the files."""
    failed = sum(1 for f in summary.files if f.outcome is Outcome.REJECTED)
    return {
        "files": files,
        "reports_imported": summary.imported,
        "records_imported": summary.records,
        "duplicates": summary.duplicates,
        "failed_files": failed,
        "rejected_parts": summary.rejected,
    }


def _audit(
    store: Store,
    who: Principal,
    summary: ImportSummary,
    files: int,
    error: BaseException | None,
) -> None:
    after = counts(summary, files)
    text = (
        f"Imported DMARC reports: {plural(files, 'file')}, "
        f"{plural(after['reports_imported'], 'report')} imported, "
        f"{after['duplicates']:,} already stored, {plural(after['failed_files'], 'file')} failed."
    )
    if error is not None:
        after["interrupted"] = type(error).__name__
        done = plural(len(summary.files), "file")
        text += f" Interrupted after {done} ({type(error).__name__})."
    store.audit_event(AuditAction.REPORTS_IMPORTED, text, after=after, actor=who)


def _audit_safely(
    store: Store, who: Principal, summary: ImportSummary, files: int, error: BaseException
) -> None:
    # The import's own error is the one the caller must see; an audit write failing as well
    # (the database went away) is logged, not raised in its place.
    try:
        _audit(store, who, summary, files, error)
    except Exception:
        log.exception("could not audit an interrupted report import by %s", who.name)


__all__ = ["counts", "import_reports", "mark_imported"]
