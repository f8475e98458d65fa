"""The DMARC reports page for an analyst: reports to read, no upload (pages._auth, admin.access)."""

from __future__ import annotations

import admin
from tests.pages.test_auth import add, open_app, sign_in, store, titles

__all__ = ["store"]  # the fixture, shared with test_auth


def test_an_analyst_reads_reports_but_cannot_upload(store: admin.Store, monkeypatch) -> None:
    monkeypatch.setenv("DESK_AUTH", "local")
    add(store, "ann", "analyst")
    at = sign_in(open_app(), "ann")
    at.switch_page("pages/dmarc_reports.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "DMARC reports" in titles(at)
    [uploader] = at.get("file_uploader")
    assert uploader.proto.disabled
    assert "Your role may read reports but not upload them." in [c.value for c in at.caption]
