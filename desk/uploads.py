"""Report uploads on a page: how many files and how large one import may take (DESK_MAX_UPLOAD_MB,
DESK_MAX_UPLOAD_FILES, the configuration's `reports` section), and the import itself, as the signed-in user (admin.reports checks the role
and writes the audit entry). The parser's own caps apply inside each file. No Streamlit here: the
page hands in the files and the admin store it acts through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from admin import PermissionDenied, Store
from admin.reports import import_reports
from desk.import_slot import import_slot
from diagnostics.config import ReportsConfig
from diagnostics.dmarc import FileResult, ImportSummary, ReportStore

MAX_MB_VARIABLE = "DESK_MAX_UPLOAD_MB"
MAX_FILES_VARIABLE = "DESK_MAX_UPLOAD_FILES"

# progress(done, total, name): how far an import (or a look-up) has come, for a progress bar.
_Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How much one import may take: each file at most `max_mb` megabytes, `max_files` at once."""

    max_mb: int = ReportsConfig().max_upload_mb
    max_files: int = ReportsConfig().max_upload_files

    @property
    def max_bytes(self) -> int:
        return self.max_mb * 1024 * 1024


def upload_limits(reports: ReportsConfig) -> UploadLimits:
    """The caps the configuration sets (DESK_MAX_UPLOAD_MB and DESK_MAX_UPLOAD_FILES)."""
    return UploadLimits(reports.max_upload_mb, reports.max_upload_files)


def too_many(count: int, limits: UploadLimits) -> str | None:
    """The plain refusal when `count` files are more than one import takes, else None."""
    if count <= limits.max_files:
        return None
    return (
        f"{count:,} files chosen: one import takes at most {limits.max_files:,}. "
        f"Import them in parts (the limit is the setting {MAX_FILES_VARIABLE})."
    )


def _size(upload: Any) -> int:
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        return size
    if isinstance(upload, bytes):
        return len(upload)
    return len(upload.getvalue())


def import_uploads(
    store: ReportStore,
    uploads: Sequence[Any],
    limits: UploadLimits,
    *,
    admin_store: Store,
    progress: _Progress | None = None,
    on_wait: Callable[[], None] | None = None,
) -> ImportSummary:
    """Import uploaded files (Streamlit uploads, or anything `ReportStore.import_files` takes) one
    at a time, as the user `admin_store` is bound to (a page's `desk.resources.store_or_stop()`):
    admin.reports checks their role and writes the audit entry. A file over the size cap is
    rejected with the reason, without being read; a role that may not upload gets every file
    rejected with the refusal in plain words, never a traceback. One import runs at a time on the
    server (desk.import_slot); `on_wait()` is called when this one has to wait for another."""
    items: list[Any] = []
    for done, upload in enumerate(uploads, start=1):
        name = str(getattr(upload, "name", f"upload {done}"))
        if _size(upload) > limits.max_bytes:
            reason = f"larger than the {limits.max_mb} MB upload limit ({MAX_MB_VARIABLE})"
            items.append(FileResult(source=name, rejected=1, reasons=(reason,)))
        else:
            items.append(upload)
    try:
        with import_slot(on_wait):
            return import_reports(
                admin_store, admin_store.principal, store, items, progress=progress
            )
    except PermissionDenied as exc:
        refused = [
            FileResult(
                source=str(getattr(u, "name", f"upload {n}")), rejected=1, reasons=(str(exc),)
            )
            for n, u in enumerate(uploads, start=1)
        ]
        return ImportSummary(tuple(refused))


__all__ = [
    "MAX_FILES_VARIABLE",
    "MAX_MB_VARIABLE",
    "UploadLimits",
    "import_uploads",
    "too_many",
    "upload_limits",
]
