"""The report mailbox in a real browser: an admin sets it up on the DMARC reports page (the
password typed once, never shown again), presses "Check now" against the suite's real Dovecot and
reads the run's counts and the message that was not a report. The screenshot is left in
test-output/e2e/report-mailbox.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import ui
from tests.e2e.conftest import VIEWPORT, Desk
from tests.support.dovecot import Dovecot
from tests.support.reportmail import gzipped_report, plain_message, report_message

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def page(browser: Browser, desk: Desk) -> Iterator[Page]:
    opened = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    opened.set_default_timeout(ui.WAIT_MS)
    ui.open_desk(opened, desk.url)
    form = opened.locator('[data-testid="stForm"]')
    ui.fill_in_form(form, "Name", desk.admin_name)
    ui.fill_in_form(form, "Password", desk.admin_password)
    with ui.reruns(opened):
        ui.button(opened, "Sign in", scope=form).click()
    expect(ui.sidebar(opened)).to_contain_text(f"Signed in as {desk.admin_name}")
    yield opened
    opened.context.close()


def test_an_admin_sets_up_the_mailbox_and_checks_it_now(
    page: Page, desk: Desk, dovecot: Dovecot
) -> None:
    user, password = dovecot.add_user()
    dovecot.append(
        user, [report_message([gzipped_report(n)]) for n in (901, 902)] + [plain_message()]
    )
    ui.go_to(page, "DMARC reports")
    with ui.reruns(page):
        page.locator('[data-testid="stExpander"]').filter(has_text="Reports by mail").locator(
            "summary"
        ).click()
    form = page.locator('[data-testid="stForm"]').filter(has_text="Set up the report mailbox")
    ui.fill_in_form(form, "IMAP server", "127.0.0.1")
    ui.widget(page, "stNumberInput", "Port", form).locator("input").fill(str(dovecot.port))
    ui.fill_in_form(form, "User name", user)
    ui.fill_in_form(form, "Password", password)
    ui.widget(
        page,
        "stTextArea",
        "Private CA (PEM), only if the server's certificate is signed by one",
        form,
    ).locator("textarea").fill(dovecot.ca_file.read_text())
    with ui.reruns(page):
        ui.button(page, "Save the mailbox", scope=form).click()
    expect(ui.alert(page, "success", "The report mailbox is saved.")).to_be_visible()
    with ui.reruns(page):
        ui.button(page, "Check now").click()
    expect(ui.alert(page, "warning", "3 messages: 2 reports stored")).to_be_visible()
    expect(page.get_by_text("Lunch on Friday?").first).to_be_attached()
    body = page.locator("body").inner_text()
    assert password not in body
    assert "Password saved: set, ends in" in body
    assert dovecot.count(user, "Archive") == 2
    ui.screenshot(page, desk.output, "report-mailbox")
