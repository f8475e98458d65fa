"""The header analyzer over hand-written Gmail and Outlook header blocks, and over garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnostics.headers import analyze

SAMPLES = Path(__file__).parents[2] / "data" / "headers"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def codes(report):
    return [f.code for f in report.findings]


def test_sendgrid_with_domain_authentication_passes_aligned():
    report = analyze(sample("gmail_sendgrid_aligned.txt"))
    assert report.readable
    assert report.from_domain == "shop.example"
    assert report.envelope_domain == "em1234.shop.example"
    assert (report.spf.result, report.spf.aligned) == ("pass", True)
    assert (report.dkim.result, report.dkim.aligned) == ("pass", True)
    assert report.dmarc.result == "pass"
    # Gmail's own ARC seal on mail it received directly is not forwarding.
    assert report.arc.instances == 1
    assert not report.forwarded
    assert codes(report) == []


def test_sendgrid_without_domain_authentication_fails_dmarc_and_says_why():
    report = analyze(sample("gmail_sendgrid_unaligned.txt"))
    assert (report.spf.result, report.spf.domain, report.spf.aligned) == (
        "pass",
        "sendgrid.net",
        False,
    )
    assert "SendGrid's own bounce domain" in report.spf.explanation
    assert (report.dkim.domain, report.dkim.aligned) == ("sendgrid.info", False)
    assert report.dmarc.result == "fail"
    assert "p=reject" in report.dmarc.explanation
    assert codes(report) == ["dmarc_fail", "spf_not_aligned", "dkim_not_aligned"]


def test_outlook_header_without_authserv_id_is_read():
    report = analyze(sample("outlook_ses_default_mail_from.txt"))
    assert report.authserv_id is None
    assert report.envelope_domain == "eu-west-1.amazonses.com"
    assert report.spf.aligned is False
    assert "Amazon SES" in report.spf.explanation
    assert [(s.domain, s.result, s.aligned) for s in report.signatures] == [
        ("example.org", "pass", True),
        ("amazonses.com", "pass", False),
    ]
    assert report.signatures[0].selector == "abcdefabcdefabcdefabcdefabcdef12"
    assert report.dmarc.result == "pass"
    assert "through DKIM" in report.dmarc.explanation


def test_forwarded_through_a_university_with_arc():
    report = analyze(sample("gmail_forwarded_arc.txt"))
    assert report.forwarded
    assert report.arc.instances == 2
    assert report.arc.chain == "pass"
    assert report.arc.first_hop == "mail.alumni.example-university.edu"
    assert dict(report.arc.first_results) == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert report.spf.result == "softfail"
    assert "forwarded" in report.spf.explanation
    # The SPF failure is the forwarder's doing: information, not a warning.
    spf = next(f for f in report.findings if f.code == "spf_softfail")
    assert spf.severity == "info"
    assert "forwarded" in codes(report)


def test_unsigned_mail_from_an_unauthorized_relay():
    report = analyze(sample("gmail_spf_softfail_unsigned.txt"))
    assert report.dkim.result is None
    assert report.signatures == ()
    assert "add its include" in report.spf.explanation
    assert codes(report) == ["dmarc_fail", "spf_softfail", "dkim_none"]


def test_headers_only_no_results_computes_dmarc():
    text = (
        "Return-Path: <a@mail.shop.example>\n"
        "DKIM-Signature: v=1; d=shop.example; s=trekmail; b=x\n"
        "From: a@shop.example\n\n"
    )
    report = analyze(text)
    assert report.readable
    assert "no_results" in codes(report)
    assert report.signatures[0].result is None
    assert "would fail" in report.dmarc.explanation


def test_strict_and_relaxed_alignment_told_apart():
    text = (
        "Authentication-Results: mx.example.net; dkim=pass header.d=mail.shop.example "
        "header.s=k1; spf=none smtp.mailfrom=x@other.example; dmarc=pass header.from=shop.example\n"
        "From: a@shop.example\n"
    )
    (signature,) = analyze(text).signatures
    assert signature.aligned
    assert not signature.strictly_aligned


@pytest.mark.parametrize(
    "garbage",
    ["", "   \n", "hello world", "\x00\x01\x02binary", '{"json": true}', "::::\n;;;;", None, 42],
)
def test_garbage_gives_a_report_with_a_message(garbage):
    report = analyze(garbage)
    assert not report.readable
    assert report.message
    assert codes(report) == ["unreadable"]


def test_whole_message_and_mbox_separator_accepted():
    text = "From MAILER-DAEMON Mon Nov 23 17:12:44 2026\n" + sample("gmail_sendgrid_aligned.txt")
    assert analyze(text).dmarc.result == "pass"


def test_to_dict_is_plain_data():
    document = analyze(sample("gmail_forwarded_arc.txt")).to_dict()
    assert document["forwarded"] is True
    assert document["arc"]["first_results"]["dkim"] == "pass"


def test_received_spf_used_when_there_are_no_results():
    text = (
        "Received-SPF: Fail (mx.example.net: domain of shop.example does not designate "
        "203.0.113.9 as permitted sender) client-ip=203.0.113.9;\n"
        "Return-Path: <info@shop.example>\n"
        "From: info@shop.example\n"
    )
    report = analyze(text)
    assert report.spf.result == "fail"
    assert report.spf.domain == "shop.example"
    assert "not authorized in shop.example's SPF record" in report.spf.explanation
    assert report.received_spf.startswith("Fail")


def test_hostile_pastes_are_read_quickly_and_said_so():
    # Found by fuzzing: authres is quadratic on long values and recursive on nested comments.
    import time

    from diagnostics.headers import analyze as read

    cases = [
        "From: a@example.com\nAuthentication-Results: mx; " + "spf=pass;" * 50_000,
        "From: a@example.com\n" + "Authentication-Results: mx; spf=pass\n" * 28_000,
        "From: a@example.com\nAuthentication-Results: x; spf=pass " + "(" * 2000,
        "From: " + "<" * 1_000_000,
        "From: \xd8 <a\udcff@example.com>\r\nAuthentication-Results: mx; spf=pass\r\n",
    ]
    for raw in cases:
        started = time.monotonic()
        report = read(raw)
        assert time.monotonic() - started < 1.0, raw[:60]
        assert "could not be read" not in report.message, raw[:60]
    long_one = read(cases[0])
    assert "input_truncated" in [f.code for f in long_one.findings]


# --- the tolerant reader (forms authres refuses), issue 13 ----------------------------------------


def test_a_comment_before_the_authserv_id_is_not_the_id():
    # RFC 8601 2.2: authres-payload = [CFWS] authserv-id ...; mox writes the A-label in a comment.
    report = analyze(
        "Authentication-Results: (xn--mx-lka.example) møx.example;\r\n"
        "\tdkim=pass header.d=møx.example (xn--mx-lka.example)\r\n"
        "From: a@møx.example\r\n"
    )
    assert report.authserv_id == "møx.example"
    assert [(s.domain, s.result) for s in report.signatures] == [("møx.example", "pass")]


def test_a_quoted_authserv_id_keeps_what_looks_like_a_comment():
    # RFC 8601 2.2: authserv-id is a token or a quoted-string; inside quotes "(" is text, and a
    # comment after the id is not part of it.
    report = analyze(
        'Authentication-Results: "mx (edge) \\"one\\"" (the receiver);\r\n'
        " spf=pass smtp.mailfrom=bounce@h.example\r\n"
        "From: a@h.example\r\n"
    )
    assert report.authserv_id == 'mx (edge) "one"'


def test_a_result_keyword_with_an_underscore_is_kept_whole():
    # Yahoo writes dkim=perm_fail; "perm" would be a result nobody reported.
    report = analyze(
        "Authentication-Results: atlas220.free.mail.bf1.yahoo.com;\r\n"
        " dkim=perm_fail header.i=@ueber.net header.s=2023a;\r\n"
        " dkim=pass header.i=@ueber.net header.s=2023b;\r\n"
        " spf=pass smtp.mailfrom=ueber.net;\r\n"
        " dmarc=pass(p=REJECT) header.from=ueber.net;\r\n"
        "From: x@ueber.net\r\n"
    )
    assert [(s.selector, s.result) for s in report.signatures] == [
        ("2023a", "perm_fail"),
        ("2023b", "pass"),
    ]
    assert (report.dkim.result, report.dkim.aligned) == ("pass", True)
    assert report.dmarc.result == "pass"
