"""A Secret and SmtpSettings never show the secret they hold."""

from __future__ import annotations

import json
import logging
import pickle

import pytest

from diagnostics.errors import InvalidInput
from diagnostics.secret import Secret
from diagnostics.serialize import to_jsonable
from diagnostics.smtp import Security, SmtpSettings

KEY = "SG.abcdefghijklmnopqrstuv.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def test_secret_hidden_everywhere(caplog):
    secret = Secret(KEY)
    assert KEY not in repr(secret)
    assert KEY not in str(secret)
    assert KEY not in f"{secret}"
    assert KEY not in "%s" % secret  # noqa: UP031 - the old style is what logging uses
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("key is %s", secret)
    assert KEY not in caplog.text
    assert secret.reveal() == KEY


def test_secret_hint_shows_only_the_end():
    assert Secret(KEY).hint() == "set, ends in …DEFG"
    assert Secret("short").hint() == "set"
    assert Secret("").hint() == "not set"


def test_secret_cannot_be_pickled_or_changed():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))
    with pytest.raises(AttributeError):
        Secret(KEY)._value = "x"  # type: ignore[attr-defined]


def test_secret_equality_compares_values():
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")


def test_settings_wrap_password_and_hide_it():
    settings = SmtpSettings("smtp.sendgrid.net", 587, "STARTTLS", "apikey", KEY, "a@example.com")
    assert settings.security is Security.STARTTLS
    assert isinstance(settings.password, Secret)
    assert KEY not in repr(settings)
    assert KEY not in json.dumps(to_jsonable(settings))
    assert settings.public_dict()["password"] == "set, ends in …DEFG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host": " ", "port": 587}, "host is empty"),
        ({"host": "smtp.example.com", "port": 0}, "port"),
        ({"host": "smtp.example.com", "port": 70000}, "port"),
        ({"host": "smtp.example.com", "port": 587, "security": "ssl"}, "starttls, tls or none"),
    ],
)
def test_settings_reject_bad_values(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        SmtpSettings(**kwargs)
