"""Which pages a role may see, and the navigation a signed-in user gets: the pages their role cannot
use are left out, and a link to one explains itself instead of Streamlit's "Page not found".
The store refuses the same actions (admin.access), so this only spares a user pages they cannot use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from admin import Permission, Principal
from desk.markdown import md

# What a role needs to see a page, by the page's url_path; pages not listed are for every role.
PAGE_PERMISSIONS: dict[str, Permission] = {
    "smtp-settings": Permission.VIEW_CONNECTIONS,
    "test-mail": Permission.RUN_PROBES,
}


def may_see(user: Principal, url_path: str) -> bool:
    """True when `user`'s role may use the page at `url_path`."""
    needed = PAGE_PERMISSIONS.get(url_path)
    return needed is None or user.can(needed)


def visible_pages(
    pages: Mapping[str, Sequence[StreamlitPage]], user: Principal
) -> dict[str, list[StreamlitPage]]:
    """The navigation for `user`: pages their role cannot use left out, empty sections too.

    In their place, hidden stand-ins at the same addresses that only say so: a link to such a page
    (pasted by a colleague, or opened before signing in) then explains itself instead of showing
    Streamlit's "Page not found". The page itself is never part of this user's navigation."""
    shown: dict[str, list[StreamlitPage]] = {}
    refused: list[StreamlitPage] = []
    for section, section_pages in pages.items():
        allowed = [p for p in section_pages if may_see(user, p.url_path)]
        refused += [_refusal(user, p) for p in section_pages if not may_see(user, p.url_path)]
        if allowed:
            shown[section] = allowed
    if refused and shown:
        # Hidden pages draw nothing in the sidebar; they go with the first section shown.
        first = next(iter(shown))
        shown[first] = [*shown[first], *refused]
    return shown


def _refusal(user: Principal, page: StreamlitPage) -> StreamlitPage:
    needed = PAGE_PERMISSIONS[page.url_path]

    def refused() -> None:
        st.title(page.title)
        st.warning(
            md(
                "{name} ({role}) may not {what}: ask an admin if you need to. The pages you can "
                "use are in the sidebar.",
                name=user.name,
                role=user.role.value,
                what=needed.what,
            ),
            icon=":material/block:",
        )

    return st.Page(
        refused, title=page.title, icon=page.icon, url_path=page.url_path, visibility="hidden"
    )


__all__ = ["PAGE_PERMISSIONS", "may_see", "visible_pages"]
