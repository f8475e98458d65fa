"""The Overview's domain health in a real browser: a tile per part, named as people read them, with
MX TLS said to be not checked (the desk runs no network checks unless DESK_HEALTH_NETWORK is on,
so the browser tests never leave loopback). Leaves a screenshot in test-output/e2e/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import ui
from tests.e2e.conftest import Desk

# The signed-in browser session and the account with its SendGrid connection, as the flows make them.
from tests.e2e.test_flows import app as app
from tests.e2e.test_flows import sendgrid_connection as sendgrid_connection

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LABELS = ["SPF", "DKIM", "DMARC", "MX", "MTA-STS", "TLS reporting", "BIMI", "MX TLS", "DNSSEC"]


@pytest.mark.usefixtures("sendgrid_connection")
def test_every_health_part_has_its_tile(app: Page, desk: Desk) -> None:
    page = app
    ui.go_to(page, "Overview")
    tabs = page.locator('[data-testid="stTab"]')
    expect(tabs).to_have_count(len(LABELS))
    names = [text.split(" (")[0] for text in tabs.all_inner_texts()]
    assert names == LABELS
    expect(page.get_by_text("Not checked")).to_be_visible()
    expect(page.get_by_text("not tested: the network checks are off")).to_be_visible()
    ui.screenshot(page, desk.output, "overview-health-tiles")

    # The optional parts the domain has not set up (MTA-STS, TLS reporting, BIMI) say so, not a
    # green OK.
    expect(page.get_by_text("Not set up")).to_have_count(3)
    # The domain has no MX host: MTA-STS has nothing to protect, and no policy file is offered
    # to copy (one made up from mx.<domain> would look real).
    page.locator('[data-testid="stTab"]', has_text="MTA-STS").click()
    expect(page.get_by_text("No MTA-STS policy", exact=True)).to_be_visible()
    expect(page.get_by_text("it receives no mail", exact=False)).to_be_visible()
    expect(page.locator('[data-testid="stCode"]', has_text="version: STSv1")).to_have_count(0)
    ui.screenshot(page, desk.output, "overview-health-mta-sts")
