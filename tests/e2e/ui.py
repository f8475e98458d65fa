"""How a person drives a Streamlit page, in Playwright terms: find a widget by its label, wait for the
script run to end, move between pages through the sidebar, keep a screenshot.

Streamlit marks its root element with data-test-script-state ("running" while the script runs).
Right after an action the state may still read "notRunning" for a moment before the rerun starts,
so an action that reruns the script is wrapped in `reruns(page)`, which watches the attribute
change and returns once a run has ended; other waits look for the text the flow expects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
WAIT_MS = 20_000
RERUN_SEEN_MS = 5_000

# Every `expect(...)` waits as long as the page's other waits: its own default (5 s) is shorter than
# an import or a DNS check takes on two loaded cores, and such a test then failed now and then.
expect.set_options(timeout=WAIT_MS)


# Counts the script runs that end from now on (a change of the attribute away from "running").
_WATCH = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (window.__deskWatch) window.__deskWatch.disconnect();
  window.__deskRunsEnded = 0;
  window.__deskWatch = new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.oldValue === 'running') window.__deskRunsEnded += 1;
    }
  });
  window.__deskWatch.observe(app, {attributeFilter: ['data-test-script-state'], attributeOldValue: true});
}"""
_ENDED = """() => window.__deskRunsEnded > 0 &&
  document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state') === 'notRunning'"""


@contextlib.contextmanager
def reruns(page: Page, timeout: float = WAIT_MS) -> Iterator[None]:
    """Around an action that reruns the script: returns once that run has ended. A run so short
    that the browser never drew the "running" state is not seen; after RERUN_SEEN_MS the page is
    taken as it is once idle, and the flow's own expectations say whether the action worked."""
    page.evaluate(_WATCH)
    yield
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(_ENDED, timeout=RERUN_SEEN_MS)
    idle(page, timeout)


def idle(page: Page, timeout: float = WAIT_MS) -> None:
    """Wait until the script run (if any) has ended and no element is still stale."""
    page.locator(IDLE).wait_for(timeout=timeout)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=timeout)


def open_desk(page: Page, url: str) -> None:
    """Open the root URL. (A page's own address works too, except as the server's very first
    visit while the pages live in pages/: tests/e2e/test_links.py.)"""
    page.goto(url, wait_until="domcontentloaded")
    page.locator(IDLE).wait_for(timeout=WAIT_MS)


def go_to(page: Page, title: str) -> None:
    """Follow the sidebar link to a page and wait for its title."""
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=WAIT_MS)
    idle(page)


def widget(page: Page, testid: str, label: str, scope: Locator | None = None) -> Locator:
    """The Streamlit widget of that kind whose label reads exactly `label`."""
    root = scope if scope is not None else page.locator("body")
    label_node = page.locator('[data-testid="stWidgetLabel"]').get_by_text(label, exact=True)
    return root.locator(f'[data-testid="{testid}"]').filter(has=label_node).first


def fill(page: Page, label: str, value: str, scope: Locator | None = None) -> None:
    """Type a new value into a text input outside a form: Enter commits it and the script reruns.
    (Not Tab: from a password field it moves to the field's own show-password button and the
    value is not committed.)"""
    box = widget(page, "stTextInput", label, scope).locator("input")
    box.fill(value)
    with reruns(page):
        box.press("Enter")


def fill_in_form(form: Locator, label: str, value: str) -> None:
    """Type into a text input of a form: nothing runs until the form is submitted."""
    widget(form.page, "stTextInput", label, form).locator("input").fill(value)


def fill_number(page: Page, label: str, value: int, scope: Locator | None = None) -> None:
    box = widget(page, "stNumberInput", label, scope).locator("input")
    box.fill(str(value))
    with reruns(page):
        box.press("Enter")


def choose(page: Page, label: str, option: str, scope: Locator | None = None) -> None:
    """Pick another option in a selectbox (the script reruns)."""
    widget(page, "stSelectbox", label, scope).click()
    with reruns(page):
        page.get_by_role("option", name=option, exact=True).click()


def choose_many(page: Page, label: str, options: list[str]) -> None:
    """Pick each of `options` in a multiselect (typed first: a long list is drawn only in part)."""
    box = widget(page, "stMultiSelect", label)
    for option in options:
        box.locator("input").fill(option)
        page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    for option in options:
        expect(box).to_contain_text(option)


def selected(page: Page, label: str, scope: Locator | None = None) -> Locator:
    """A selectbox's input, whose value is the chosen option's text (for expect().to_have_value)."""
    root = scope if scope is not None else page.locator("body")
    return root.get_by_role("combobox", name=label, exact=True)


def button(page: Page, text: str, scope: Locator | None = None) -> Locator:
    """A button by its words (a Material icon's ligature may come first in its text)."""
    root = scope if scope is not None else page.locator("body")
    return root.locator("button").filter(has_text=text).first


def alert(page: Page, kind: str, text: str) -> Locator:
    """The st.error / st.warning / st.info / st.success box that contains `text`."""
    return page.locator(f'[data-testid="stAlertContent{kind.capitalize()}"]').filter(has_text=text)


def card(page: Page, text: str) -> Locator:
    """The innermost block that contains `text` (a bordered card; its outer blocks come first)."""
    return page.locator('[data-testid="stVerticalBlock"]').filter(has_text=text).last


def sidebar(page: Page) -> Locator:
    return page.locator('[data-testid="stSidebar"]')


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """Keep what the person sees now, after the run has ended."""
    idle(page)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
