"""Fixtures of the browser tests: one desk server for the whole run, with real loopback servers
behind it (a nameserver, an aiosmtpd server with a trustme certificate), and Debian's Chromium.

The desk gets an isolated environment: a temporary SQLite database and data folder, a fresh secret
key, DESK_AUTH=local with one admin created by `python -m admin users add`, and DESK_NAMESERVER /
DESK_SMTP_CAFILE pointing at the loopback servers. Screenshots and the server's log go to
test-output/e2e/ at the repository root (gitignored), which is kept after the run to be looked at.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from playwright.sync_api import Browser, sync_playwright

import admin
from diagnostics.secret import Secret
from tests.e2e.desk import ROOT, running_desk
from tests.support.nameserver import LoopbackNameserver
from tests.support.smtpserver import Behaviour, SmtpServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 2400}  # tall: a whole page in one screenshot
OUTPUT = ROOT / "test-output" / "e2e"

DOMAIN = "bluebird.example"
SMTP_HOST = "smtp.sendgrid.net"
# A well-formed SendGrid API key (SG.<22>.<43>), so the only mistake left is the user name.
SENDGRID_KEY = f"SG.{'e2eBrowserTestKeyId'.ljust(22, '0')}.{'e2eBrowserTestSecret'.ljust(43, '0')}"
WRONG_USERNAME = "bluebird-outfitters"
ADMIN_NAME = "desk-admin"

ZONE = {
    # The platform's include only: SendGrid is what the DNS check must add.
    DOMAIN: {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
    f"_dmarc.{DOMAIN}": {"TXT": [f"v=DMARC1; p=none; rua=mailto:dmarc@{DOMAIN}"]},
    "spf.trekmail.net": {"TXT": ["v=spf1 ip4:198.51.100.0/24 -all"]},
    "sendgrid.net": {"TXT": ["v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 ~all"]},
    # SendGrid's real host name, answered with loopback: the Test mail page reaches our aiosmtpd.
    SMTP_HOST: {"A": ["127.0.0.1"]},
}


def pytest_configure(config: pytest.Config) -> None:
    # xdist registers xdist_group itself; without xdist (-p no:xdist) --strict-markers needs this.
    config.addinivalue_line("markers", "xdist_group(name): run the group's tests in one worker")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--dist loadgroup sends the tests of one xdist_group to one worker by a "@group" suffix that
    xdist 3.8 writes to item._nodeid; pytest 9 reads the node id from item._id instead, so without
    this the browser tests were spread over both workers (two desks, two browsers)."""
    if not config.getoption("loadgroup", default=False):
        return  # not an xdist worker with --dist loadgroup
    for item in items:
        marks = list(item.iter_markers("xdist_group"))
        if not marks or "@" in item.nodeid:
            continue  # no group, or xdist already named it (pytest < 9)
        names = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
        )
        grouped = f"{item.nodeid}@{'_'.join(names)}"
        if hasattr(item, "_id"):
            from _pytest.nodeid import NodeId  # pytest >= 9

            item._id = NodeId.parse(grouped)
        else:
            item._nodeid = grouped


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    # Keeps each phase's outcome on the test item, for the screenshot of a failed flow.
    report = yield
    setattr(item, f"e2e_{call.when}", report)
    return report


@dataclass(frozen=True)
class Desk:
    """The running desk and what the flows need to know about its surroundings."""

    url: str
    output: Path
    database_url: str
    secret_key: str
    smtp: SmtpServer
    admin_name: str
    admin_password: str

    def store(self) -> admin.Store:
        """The desk's own database, opened from the test (for setup a flow may need)."""
        return admin.Store(self.database_url, secret_key=Secret(self.secret_key))


def _add_admin(env: dict[str, str], name: str, password: str) -> None:
    """Create the sign-in user the way an operator does: with the admin CLI, password from env."""
    command = [sys.executable, "-m", "admin", "users", "add", name, "--role", "admin"]
    result = subprocess.run(
        [*command, "--password-env", "DESK_E2E_PASSWORD"],
        cwd=ROOT,
        env={**env, "DESK_E2E_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr


@pytest.fixture(scope="session")
def e2e_output() -> Path:
    if OUTPUT.exists():
        shutil.rmtree(OUTPUT)
    OUTPUT.mkdir(parents=True)
    return OUTPUT


@pytest.fixture(scope="session")
def desk(tmp_path_factory: pytest.TempPathFactory, e2e_output: Path) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("desk")
    ca = trustme.CA()
    cafile = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(SMTP_HOST).configure_cert(context)
    # SendGrid's answer to a login that is not `apikey` + key.
    behaviour = Behaviour(
        users={"apikey": SENDGRID_KEY},
        login_refusal="535 Authentication failed: Bad username / password",
    )
    nameserver = LoopbackNameserver(ZONE)
    nameserver.start()
    smtp = SmtpServer(behaviour, starttls=context, hostname=SMTP_HOST).start()
    home = tmp / "home"
    home.mkdir()
    database_url = f"sqlite:///{tmp / 'desk.sqlite'}"
    secret_key = admin.generate_key()
    # Only what the desk needs: nothing of the developer's own DESK_* or DATABASE_URL leaks in.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # no ~/.streamlit of the developer's
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "DESK_DATA_DIR": str(tmp / "data"),
        "DESK_SECRET_KEY": secret_key,
        "DESK_AUTH": "local",
        "DESK_NAMESERVER": nameserver.address,
        "DESK_DNS_TIMEOUT": "2",
        "DESK_SMTP_CAFILE": str(cafile),
        "DESK_SMTP_TIMEOUT": "10",
    }
    password = secrets.token_urlsafe(18)
    try:
        _add_admin(env, ADMIN_NAME, password)
        with running_desk(env, log=e2e_output / "streamlit.log") as url:
            yield Desk(url, e2e_output, database_url, secret_key, smtp, ADMIN_NAME, password)
    finally:
        smtp.stop()
        nameserver.stop()


# Module scope, not session: Playwright's sync API keeps its event loop registered as the main
# thread's running loop while it is started, which makes every asyncio test run after it in the same
# worker fail with "cannot be called from a running event loop". Ending it with the module frees it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (`make browser` installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
