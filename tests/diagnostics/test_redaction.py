"""The one scrubber: every form a secret may come back in is found and replaced, and nothing else."""

from __future__ import annotations

import base64
import json
import pickle
from urllib.parse import quote, quote_plus

import pytest

from diagnostics.redaction import HIDDEN, Scrubber, secret_forms
from diagnostics.secret import Secret

PASSWORD = 'Desk"Pass/word+50% & more é'
USER = "apikey"


def test_every_form_of_the_password_is_replaced_whole():
    raw = PASSWORD.encode()
    scrub = Scrubber([(USER, Secret(PASSWORD))])
    forms = {
        "clear": PASSWORD,
        "json": json.dumps(PASSWORD)[1:-1],
        "json, not ascii": json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
        "repr": repr(PASSWORD)[1:-1],
        "url": quote(PASSWORD, safe=""),
        "url, path": quote(PASSWORD),
        "form": quote_plus(PASSWORD),
        "AUTH LOGIN": base64.b64encode(raw).decode(),
        "AUTH PLAIN": base64.b64encode(b"\0apikey\0" + raw).decode(),
        "AUTH PLAIN, no authzid": base64.b64encode(b"apikey\0" + raw).decode(),
        "url-safe base64": base64.urlsafe_b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
    }
    for name, form in forms.items():
        assert scrub(f"535 refused: {form}.") == f"535 refused: {HIDDEN}.", name


@pytest.mark.parametrize("before", [b"", b"x", b"xy", b"\0someone-else\0", b"authz\0u\0"])
def test_base64_is_found_wherever_the_password_sits_in_a_blob(before):
    # The blob's encoding of the password depends on its offset: all three are known. At most the
    # characters shared with a neighbouring byte remain, never a run of the password's own.
    raw = PASSWORD.encode()
    blob = base64.b64encode(before + raw + b"\0tail").decode()
    scrubbed = Scrubber([Secret(PASSWORD)]).scrub(blob)
    assert HIDDEN in scrubbed
    left, _, right = scrubbed.partition(HIDDEN)
    assert len(left) <= len(base64.b64encode(before)) + 4
    assert len(right) <= len(base64.b64encode(b"\0tail")) + 4


def test_ordinary_text_and_short_secrets_are_left_alone():
    scrub = Scrubber([(USER, Secret(PASSWORD)), Secret("abc")])
    text = "250-smtp.sendgrid.net Hello apikey, abc is fine; 235 2.7.0 Authentication successful"
    assert scrub(text) == text
    assert secret_forms(Secret("abc")) == []
    assert not Scrubber([Secret("abc")])
    assert Scrubber().scrub("anything") == "anything"


def test_structured_data_and_several_secrets():
    scrub = Scrubber([Secret("first-secret-1"), ("u", Secret("second-secret-2"))], marker="[x]")
    data = {"text": "first-secret-1", "list": ["a second-secret-2 b", 3], "first-secret-1": None}
    assert scrub.scrub_data(data) == {"text": "[x]", "list": ["a [x] b", 3], "[x]": None}
    assert scrub.scrub_data(("first-secret-1",)) == ("[x]",)


def test_the_scrubber_never_shows_what_it_holds():
    scrub = Scrubber([(USER, Secret(PASSWORD))])
    assert repr(scrub) == str(scrub) == "Scrubber(1 secret)"
    assert PASSWORD not in repr(scrub)
    with pytest.raises(TypeError):
        pickle.dumps(scrub)
    with pytest.raises(AttributeError):
        scrub.marker = "x"  # type: ignore[misc]
