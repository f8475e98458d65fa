"""Every page renders without an exception on its first run (streamlit-app-action's smoke test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_"))


def test_every_page_is_routed():
    router = (ROOT / "app.py").read_text()
    for page in PAGES:
        assert f'"pages/{page.name}"' in router, f"{page.name} is not in app.py's navigation"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_renders(page):
    # The configuration is tests/pages/conftest.py's: a fresh database, its key file beside it.
    at = AppTest.from_file(str(page), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page.name} shows no title"


def test_router_runs_the_default_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
