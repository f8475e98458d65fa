"""DKIM key records and selectors: parsed from text, and checked against a loopback nameserver."""

from __future__ import annotations

import pytest

from diagnostics.dkim import (
    KeyType,
    check_selector,
    check_selector_async,
    parse_key_record,
    readable_target,
)
from diagnostics.errors import InvalidInput
from diagnostics.verdict import Verdict
from tests.diagnostics.health.keys import ed25519_p, rsa_p, rsa_pkcs1_p, rsa_record, split


def codes(findings):
    return [f.code for f in findings]


@pytest.mark.parametrize("bits", [1024, 2048, 4096])
def test_rsa_key_length_read_from_der(bits):
    key = parse_key_record(rsa_record(bits))
    assert key.key_type is KeyType.RSA
    assert key.bits == bits


def test_rsa_key_as_bare_pkcs1_is_read_too():
    assert parse_key_record(f"v=DKIM1; p={rsa_pkcs1_p(2048)}").bits == 2048


def test_key_sizes_graded_by_rfc_8301():
    assert codes(parse_key_record(rsa_record(2048)).findings) == []
    weak = parse_key_record(rsa_record(1024))
    assert codes(weak.findings) == ["key_weak"]
    assert weak.usable
    short = parse_key_record(rsa_record(512))
    assert short.bits == 512
    assert not short.usable
    assert "key_too_short" in codes(short.findings)
    assert "2048" in short.findings[0].message


def test_ed25519_key():
    key = parse_key_record(f"v=DKIM1; k=ed25519; p={ed25519_p()}")
    assert key.key_type is KeyType.ED25519
    assert key.bits == 256
    assert key.usable
    truncated = parse_key_record(f"v=DKIM1; k=ed25519; p={ed25519_p()[:20]}")
    assert "bad_key" in codes(truncated.findings)


def test_testing_flag_and_revoked_key():
    testing = parse_key_record(rsa_record(2048, extra="t=y; "))
    assert testing.testing
    assert testing.usable
    assert codes(testing.findings) == ["testing"]
    revoked = parse_key_record("v=DKIM1; k=rsa; p=")
    assert revoked.revoked
    assert not revoked.usable
    assert codes(revoked.findings) == ["revoked"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("v=DKIM1; k=rsa", "no_key"),
        ("v=DKIM2; p=" + "A" * 8, "bad_version"),
        ("k=rsa; v=DKIM1; p=" + "A" * 8, "syntax_error"),
        ("v=DKIM1; k=dsa; p=QUJD", "unknown_key_type"),
        ("v=DKIM1; p=not*base64", "bad_key"),
        ("v=DKIM1; p=QUJDRA==", "bad_key"),
        ("v=DKIM1; h=sha1; p=" + rsa_p(2048), "sha1_only"),
        ("v=DKIM1; s=other; p=" + rsa_p(2048), "not_for_email"),
        ("v=DKIM1; p=x; p=y", "duplicate_tag"),
        ("this is not a key", "syntax_error"),
    ],
)
def test_syntax_problems_are_values(text, code):
    key = parse_key_record(text)
    assert code in codes(key.findings)
    assert not key.usable


@pytest.mark.parametrize("tail", [" ", "\t", "  \r\n "])
def test_white_space_after_the_last_semicolon_is_a_syntax_error(tail):
    # RFC 6376 3.2: tag-list = tag-spec *( ";" tag-spec ) [ ";" ]; after the last ";" only the
    # end may follow (white space would start a tag-spec that never comes).
    key = parse_key_record(f"v=DKIM1; p={rsa_p(2048)};{tail}")
    assert codes(key.findings) == ["syntax_error"]
    assert not key.usable
    assert "last ';'" in key.findings[0].message
    revoked = parse_key_record(f"v=DKIM1; p=;{tail}")
    assert set(codes(revoked.findings)) == {"syntax_error", "revoked"}


@pytest.mark.parametrize(
    "text", ["v=DKIM1; p={p};", "v=DKIM1; p={p}", "v=DKIM1; p={p} ", "v=DKIM1;; p={p}"]
)
def test_a_final_semicolon_alone_or_space_inside_the_last_tag_is_fine(text):
    assert parse_key_record(text.format(p=rsa_p(2048))).findings == ()


def test_key_split_over_strings_with_spaces_is_joined():
    p = rsa_p(2048)
    key = parse_key_record(f"v=DKIM1; k=rsa; p={p[:100]} {p[100:]}")
    assert key.bits == 2048


ZONE = {
    "s1._domainkey.example.com": {"CNAME": "s1.domainkey.u123.wl45.sendgrid.net"},
    "s1.domainkey.u123.wl45.sendgrid.net": {"TXT": [split(rsa_record(2048))]},
    "s2._domainkey.example.com": {"CNAME": "s2.domainkey.u123.wl45.sendgrid.net.example.com"},
    "s2.domainkey.u123.wl45.sendgrid.net.example.com": {"A": "192.0.2.1"},
    "plain._domainkey.example.com": {"TXT": [split(rsa_record(1024))]},
    "two._domainkey.example.com": {"TXT": [split(rsa_record(1024)), split(rsa_record(2048))]},
    "slow._domainkey.example.com": {"TIMEOUT": True},
    "google._domainkey.example.com": {"TXT": ["google-site-verification=abc"]},
}


@pytest.fixture
def resolver(nameserver):
    return nameserver(ZONE).resolver(timeout=0.5)


def test_cname_hosted_key_right(resolver):
    check = check_selector(
        "example.com",
        "s1",
        expected_cname=r"s1\.domainkey\.u\d+\.wl\d+\.sendgrid\.net",
        resolver=resolver,
    )
    assert check.status is Verdict.OK
    assert check.cname == "s1.domainkey.u123.wl45.sendgrid.net"
    assert check.key is not None
    assert check.key.bits == 2048


def test_cname_target_with_own_domain_pasted_on_is_wrong(resolver):
    check = check_selector(
        "example.com",
        "s2",
        expected_cname=r"s2\.domainkey\.u\d+\.wl\d+\.sendgrid\.net",
        resolver=resolver,
    )
    assert check.status is Verdict.ERROR
    assert codes(check.findings) == ["cname_wrong"]
    assert "sendgrid.net.example.com" in check.findings[0].message


def test_txt_where_a_cname_is_expected(resolver):
    check = check_selector(
        "example.com", "plain", expected_cname="plain.dkim.amazonses.com", resolver=resolver
    )
    assert "cname_missing" in codes(check.findings)
    assert check.key is not None
    assert check.key.bits == 1024


def test_plain_txt_key_weak(resolver):
    check = check_selector("example.com", "plain", resolver=resolver)
    assert check.status is Verdict.WARNING
    assert codes(check.findings) == ["key_weak"]


def test_missing_and_unrelated_and_duplicate(resolver):
    missing = check_selector("example.com", "nothere", resolver=resolver)
    assert codes(missing.findings) == ["no_key"]
    assert not missing.present
    unrelated = check_selector("example.com", "google", resolver=resolver)
    assert codes(unrelated.findings) == ["no_key"]
    two = check_selector("example.com", "two", resolver=resolver)
    assert codes(two.findings) == ["multiple_keys"]


def test_dns_timeout_is_a_value(resolver):
    check = check_selector("example.com", "slow", resolver=resolver)
    assert check.status is Verdict.ERROR
    assert codes(check.findings) == ["dns_error"]


async def test_async_matches_sync(resolver):
    check = await check_selector_async("example.com", "plain", resolver=resolver)
    assert check.key is not None
    assert check.key.bits == 1024


def test_bad_selector_is_invalid_input():
    with pytest.raises(InvalidInput):
        check_selector("example.com", "bad selector!")


@pytest.mark.parametrize(
    ("pattern", "shown"),
    [
        (
            r"s1\.domainkey\.u\d+\.wl\d+\.sendgrid\.net",
            "s1.domainkey.u<number>.wl<number>.sendgrid.net",
        ),
        (
            r"selector1-[a-z0-9-]+\._domainkey\.[a-z0-9-]+\.onmicrosoft\.com",
            "selector1-<name>._domainkey.<name>.onmicrosoft.com",
        ),
        (r"dkim\d\.mandrillapp\.com", "dkim<digit>.mandrillapp.com"),
    ],
)
def test_cname_patterns_shown_in_plain_words(pattern, shown):
    assert readable_target(pattern) == shown
