"""The SPF record parser: the typed model, its helpers, and syntax problems reported as values."""

from __future__ import annotations

import ipaddress
import random

import pytest

from diagnostics.spf import Mechanism, Modifier, Qualifier, is_spf_record, parse_record


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=spf1", True),
        ("v=spf1 -all", True),
        ("V=SPF1 ~all", True),
        ("v=spf10 -all", False),
        ("v=spf1-all", False),
        (" v=spf1 -all", False),
        ("v=spf2.0/pra -all", False),
        ("google-site-verification=abc", False),
        ("", False),
    ],
)
def test_is_spf_record(text: str, expected: bool) -> None:
    assert is_spf_record(text) is expected


def test_terms_in_order_with_positions_and_fields() -> None:
    record = parse_record(
        "v=spf1 ip4:192.0.2.0/24 -ip6:2001:db8::/32 ~a:mail.example.com/28//64 ?mx "
        "include:_spf.example.net ptr exists:%{i}.bl.example.org redirect=_spf.example.com "
        "exp=why.example.com x-note=hello"
    )
    assert record.is_valid, record.errors
    assert [t.position for t in record.terms] == list(range(len(record.terms)))
    ip4, ip6, a, mx, include, ptr, exists = record.mechanisms
    assert (ip4.name, ip4.address, ip4.cidr4, ip4.qualifier) == (
        "ip4",
        "192.0.2.0",
        24,
        Qualifier.PASS,
    )
    assert ip4.network == ipaddress.ip_network("192.0.2.0/24")
    assert (ip6.qualifier, ip6.cidr6, ip6.network) == (
        Qualifier.FAIL,
        32,
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert (a.qualifier, a.domain_spec, a.cidr4, a.cidr6) == (
        Qualifier.SOFTFAIL,
        "mail.example.com",
        28,
        64,
    )
    assert (mx.qualifier, mx.domain_spec, mx.cidr4) == (Qualifier.NEUTRAL, None, None)
    assert include.domain_spec == "_spf.example.net"
    assert ptr.domain_spec is None
    assert exists.domain_spec == "%{i}.bl.example.org"
    assert record.redirect == "_spf.example.com"
    assert record.exp == "why.example.com"
    assert [m.name for m in record.modifiers] == ["redirect", "exp", "x-note"]
    assert record.all_term is None
    assert all(t.text in record.text for t in record.terms)


def test_qualifier_results() -> None:
    assert [q.result for q in Qualifier] == ["pass", "fail", "softfail", "neutral"]


def test_helpers_find_all_and_modifiers() -> None:
    record = parse_record("v=spf1 include:a.example.com -all")
    assert record.all_term is not None
    assert record.all_term.qualifier is Qualifier.FAIL
    assert record.all_term.position == 1
    assert record.redirect is None
    assert record.exp is None
    assert isinstance(record.terms[0], Mechanism)


def test_ip4_host_bits_are_tolerated_in_the_network() -> None:
    (mech,) = parse_record("v=spf1 ip4:192.0.2.77/24").mechanisms
    assert mech.network == ipaddress.ip_network("192.0.2.0/24")


@pytest.mark.parametrize(
    ("text", "offender"),
    [
        ("v=spf1 ip4:1.2.3.4/33", "ip4:1.2.3.4/33"),
        ("v=spf1 ip4:1.2.3.4/032", "ip4:1.2.3.4/032"),
        ("v=spf1 ip4:1.2.3", "ip4:1.2.3"),
        ("v=spf1 ip6:2001:db8::/129", "ip6:2001:db8::/129"),
        ("v=spf1 a:museum", "a:museum"),
        ("v=spf1 a:1.2.3.4", "a:1.2.3.4"),
        ("v=spf1 a/24/64", "a/24/64"),
        ("v=spf1 include:", "include:"),
        ("v=spf1 include", "include"),
        ("v=spf1 -all/8", "-all/8"),
        ("v=spf1 ptr/0", "ptr/0"),
        ("v=spf1 foo:bar.example.com", "foo:bar.example.com"),
        ("v=spf1 redirect:example.com", "redirect:example.com"),
        ("v=spf1 exp=", "exp="),
        ("v=spf1 x=%z", "x=%z"),
        ("v=spf1 exists:%{c}.example.com", "exists:%{c}.example.com"),
        ("v=spf1 a:ex\tample.com", "a:ex\tample.com"),
        ("v=spf1 a:exämple.com", "a:exämple.com"),
    ],
)
def test_syntax_problems_are_values_naming_the_term(text: str, offender: str) -> None:
    record = parse_record(text)
    assert not record.is_valid
    assert len(record.errors) == 1
    assert repr(offender) in record.errors[0]


@pytest.mark.parametrize(
    "spec", ["%%%-%_", "x.example.%_", "x.example%%", "%{d}%-", "mail.%{d}.%%", "%_"]
)
def test_a_domain_spec_may_end_in_any_macro_expand(spec: str) -> None:
    # RFC 7208 7.1: domain-end = ( "." toplabel [ "." ] ) / macro-expand, and macro-expand
    # includes "%%", "%_" and "%-", not only %{...}.
    for term in (f"exists:{spec}", f"a:{spec}", f"include:{spec}", f"redirect={spec}"):
        record = parse_record(f"v=spf1 {term}")
        assert record.is_valid, record.errors


@pytest.mark.parametrize("spec", ["%%x", "x.%_y", "%{d}.", "%-.", "%%.123"])
def test_a_literal_after_the_last_macro_expand_still_needs_a_top_label(spec: str) -> None:
    assert not parse_record(f"v=spf1 exists:{spec}").is_valid


def test_every_problem_is_reported_not_just_the_first() -> None:
    record = parse_record(
        "v=spf1 a:museum ip4:300.1.1.1 -all redirect=a.example.com redirect=b.example.com"
    )
    assert len(record.errors) == 3
    assert any("more than once" in e for e in record.errors)
    # The valid terms are still there for tools that show the record.
    assert [t.text for t in record.terms] == [
        "-all",
        "redirect=a.example.com",
        "redirect=b.example.com",
    ]


def test_not_an_spf_record() -> None:
    record = parse_record("v=DMARC1; p=none")
    assert record.terms == ()
    assert "not an SPF record" in record.errors[0]


def test_unknown_modifier_is_kept_and_valid() -> None:
    record = parse_record("v=spf1 moo.cow-far_out=man:dog/cat -all")
    assert record.is_valid
    assert record.modifiers == (
        Modifier("moo.cow-far_out", "man:dog/cat", "moo.cow-far_out=man:dog/cat", 0),
    )


def test_garbage_never_raises() -> None:
    rng = random.Random(7208)
    alphabet = "v=spf1 :/.%{}-+~?aeimnprstx0123456789\t\x00é"
    for _ in range(2000):
        text = "v=spf1 " + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        record = parse_record(text)
        assert record.text == text
        assert all(isinstance(e, str) and e for e in record.errors)
