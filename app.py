"""The deliverability desk: the router. Pages live in pages/, one screen a file; what they share
is the app package, desk/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from desk.configuration import app_config
from desk.database_faults import said_alone, said_in_page
from desk.page_access import visible_pages
from desk.resources import open_store_or_stop
from desk.sign_in_gate import sign_in_gate

# The favicon is the desk's own file: a Material or emoji page_icon makes every visitor's browser
# fetch it from Google's or a CDN's servers (tests/e2e/test_untrusted.py allows no other origin).
ICON = Path(__file__).resolve().parent / "assets" / "desk-icon.svg"
st.set_page_config(page_title="Deliverability desk", page_icon=str(ICON), layout="wide")

PAGES = {
    "": [
        st.Page(
            "pages/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            url_path="overview",
            default=True,
        ),
        st.Page(
            "pages/needs_attention.py",
            title="Needs attention",
            icon=":material/notification_important:",
            url_path="needs-attention",
        ),
    ],
    "Check": [
        st.Page(
            "pages/dns_check.py", title="DNS check", icon=":material/dns:", url_path="dns-check"
        ),
        st.Page(
            "pages/header_analyzer.py",
            title="Header analyzer",
            icon=":material/mark_email_read:",
            url_path="header-analyzer",
        ),
    ],
    "SMTP": [
        st.Page(
            "pages/smtp_settings.py",
            title="SMTP settings",
            icon=":material/settings_ethernet:",
            url_path="smtp-settings",
        ),
        st.Page(
            "pages/test_mail.py",
            title="Test mail",
            icon=":material/forward_to_inbox:",
            url_path="test-mail",
        ),
    ],
    "Reports": [
        st.Page(
            "pages/dmarc_reports.py",
            title="DMARC reports",
            icon=":material/summarize:",
            url_path="dmarc-reports",
        ),
    ],
}

# The configuration first, read once per process (desk.configuration): a malformed variable is
# the only screen. Then sign-in before any page (desk.sign_in_gate); a role sees only the pages it
# can use (desk.page_access). A wrong secret key is said by the pages that use the store
# (store_or_stop), once, not here as well. A database that is down or busy is said here, for the
# gate and every page (desk.database_faults).
URL_PATHS = [p.url_path for group in PAGES.values() for p in group]
app_config(URL_PATHS)
with said_alone(URL_PATHS):
    user = sign_in_gate(open_store_or_stop(warn_key=False), PAGES)
page = st.navigation(visible_pages(PAGES, user))
with said_in_page():
    page.run()
