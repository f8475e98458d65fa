"""The one place the app says that the database is down or busy: in plain words, with a way to try
again, never Streamlit's "This app has encountered an error".

Once the database stops answering (down, restarting, the connection cut) or stays locked past the
busy timeout, every call of the report store raises DatabaseUnavailable (DatabaseBusy) and every
call of the admin store StoreUnavailable (StoreBusy), with a message for people (diagnostics.database).
app.py runs the sign-in gate and the page inside these blocks, so no page wraps its calls by hand;
a widget callback, which runs before them, catches the fault itself (desk.sign_in_gate). Nothing needs a
restart: the next run asks the database again, on fresh connections.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import streamlit as st

from admin import StoreUnavailable
from desk._standalone_screens import stop_with
from desk.markdown import text
from diagnostics.errors import DatabaseUnavailable

# Everything a database fault is raised as: StoreBusy and DatabaseBusy are among them.
DATABASE_FAULTS: tuple[type[Exception], ...] = (DatabaseUnavailable, StoreUnavailable)
TRY_AGAIN_KEY = "desk_database_try_again"


@contextmanager
def said_alone(url_paths: Sequence[str] = ()) -> Iterator[None]:
    """For the router before it has a navigation (the sign-in gate): a fault is the app's only
    screen, at whichever of `url_paths` was asked (desk._standalone_screens), and ends the run."""
    try:
        yield
    except DATABASE_FAULTS as exc:
        stop_with(text(exc), url_paths)


@contextmanager
def said_in_page() -> Iterator[None]:
    """Around a page's run: a fault is said where the page stopped (what it drew stays), with a
    button that runs the page again."""
    try:
        yield
    except DATABASE_FAULTS as exc:
        st.error(text(exc), icon=":material/cloud_off:")
        st.button("Try again", key=TRY_AGAIN_KEY, icon=":material/refresh:")


__all__ = ["DATABASE_FAULTS", "said_alone", "said_in_page"]
