"""Screens that stand alone, whatever the address: the sign-in form, a refusal, a setting to fix;
and the one-line outcome of a sign-in attempt shown under its form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NoReturn

import streamlit as st

from desk.markdown import Markdown

OUTCOME_KEY = "desk_sign_in_outcome"


def tell_outcome(message: Markdown) -> None:
    """Say `message` (plain words, no secret; made by desk.markdown, so anything quoted in it is
    shown as text) once, under the sign-in form of the next run."""
    st.session_state[OUTCOME_KEY] = message


def forget_outcome() -> None:
    st.session_state.pop(OUTCOME_KEY, None)


def show_outcome() -> None:
    message = st.session_state.pop(OUTCOME_KEY, None)
    if message:
        st.error(message, icon=":material/lock:")


def stop_with(message: Markdown, url_paths: Sequence[str]) -> NoReturn:
    """`message` (made by desk.markdown) as the app's only screen, under the desk's title."""

    def refused() -> None:
        st.title("Deliverability desk")
        st.error(message, icon=":material/error:")

    only_screen(refused, url_paths)


def only_screen(draw: Callable[[], None], url_paths: Sequence[str] = ()) -> NoReturn:
    """Show `draw` as the app's only screen, whatever the address, and end the run.

    A hidden st.navigation of stand-ins that all draw this screen: one at the root, one at each of
    `url_paths`. Without an st.navigation call Streamlit would list every file of pages/ in the
    sidebar, and run one on its own. Without the stand-ins a link to a page (/dns-check) is unknown to
    this run's navigation: Streamlit shows "Page not found" over the form and moves to the root, so
    the user lands on the default page after signing in. With them the address stays; Streamlit
    names a page by its url_path alone, so the rerun after sign-in asks for that same page, which
    the router's navigation then runs. No page of pages/ is ever part of this navigation."""
    screens = [
        st.Page(draw, title="Sign in", icon=":material/lock:", url_path="sign-in", default=True)
    ]
    screens += [
        st.Page(draw, title="Sign in", icon=":material/lock:", url_path=path)
        for path in dict.fromkeys(url_paths)  # once each, in order
        if path and path != "sign-in"
    ]
    st.navigation(screens, position="hidden").run()
    st.stop()


__all__ = [
    "OUTCOME_KEY",
    "forget_outcome",
    "only_screen",
    "show_outcome",
    "stop_with",
    "tell_outcome",
]
