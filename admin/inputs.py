"""Checks of what callers hand the store: text fields, user names, settings, limits. Plain words on
failure."""

from __future__ import annotations

import re
from typing import Any

from admin.errors import AdminInputError
from diagnostics.smtp.settings import SmtpSettings

MAX_TEXT = 200
_USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}$")


def settings(settings: Any) -> SmtpSettings:
    if not isinstance(settings, SmtpSettings):
        raise AdminInputError("Connection settings must be an SmtpSettings.")
    return settings


def clean_text(value: Any, what: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise AdminInputError(f"The {what} must be text.")
    text = " ".join(value.split())
    if required and not text:
        raise AdminInputError(f"The {what} is empty.")
    if len(text) > MAX_TEXT:
        raise AdminInputError(f"The {what} is longer than {MAX_TEXT} characters.")
    return text


def actor(actor: Any) -> str:
    return clean_text(actor, "actor")


def limit(limit: int) -> int:
    if not isinstance(limit, int) or limit < 1:
        raise AdminInputError(f"The limit must be a positive number, not {limit!r}.")
    return min(limit, 10_000)


def clean_name(name: Any) -> str:
    """User names are compared case-insensitively, so they are kept in lower case. Only ASCII,
    checked before lower-casing: "\u212aim" (a Kelvin sign) would otherwise become "kim"."""
    if not isinstance(name, str):
        raise AdminInputError("A user name must be text.")
    if not name.isascii():
        raise AdminInputError(
            "A user name is 1 to 64 letters, digits or . _ @ + -, in plain ASCII."
        )
    cleaned = name.strip().lower()
    if not _USER_NAME.match(cleaned):
        raise AdminInputError(
            "A user name is 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit."
        )
    return cleaned
