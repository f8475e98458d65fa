"""What strangers write stays text in a real browser, and the browser fetches nothing they name
(issue 10, findings 3 and 4).

A desk of this module's own (DESK_AUTH=local, a fresh SQLite database, a loopback nameserver whose
answers carry the attacker's Markdown) is driven in Chromium: reports written by an attacker
(tests/support/hostile.py) are imported through the upload, then the DMARC reports page (domain
picker, sources, diagnoses, a report's records, failure and TLS reports), the Overview (its DNS,
its reports, an SMTP test whose provider reply is hostile) and the Header analyzer (pasted hostile
headers) are visited. Every request the page makes is recorded (page.on("request")): none may leave
for a URL the attacker wrote, nor for any other origin than the desk's. No link or image in the
page may point at the attacker. A look-alike domain (zero-width space) never reaches the picker,
and a right-to-left override shows as its code point. Screenshots go to test-output/e2e/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect

import admin
from diagnostics.secret import Secret
from diagnostics.smtp import Security, SmtpSettings, probe
from tests.e2e import ui
from tests.e2e.conftest import VIEWPORT
from tests.e2e.desk import ROOT, running_desk
from tests.support.hostile import ATTACKER, PAYLOAD, hostile_headers, hostile_report
from tests.support.nameserver import LoopbackNameserver
from tests.support.smtpserver import Behaviour, SmtpServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DOMAIN = "hostile.example"
RLO = "\u202e"
ADMIN = "security-admin"
ACCOUNT = "Hostile Outfitters"
DATA = ROOT / "tests" / "data" / "dmarc"
ZONE = {
    # DNS is anyone's to write: the domain's own records carry the payload.
    DOMAIN: {"TXT": f"v=spf1 include:spf.trekmail.net {PAYLOAD} -all"},
    f"_dmarc.{DOMAIN}": {"TXT": f"v=DMARC1; p=none; rua=mailto:{PAYLOAD}"},
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
}


@dataclass(frozen=True)
class HostileDesk:
    url: str
    output: Path
    database_url: str
    secret_key: str
    password: str
    requests: list[str] = field(default_factory=list)

    def store(self) -> admin.Store:
        return admin.Store(self.database_url, secret_key=Secret(self.secret_key))


def _add_admin(env: dict[str, str], password: str) -> None:
    command = [sys.executable, "-m", "admin", "users", "add", ADMIN, "--role", "admin"]
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


def _refused_login() -> object:
    """A real SMTP test against a server whose refusal repeats the payload."""
    server = SmtpServer(Behaviour(login_refusal=f"535 5.7.8 {PAYLOAD}")).start()
    try:
        settings = SmtpSettings(
            "127.0.0.1", server.port, Security.NONE, "user", "password", f"ceo@{DOMAIN}"
        )
        return probe(settings, timeout=5, tls_verify=False)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hostile_desk(
    tmp_path_factory: pytest.TempPathFactory, e2e_output: Path
) -> Iterator[HostileDesk]:
    tmp = tmp_path_factory.mktemp("hostile-desk")
    (tmp / "home").mkdir()
    nameserver = LoopbackNameserver(ZONE)
    nameserver.start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp / 'desk.sqlite'}",
        "DESK_DATA_DIR": str(tmp / "data"),
        "DESK_SECRET_KEY": admin.generate_key(),
        "DESK_AUTH": "local",
        "DESK_NAMESERVER": nameserver.address,
        "DESK_DNS_TIMEOUT": "1",
    }
    password = secrets.token_urlsafe(18)
    _add_admin(env, password)
    desk = HostileDesk(
        url="",
        output=e2e_output,
        database_url=env["DATABASE_URL"],
        secret_key=env["DESK_SECRET_KEY"],
        password=password,
    )
    # The account the Overview shows: it sends as the hostile domain, its last test was refused.
    with desk.store() as store:
        account = store.create_account(ACCOUNT, "nano")
        settings = SmtpSettings(
            "127.0.0.1", 2525, Security.NONE, "user", "password", f"ceo@{DOMAIN}"
        )
        connection = store.add_connection(account.id, settings, "Relay")
        store.record_probe(account.id, connection.id, _refused_login())
    try:
        with running_desk(env, log=e2e_output / "streamlit-hostile.log") as url:
            yield HostileDesk(url, e2e_output, desk.database_url, desk.secret_key, password)
    finally:
        nameserver.stop()


@pytest.fixture(scope="module")
def app(browser: Browser, hostile_desk: HostileDesk) -> Iterator[Page]:
    """One signed-in browser session; every request it makes is recorded."""
    page = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(ui.WAIT_MS)

    def record(request: Request) -> None:
        hostile_desk.requests.append(request.url)

    page.on("request", record)
    ui.open_desk(page, hostile_desk.url)
    form = page.locator('[data-testid="stForm"]')
    ui.fill_in_form(form, "Name", ADMIN)
    ui.fill_in_form(form, "Password", hostile_desk.password)
    with ui.reruns(page):
        ui.button(page, "Sign in", scope=form).click()
    expect(ui.sidebar(page)).to_contain_text(f"Signed in as {ADMIN}")
    ui.idle(page)
    yield page
    page.context.close()


def _reports(tmp: Path) -> list[Path]:
    """The attacker's files: two aggregate reports (one signed by a right-to-left override), a
    look-alike of the domain, a failure report and a TLS report, all about the hostile domain."""
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    failure = (DATA / "failure" / "dmarc_ruf_report_linkedin.eml").read_bytes()
    failure = failure.replace(
        b"Reported-Domain: example.com", f"Reported-Domain: {DOMAIN}".encode()
    )
    failure = failure.replace(b"Subject:", f"Subject: {PAYLOAD} ".encode(), 1)
    tls = json.loads((DATA / "smtp_tls" / "rfc8460.json").read_bytes())
    tls["organization-name"] = f"{RLO}{PAYLOAD}"
    tls["policies"][0]["policy"]["policy-domain"] = DOMAIN
    files = {
        "hostile.xml": hostile_report(DOMAIN, yesterday, report_id="e2e-hostile"),
        "reversed.xml": hostile_report(
            DOMAIN, yesterday, report_id="e2e-reversed", org_name=f"Receiver {RLO}live"
        ),
        "lookalike.xml": hostile_report(
            "inje\u200bct.example", yesterday, report_id="e2e-lookalike"
        ),
        "failure.eml": failure,
        "tls.json": json.dumps(tls).encode(),
    }
    paths = []
    for name, data in files.items():
        path = tmp / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _nothing_live(page: Page) -> None:
    """No link, image, frame or media of the page points at the attacker."""
    selector = "a[href], img[src], iframe[src], source[src], video[src], audio[src], link[href]"
    pointing = page.evaluate(
        """([selector, attacker]) => [...document.querySelectorAll(selector)]
            .map((e) => e.getAttribute('href') || e.getAttribute('src'))
            .filter((u) => u && u.includes(attacker))""",
        [selector, ATTACKER],
    )
    assert pointing == []


def _only_the_desk(desk: HostileDesk) -> None:
    """Every request so far went to the desk itself (or stayed in the page: data:, blob:)."""
    strangers = [
        url
        for url in desk.requests
        if not url.startswith((desk.url + "/", "data:", "blob:")) and url != desk.url
    ]
    assert strangers == []
    assert desk.requests, "no request was recorded at all"


def test_dmarc_reports_page_fetches_nothing_the_reports_name(
    app: Page, hostile_desk: HostileDesk, tmp_path: Path
) -> None:
    files = _reports(tmp_path)
    ui.go_to(app, "DMARC reports")
    app.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(files)
    expect(app.locator('[data-testid="stFileChip"]')).to_have_count(len(files))
    ui.idle(app)
    app.get_by_role("button", name="Import", exact=True).click()
    summary = ui.alert(app, "warning", "Import:")  # the look-alike is refused: a warning
    expect(summary).to_be_visible()
    lines = app.locator('[data-testid="stExpander"]', has_text="Import summary, file by file")
    expect(lines).to_contain_text("U+200B ZERO WIDTH SPACE")
    ui.idle(app)

    # The picker lists the domain once; the look-alike never.
    picker = ui.widget(app, "stSelectbox", "Domain")
    picker.click()
    options = app.get_by_role("option").all_inner_texts()
    app.keyboard.press("Escape")
    assert [o for o in options if o.startswith(DOMAIN)], options
    assert not [o for o in options if "inject" in o or "inje" in o], options
    expect(ui.selected(app, "Domain")).to_have_value(f"{DOMAIN} (94 messages)")
    expect(app.get_by_role("heading", name="What to fix")).to_be_visible()
    ui.idle(app)
    ui.screenshot(app, hostile_desk.output, "untrusted-01-dmarc-sources")
    _nothing_live(app)

    app.get_by_role("tab", name="Reports", exact=True).click()
    for label in ("e2e-hostile", "e2e-reversed"):
        box = ui.widget(app, "stSelectbox", "Report")
        box.click()
        with ui.reruns(app):
            app.get_by_role("option").filter(has_text=label).first.click()
        caption = app.locator('[data-testid="stCaptionContainer"]').filter(has_text="From ")
        expect(caption.first).to_be_visible()
        if label == "e2e-hostile":
            # The org name shows as the text it is: brackets, backticks and all.
            expect(caption.first).to_contain_text(f"![x](http://{ATTACKER}/image.png)")
        else:
            expect(caption.first).to_contain_text("Receiver <U+202E>live")
        ui.screenshot(app, hostile_desk.output, f"untrusted-02-report-{label}")
        _nothing_live(app)

    for tab in ("Failure reports", "TLS reports"):
        app.get_by_role("tab", name=tab, exact=True).click()
        ui.idle(app)
        ui.screenshot(app, hostile_desk.output, f"untrusted-03-{tab.split()[0].lower()}")
        _nothing_live(app)
    _only_the_desk(hostile_desk)


def test_overview_fetches_nothing_dns_or_a_provider_names(
    app: Page, hostile_desk: HostileDesk
) -> None:
    ui.go_to(app, "Overview")
    # The domain is the account's diagnosis's (no text box): its DNS is checked at once.
    expect(app.get_by_role("heading", name=f"DNS of {DOMAIN}")).to_be_visible()
    expect(app.get_by_role("heading", name="From the DMARC reports")).to_be_visible()
    ui.idle(app)
    # DNS's words (a finding's term) and the provider's refusal are on the page, as text.
    expect(ui.alert(app, "error", f"![x](http://{ATTACKER}/image.png)")).not_to_have_count(0)
    ui.screenshot(app, hostile_desk.output, "untrusted-04-overview")
    _nothing_live(app)
    _only_the_desk(hostile_desk)


def test_header_analyzer_fetches_nothing_the_headers_name(
    app: Page, hostile_desk: HostileDesk
) -> None:
    ui.go_to(app, "Header analyzer")
    box = ui.widget(app, "stTextArea", "Headers").locator("textarea")
    box.fill(hostile_headers().replace("Evil ", f"Evil {RLO}"))
    with ui.reruns(app):
        ui.button(app, "Analyze").click()
    caption = app.locator('[data-testid="stCaptionContainer"]').filter(has_text="judged by")
    # The authserv-id's backticks did not end the code span it is shown in.
    expect(caption).to_contain_text(f"mx.receiver.example`![x](http://{ATTACKER}/authserv.png)`")
    ui.screenshot(app, hostile_desk.output, "untrusted-05-header-analyzer")
    _nothing_live(app)
    _only_the_desk(hostile_desk)
