"""The Header analyzer page over the hand-written header samples in tests/data/headers/."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.headers import analyze
from tests.pages.untrusted import rendered

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "header_analyzer.py")
SAMPLES = sorted((ROOT / "tests" / "data" / "headers").glob("*.txt"))


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def analyze_button(at: AppTest):
    return next(b for b in at.button if b.label == "Analyze")


def text(at: AppTest) -> str:
    """The page's words as a person reads them (the Markdown's escapes resolved)."""
    kinds = (at.markdown, at.caption, at.code, at.success, at.info, at.warning, at.error)
    return "\n".join(rendered(str(element.value)) for kind in kinds for element in kind)


def test_samples_are_there():
    assert len(SAMPLES) >= 4, SAMPLES


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_pasted_headers_show_each_verdict_and_why(sample):
    raw = sample.read_text()
    expected = analyze(raw)
    assert expected.readable
    at = open_page()
    at.text_area[0].input(raw).run()
    analyze_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]

    shown = text(at)
    assert expected.message in shown
    for label, method in (
        ("SPF", expected.spf),
        ("DKIM", expected.dkim),
        ("DMARC", expected.dmarc),
    ):
        assert method is not None
        assert shown.count(method.explanation) == 1, label  # in its tile, not again below
        if method.result is None:
            assert f"**{label}** &nbsp; :gray-badge[not reported]" in shown
        elif method.passed:
            assert f"**{label}** &nbsp; :green-badge[:material/check: passed]" in shown
        else:
            # The receiver's word follows the badge (as code), never inside it.
            assert f"**{label}** &nbsp; :red-badge[:material/close:] {method.result}" in shown
        if label != "DMARC" and method.aligned is not None:
            word = "Aligned with From" if method.aligned else "Not aligned with From"
            assert word in shown, label
    for finding in expected.findings:
        assert finding.message in shown, finding.code
    overall = at.success if expected.dmarc and expected.dmarc.passed else at.error
    assert any(expected.message in rendered(m.value) for m in overall)
    assert any("Forwarded" in w.value for w in at.warning) == expected.forwarded

    if expected.signatures:
        table = at.dataframe[0].value
        assert list(table["domain (d=)"]) == [s.domain for s in expected.signatures]
    if expected.arc.instances:
        hops = "hop" if expected.arc.instances == 1 else "hops"
        assert f"**{expected.arc.instances} {hops}** sealed it" in shown
    else:
        assert "No ARC headers" in shown
    assert at.expander[0].label == "Parsed fields"
    assert at.json[0].value  # the parsed fields as JSON


def test_an_uploaded_eml_wins_over_the_text_area():
    sample = next(p for p in SAMPLES if "forwarded" in p.stem)
    message = sample.read_bytes() + b"\r\n\r\nHello, this is the body.\r\n"
    expected = analyze(message.decode())
    at = open_page()
    at.text_area[0].input("not headers at all").run()
    at.file_uploader[0].set_value(("forwarded.eml", message, "message/rfc822")).run()
    analyze_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert expected.message in text(at)
    assert expected.forwarded
    assert any("Forwarded" in w.value for w in at.warning)


def test_garbage_and_nothing_get_plain_words():
    at = open_page()
    analyze_button(at).click().run()
    assert any("Paste the headers" in w.value for w in at.warning)
    at.text_area[0].input("hello\nworld").run()
    analyze_button(at).click().run()
    assert not at.exception
    assert [rendered(w.value) for w in at.warning] == [analyze("hello\nworld").message]
    assert not at.subheader  # no verdicts for something that is not headers


def test_the_uploader_states_its_limit_and_what_is_read():
    uploader = open_page().file_uploader[0]
    assert uploader.proto.max_upload_size_mb == 50  # "Limit 50MB per file" under the drop zone
    assert "Only the headers are read, up to 64 kB" in uploader.help
    # The figure is the analyzer's own: headers longer than that are cut, and it says so.
    too_long = analyze("From: a@bluebird.example\nX-Filler: " + "a" * 70_000 + "\n")
    assert any("Only the first 64 kB were read" in f.message for f in too_long.findings)


def test_a_whole_message_with_an_attachment_is_read_as_its_headers():
    sample = next(p for p in SAMPLES if "forwarded" in p.stem)
    headers = sample.read_bytes().rstrip(b"\r\n")
    attachment = base64.encodebytes(bytes(range(256)) * 1200)  # 300 kB, far past 64 kB
    message = headers + b"\n\nHello, the invoice is attached.\n\n" + attachment
    expected = analyze(headers.decode())
    at = open_page()
    at.file_uploader[0].set_value(("invoice.eml", message, "message/rfc822")).run()
    analyze_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = text(at)
    assert expected.message in shown
    assert "were read" not in shown  # the body is no header that was too long to read


def test_an_outlook_msg_file_gets_a_way_to_its_headers():
    # The first bytes of every .msg (an OLE2 compound file), then binary padding.
    msg = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "From: a@b.example".encode("utf-16-le")
    at = open_page()
    at.file_uploader[0].set_value(("message.msg", msg, "application/vnd.ms-outlook")).run()
    analyze_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = [w.value for w in at.warning]
    assert len(said) == 1, said
    assert "Outlook .msg file" in said[0]
    assert "File → Properties" in said[0]
    assert not at.subheader  # no verdicts for a file that was not read
