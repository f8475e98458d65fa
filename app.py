"""The deliverability desk: the router. Pages live in pages/, one screen a file."""

from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="Deliverability desk", page_icon=":material/outgoing_mail:", layout="wide"
)

PAGES = {
    "Check": [
        st.Page(
            "pages/dns_check.py", title="DNS check", icon=":material/dns:", url_path="dns-check"
        ),
    ],
}

st.navigation(PAGES).run()
