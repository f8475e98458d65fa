"""desk.uploads: how much one import takes, and the import as the user the admin store acts for,
over a real (temporary SQLite) report store; the page itself is tests/pages/test_dmarc_reports.py."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import admin
from admin import AuditAction, Principal, Role
from desk.import_slot import import_slot
from desk.uploads import UploadLimits, import_uploads, too_many, upload_limits
from diagnostics.config import ReportsConfig
from diagnostics.dmarc import Outcome, ReportStore
from tests.pages.test_auth_reports import SAMPLE


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[ReportStore, admin.Store]]:
    """The report store and the admin store on one fresh SQLite file, as the app opens them."""
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    reports = ReportStore(url)
    desk = admin.Store(url, secret_key=admin.generate_key())
    yield reports, desk
    desk.close()
    reports.close()


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_the_limits_are_the_configurations() -> None:
    # How DESK_MAX_UPLOAD_MB and DESK_MAX_UPLOAD_FILES are read (and a typo refused) is
    # tests/diagnostics/test_config.py's.
    assert upload_limits(ReportsConfig()) == UploadLimits(50, 500) == UploadLimits()
    assert upload_limits(ReportsConfig(max_upload_mb=5, max_upload_files=2)) == UploadLimits(5, 2)
    assert UploadLimits(5, 2).max_bytes == 5 * 1024 * 1024


def test_too_many_files_are_refused_in_plain_words() -> None:
    assert too_many(2, UploadLimits(max_files=2)) is None
    refusal = too_many(1234, UploadLimits(max_files=2))
    assert refusal is not None
    assert refusal.startswith("1,234 files chosen: one import takes at most 2.")
    assert "DESK_MAX_UPLOAD_FILES" in refusal


def test_import_reports_progress_and_rejects_a_file_over_the_size_cap(
    stores: tuple[ReportStore, admin.Store],
) -> None:
    reports, desk = stores
    big = named(b"<feedback>" + b" " * (1024 * 1024) + b"</feedback>", "huge.xml")
    small = named(SAMPLE.read_bytes(), SAMPLE.name)
    seen: list[tuple[int, int, str]] = []
    summary = import_uploads(
        reports,
        [big, small],
        UploadLimits(max_mb=1),
        admin_store=desk,  # acting as "system", the trusted local caller
        progress=lambda *a: seen.append(a),
    )
    assert [f.outcome for f in summary.files] == [Outcome.REJECTED, Outcome.IMPORTED]
    assert "1 MB upload limit" in summary.files[0].line
    assert seen == [(1, 2, "huge.xml"), (2, 2, SAMPLE.name)]
    assert len(reports.reports()) == 1
    [entry] = desk.audit_log(limit=1)
    assert (entry.actor, entry.action) == ("system", AuditAction.REPORTS_IMPORTED)


def test_an_analyst_forcing_an_import_gets_a_plain_refusal_and_nothing_is_stored(
    stores: tuple[ReportStore, admin.Store],
) -> None:
    # What the page would do if its disabled uploader were bypassed: the import goes through
    # admin/, which refuses; the page gets a summary in plain words, not a traceback.
    reports, desk = stores
    ann = Principal("ann", Role.ANALYST)
    upload = named(SAMPLE.read_bytes(), SAMPLE.name)
    summary = import_uploads(reports, [upload], UploadLimits(), admin_store=desk.as_user(ann))
    assert reports.reports().empty
    [result] = summary.files
    assert result.outcome is Outcome.REJECTED
    assert result.reasons == (
        "ann (analyst) may not upload DMARC reports: ask an admin if you need to.",
    )
    entry = desk.audit_log(limit=1)[0]
    assert (entry.actor, entry.action) == ("ann", AuditAction.REPORTS_REFUSED)


def test_one_import_at_a_time_and_the_waiting_one_is_told(
    stores: tuple[ReportStore, admin.Store],
) -> None:
    reports, desk = stores
    told = threading.Event()
    results: list[object] = []

    def second() -> None:
        upload = named(SAMPLE.read_bytes(), SAMPLE.name)
        results.append(
            import_uploads(reports, [upload], UploadLimits(), admin_store=desk, on_wait=told.set)
        )

    with import_slot():  # another session's import, still running
        worker = threading.Thread(target=second)
        worker.start()
        assert told.wait(5)  # told at once that it waits
        worker.join(0.2)
        assert worker.is_alive()  # and it does wait
        assert reports.reports().empty  # while reading goes on as usual
    worker.join(10)
    assert not worker.is_alive()
    [summary] = results
    assert [f.outcome for f in summary.files] == [Outcome.IMPORTED]  # type: ignore[attr-defined]
