"""The app's warning about a secret key that does not match the saved passwords: once a page."""

from __future__ import annotations

import admin
from diagnostics.secret import Secret
from tests.pages.conftest import Configure
from tests.pages.test_auth import open_app, store

__all__ = ["store"]  # the fixture: a fresh SQLite store with an account and a saved connection

WRONG_KEY = "The secret key does not match the one the saved passwords were encrypted with"


def test_a_wrong_key_is_said_once_above_the_page(store: admin.Store, configure: Configure) -> None:
    configure(secret_key=Secret(admin.generate_key()))  # not the key it was saved with
    at = open_app()  # no users on a local SQLite: no sign-in, the Overview of the first account
    assert "Overview" in [t.value for t in at.title]
    said = [w.value for w in at.warning if w.value.startswith(WRONG_KEY)]
    assert len(said) == 1, said
