"""desk/markdown.py: untrusted text shown as text, whatever Markdown it holds (issue 10, finding 3).

The checks read Markdown as Streamlit's browser does (tests/pages/untrusted.py); the same payloads
go through every page in tests/pages/test_untrusted_text.py and a real browser in
tests/e2e/test_untrusted.py."""

from __future__ import annotations

import pandas as pd
import pytest

from desk.markdown import Markdown, code, md, plain, table, text
from tests.pages.untrusted import live, without_code_spans
from tests.support.hostile import MARKER, PAYLOAD, PIECES


@pytest.mark.parametrize("piece", PIECES)
def test_each_payload_is_live_as_it_is(piece: str) -> None:
    # The oracle sees the attack when nothing is done: otherwise the tests below prove nothing.
    assert live(piece, MARKER), piece


@pytest.mark.parametrize("piece", [*PIECES, PAYLOAD])
def test_text_shows_it_as_text(piece: str) -> None:
    shown = text(piece)
    assert isinstance(shown, Markdown)
    assert live(shown, MARKER) == []
    assert live(text(piece, one_line=True), MARKER) == []


@pytest.mark.parametrize("piece", [*PIECES, PAYLOAD, "a`b", "``", "` x `", "x`"])
def test_code_holds_anything(piece: str) -> None:
    shown = code(piece)
    assert without_code_spans(shown) == "\0"  # one code span, nothing outside it
    assert live(shown, MARKER) == []


@pytest.mark.parametrize("piece", PIECES)
def test_md_escapes_every_value_and_keeps_the_template(piece: str) -> None:
    shown = md(
        "From **{org}** ({count:,} messages), policy {policy!c}",
        org=piece,
        count=12345,
        policy=piece,
    )
    assert shown.startswith("From **")
    assert "(12,345 messages)" in shown
    assert live(shown, MARKER) == []
    # A Markdown value is put in as it is, not escaped twice.
    assert md("{a} and {b}", a=md("**{x}**", x="1"), b="*") == "**1** and \\*"


def test_a_value_in_the_templates_own_backticks_is_refused() -> None:
    with pytest.raises(ValueError, match="name!c"):
        md("policy `{policy}`", policy="p=none")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("example.com", "example.com"),
        ("v=spf1 include:_spf.example.net -all", "v=spf1 include\\:\\_spf.example.net -all"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("== not a heading\n---", "\\=\\= not a heading  \n\\-\\-\\-"),
        ("198.51.100.7 -all 1.5", "198.51.100.7 -all 1.5"),
        ("# not a heading", "\\# not a heading"),
        ("a\nb", "a  \nb"),
        ("a\n\n    b", "a  \n  \nb"),
        ("inje\u200bct", "inje\\<U+200B\\>ct"),
        ("\u202eevil", "\\<U+202E\\>evil"),
    ],
)
def test_text_reads_as_it_is(value: str, shown: str) -> None:
    assert text(value) == shown


def test_plain_and_table_make_hidden_characters_visible() -> None:
    assert plain("\u202eevil\nline") == "<U+202E>evil line"
    frame = pd.DataFrame(
        {"org": ["\u202eevil", None], "n": [1, 2], "c": pd.Categorical(["a\u200bb", "x"])}
    )
    shown = table(frame)
    assert shown["org"].tolist()[0] == "<U+202E>evil"
    assert shown["c"].tolist() == ["a<U+200B>b", "x"]
    assert shown["n"].tolist() == [1, 2]
    assert frame["org"].tolist()[0] == "\u202eevil"  # the original is left alone
