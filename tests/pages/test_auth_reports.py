"""The DMARC reports page by role: an analyst reads reports but cannot upload, whatever the page
shows (admin.reports refuses); support staff upload, and the audit log names them."""

from __future__ import annotations

from pathlib import Path

import admin
from admin import AuditAction
from diagnostics.dmarc import ReportStore
from tests.pages.conftest import Configure
from tests.pages.test_auth import LOCAL, add, open_app, sign_in, store, titles

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "dmarc"
    / "aggregate"
    / "usssa.com!example.com!1538784000!1538870399.xml"
)

__all__ = ["store"]  # the fixture, shared with test_auth


def test_an_analyst_reads_reports_but_cannot_upload(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    add(store, "ann", "analyst")
    at = sign_in(open_app(), "ann")
    at.switch_page("pages/dmarc_reports.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "DMARC reports" in titles(at)
    [uploader] = at.get("file_uploader")
    assert uploader.proto.disabled
    assert "Your role may read reports but not upload them." in [c.value for c in at.caption]


def test_support_imports_on_the_page_and_the_audit_log_names_them(
    store: admin.Store, configure: Configure
) -> None:
    config = configure(auth=LOCAL)
    add(store, "sam", "support")
    at = sign_in(open_app(), "sam")
    at.switch_page("pages/dmarc_reports.py").run()
    at.file_uploader[0].set_value([(SAMPLE.name, SAMPLE.read_bytes(), "text/xml")]).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]

    entry = store.audit_log(limit=1)[0]
    assert (entry.actor, entry.action) == ("sam", AuditAction.REPORTS_IMPORTED)
    assert entry.after is not None
    assert entry.after["files"] == 1
    reports = ReportStore.from_config(config)
    try:
        assert entry.after["reports_imported"] == len(reports.reports()) == 1
    finally:
        reports.close()
