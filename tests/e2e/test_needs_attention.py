"""The Needs attention page in a real browser: the ranked queue with its chart and alerts, as an
admin sees it, and a link with ?account=ID opening that account's Overview. The accounts are
made in the desk's database; the page's own button diagnoses them, and the alert run opens their
alerts. Screenshots in test-output/e2e/ (and /work/shots/queue/ when it
exists, for the lead to look at)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from admin.sample import AWS_EXAMPLE_ACCESS_KEY_ID, AWS_EXAMPLE_SECRET_KEY
from admin.troubles import TroubleKind
from diagnostics.smtp.settings import Security, SmtpSettings
from tests.e2e import ui
from tests.e2e.conftest import SENDGRID_KEY, VIEWPORT, Desk

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SHOTS = Path("/work/shots/queue")
AGENCY = "Queue Harbor & Pine <b>Agency</b>"


@pytest.fixture(scope="module")
def queued(desk: Desk) -> dict[str, int]:
    """Three accounts in trouble, as support meets them: a Nano account with no connection
    (paused), SES set up with the IAM secret key, SendGrid with a user name that is not apikey.
    The page's own "check again" diagnoses them (admin.queue_refresh, the loopback DNS)."""
    with desk.store() as store:
        paused = store.create_account("Queue Cedar Studio", "nano")
        lumen = store.create_account("Queue Lumen Fitness", "starter")
        store.add_connection(
            lumen.id,
            SmtpSettings(
                "email-smtp.us-east-1.amazonaws.com",
                465,
                Security.TLS,
                username=AWS_EXAMPLE_ACCESS_KEY_ID,
                password=AWS_EXAMPLE_SECRET_KEY,
                from_address="classes@lumen.example",
            ),
            label="Amazon SES",
        )
        agency = store.create_account(AGENCY, "agency")
        store.add_connection(
            agency.id,
            SmtpSettings(
                "smtp.sendgrid.net",
                587,
                Security.STARTTLS,
                username="harbor-and-pine",
                password=SENDGRID_KEY,
                from_address="hello@harbor.example",
            ),
            label="SendGrid",
        )
    return {"paused": paused.id, "lumen": lumen.id, "agency": agency.id}


def _signed_in(browser: Browser, desk: Desk, url: str) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(ui.WAIT_MS)
    page.goto(url, wait_until="domcontentloaded")
    ui.idle(page)
    # A page's address before sign-in: Streamlit says it knows no such page yet (the pages are
    # the signed-in user's, tests/e2e/test_links.py); closed, the sign-in form is there.
    dialog = page.get_by_role("dialog")
    if dialog.count():
        dialog.get_by_role("button", name="Close").click()
    form = page.locator('[data-testid="stForm"]')
    ui.fill_in_form(form, "Name", desk.admin_name)
    ui.fill_in_form(form, "Password", desk.admin_password)
    with ui.reruns(page):
        ui.button(page, "Sign in", scope=form).click()
    expect(ui.sidebar(page)).to_contain_text(f"Signed in as {desk.admin_name}")
    return page


@pytest.fixture(scope="module")
def app(browser: Browser, desk: Desk) -> Iterator[Page]:
    page = _signed_in(browser, desk, desk.url)
    yield page
    page.context.close()


def _keep(shot: Path) -> None:
    if SHOTS.parent.exists():
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)


def test_the_queue_ranked_with_its_chart_and_alerts(
    app: Page, desk: Desk, queued: dict[str, int]
) -> None:
    ui.go_to(app, "Needs attention")
    with ui.reruns(app):
        ui.button(app, "changed accounts again").click()
    expect(ui.button(app, "changed accounts again")).to_have_count(0)
    with desk.store() as store:
        entries = {e.account_id: e for e in store.queue.entries()}
        store.alerts.run()
    assert entries[queued["paused"]].kinds[0] is TroubleKind.NANO_PAUSED
    assert TroubleKind.CONNECTION_LINT in entries[queued["lumen"]].kinds
    assert TroubleKind.CONNECTION_LINT in entries[queued["agency"]].kinds
    # The alerts the run opened appear at the page's next run.
    ui.go_to(app, "DNS check")
    ui.go_to(app, "Needs attention")
    metrics = app.locator('[data-testid="stMetric"]')
    expect(metrics.first).to_contain_text("Need attention")
    expect(app.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    expect(app.get_by_role("tab", name="Active", exact=False)).to_be_visible()
    expect(app.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
    # The account name with HTML in it is data in a grid cell: no <b> element is made of it.
    expect(app.locator("b", has_text="Agency")).to_have_count(0)
    _keep(ui.screenshot(app, desk.output, "needs-attention"))


def test_a_link_opens_that_accounts_overview(
    browser: Browser, desk: Desk, queued: dict[str, int]
) -> None:
    """The Open column's address, pasted into a new tab: sign in there, and that account's
    Overview is shown."""
    account = queued["lumen"]
    page = _signed_in(browser, desk, f"{desk.url}/overview?account={account}")
    try:
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        expect(ui.selected(page, "Account", scope=ui.sidebar(page))).to_have_value(
            "Queue Lumen Fitness (Starter)"
        )
        _keep(ui.screenshot(page, desk.output, "needs-attention-link-overview"))
    finally:
        page.context.close()
