"""A real `streamlit run app.py` started with malformed settings in its environment: the desk reads
its configuration once, at its first run, and says every bad variable on a screen of its own,
whatever the address; no traceback, no page on a default put in its place, and the server keeps
running (desk/configuration.py)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import ui
from tests.e2e.desk import fresh_environment, running_desk
from tests.e2e.test_open_desk import page

__all__ = ["page"]  # the fixture: a fresh browser context for each test
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _says_what_to_fix(page: Page) -> None:
    said = ui.alert(page, "error", "configuration needs fixing")
    expect(said).to_contain_text('DESK_DNS_TIMEOUT="abc" is not a number of seconds above 0')
    expect(said).to_contain_text(
        'DESK_MAX_UPLOAD_MB="lots" is not a whole number of megabytes (1 or more)'
    )
    expect(page.get_by_role("heading", name="Deliverability desk", level=1)).to_be_visible()
    # Nothing else: no traceback, no page, no navigation.
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_text("ValueError")).to_have_count(0)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNavLink"]')).to_have_count(0)


def test_malformed_settings_are_said_at_start_up_and_the_server_keeps_running(
    page: Page, tmp_path_factory: pytest.TempPathFactory, e2e_output: Path
) -> None:
    env = fresh_environment(  # on loopback, no users: no sign-in stands before the pages
        tmp_path_factory.mktemp("misconfigured-desk"),
        DESK_DNS_TIMEOUT="abc",  # raised ValueError on every page that asked DNS
        DESK_MAX_UPLOAD_MB="lots",  # was silently 50
    )
    with running_desk(env, log=e2e_output / "streamlit-misconfigured.log") as url:
        ui.open_desk(page, url)
        ui.idle(page)
        _says_what_to_fix(page)
        ui.screenshot(page, e2e_output, "configuration-1-what-to-fix")

        page.goto(f"{url}/dns-check", wait_until="domcontentloaded")  # a page's own address
        ui.idle(page)
        _says_what_to_fix(page)
        expect(page.get_by_role("heading", name="DNS check", level=1)).to_have_count(0)

        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as health:
            assert health.status == 200  # still serving: fix the variables and restart it
