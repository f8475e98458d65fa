"""A desk reachable from the network asks who you are: a real `streamlit run app.py` listening on
every interface (`--server.address=0.0.0.0`), reached by the browser on 127.0.0.1 as anyone on the
network would reach it, never runs without sign-in (desk/sign_in_gate.py, `bound_locally`).

- A fresh desk (SQLite, no users, no DESK_AUTH) shows no page and no "local admin": it asks for a
  sign-in, and says the first admin is created on the server, not by the first visitor.
- DESK_AUTH=none on that address is refused with a screen that says why.
- A plain `streamlit run app.py` (no --server.address) listens on loopback only, as the
  repository's .streamlit/config.toml says, and only then needs no sign-in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import admin
from tests.e2e import ui
from tests.e2e.conftest import VIEWPORT
from tests.e2e.desk import running_desk

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EVERY_INTERFACE = "0.0.0.0"  # the point of these tests: a desk open to the network
LOCAL_ADMIN = "local admin"


def _environment(tmp: Path, auth: str | None) -> dict[str, str]:
    """A fresh desk of its own: an empty SQLite database (no users), its own key and home."""
    (tmp / "home").mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "home"),  # no ~/.streamlit of the developer's
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp / 'desk.sqlite'}",
        "DESK_DATA_DIR": str(tmp / "data"),
        "DESK_SECRET_KEY": admin.generate_key(),
        "DESK_NAMESERVER": "127.0.0.1:9",  # nothing answers: no page may reach public DNS
        "DESK_DNS_TIMEOUT": "1",
    }
    if auth is not None:
        env["DESK_AUTH"] = auth
    return env


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    opened = context.new_page()
    opened.set_default_timeout(ui.WAIT_MS)
    try:
        yield opened
    finally:
        context.close()


def _visit(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    ui.idle(page)


def _nav_links(page: Page) -> list[str]:
    return page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()


def _listening(port: int) -> list[str]:
    """The local addresses of the sockets listening on `port` (IPv4 and IPv6), from /proc."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


WILDCARD_HEX = {"00000000", "00000000000000000000000000000000"}  # 0.0.0.0 and ::
LOOPBACK_HEX = {
    "0100007F",  # 127.0.0.1, as /proc/net/tcp writes it (little-endian)
    "00000000000000000000000001000000",  # ::1, in /proc/net/tcp6's word order
}


def _shows_no_desk(page: Page) -> None:
    """Nothing of the desk itself: no navigation, no page title, no local admin."""
    assert _nav_links(page) == []
    expect(page.get_by_role("heading", name="Overview", level=1)).to_have_count(0)
    expect(page.get_by_text(LOCAL_ADMIN)).to_have_count(0)


# "": the address set to nothing, as Streamlit's own default is (every interface), whatever the
# repository's config.toml says.
@pytest.mark.parametrize("address", [EVERY_INTERFACE, ""], ids=["wildcard", "unset"])
def test_a_fresh_desk_open_to_the_network_asks_for_sign_in(
    page: Page, tmp_path_factory: pytest.TempPathFactory, e2e_output: Path, address: str
) -> None:
    env = _environment(tmp_path_factory.mktemp("network-desk"), auth=None)
    log = e2e_output / f"streamlit-network-{address or 'unset'}.log"
    with running_desk(env, log=log, address=address) as url:
        assert set(_listening(_port(url))) <= WILDCARD_HEX  # the whole network
        _visit(page, url)
        expect(page.get_by_role("heading", name="Deliverability desk", level=1)).to_be_visible()
        expect(ui.alert(page, "warning", "No users yet")).to_contain_text(
            "python -m admin users add"
        )
        # The first visitor from the network may not make themselves admin.
        expect(page.get_by_role("heading", name="Create the first admin")).to_have_count(0)
        expect(page.locator('[data-testid="stForm"]')).to_have_count(0)
        _shows_no_desk(page)
        ui.screenshot(page, e2e_output, f"open-desk-1-sign-in-{address or 'unset'}")

        _visit(page, f"{url}/smtp-settings")  # a page's own address: the same screen
        expect(ui.alert(page, "warning", "No users yet")).to_be_visible()
        expect(page.get_by_role("heading", name="SMTP settings", level=1)).to_have_count(0)
        _shows_no_desk(page)


def test_no_sign_in_on_a_desk_open_to_the_network_is_refused(
    page: Page, tmp_path_factory: pytest.TempPathFactory, e2e_output: Path
) -> None:
    """On the wildcard address; an unset one says "every interface" (tests/pages/test_auth.py)."""
    env = _environment(tmp_path_factory.mktemp("network-desk-none"), auth="none")
    log = e2e_output / "streamlit-network-none.log"
    with running_desk(env, log=log, address=EVERY_INTERFACE) as url:
        _visit(page, url)
        refusal = ui.alert(page, "error", "DESK_AUTH=none")
        expect(refusal).to_contain_text("--server.address localhost")
        expect(refusal).to_contain_text(f"listens on {EVERY_INTERFACE}")
        _shows_no_desk(page)
        ui.screenshot(page, e2e_output, "open-desk-2-none-refused")


def test_a_plain_streamlit_run_listens_on_loopback_only_and_then_needs_no_sign_in(
    page: Page, tmp_path_factory: pytest.TempPathFactory, e2e_output: Path
) -> None:
    env = _environment(tmp_path_factory.mktemp("plain-desk"), auth=None)
    log = e2e_output / "streamlit-plain.log"
    with running_desk(env, log=log, address=None) as url:
        listening = _listening(_port(url))
        assert listening, f"nothing listens on {url}"
        assert set(listening) <= LOOPBACK_HEX, listening
        _visit(page, url)
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        expect(ui.sidebar(page)).to_contain_text(LOCAL_ADMIN)
