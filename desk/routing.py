"""Every page runs through app.py's router, even in the first session after a (re)start; and a
link from one page to another that works when a page runs on its own too.

Streamlit decides once per server process, when its first session starts, whether the app is an
old-style multipage app: a folder named `pages/` next to the entry script means yes. In that mode the
first session resolves an address against the files of pages/ and runs a file such as
pages/dns_check.py on its own, without app.py and its sign-in gate, until some run calls
st.navigation. A page that finds itself run that way turns the mode off and asks for the run again,
which then goes through app.py like every other.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.pages_manager import PagesManager

from desk.markdown import md


def through_the_router() -> None:
    """Call first on every page: reruns the script through app.py when Streamlit ran this page's
    file directly (its old page-folder mode). Does nothing in any other run, AppTest included."""
    if PagesManager.uses_pages_directory:
        # What st.navigation itself does on its first call; this run ends here, drawing nothing.
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_link(path: str, label: str, url_path: str, icon: str) -> None:
    """st.page_link to a routed page; a plain link when the page runs on its own (AppTest of one
    file), where Streamlit knows no other pages."""
    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(md("[{label}](/{url_path})", label=label, url_path=url_path))


__all__ = ["page_link", "through_the_router"]
