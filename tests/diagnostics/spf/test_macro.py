"""Macro syntax and expansion, against the examples of RFC 7208 section 7.4."""

from __future__ import annotations

import ipaddress

import pytest

from diagnostics.spf.macro import (
    MacroContext,
    MacroSyntaxError,
    expand,
    expand_domain,
    macro_problem,
    uses_ptr,
)

RFC_CONTEXT = MacroContext(
    sender="strong-bad@email.example.com",
    domain="email.example.com",
    ip=ipaddress.ip_address("192.0.2.3"),
    helo="mx.example.org",
)


@pytest.mark.parametrize(
    ("macro", "expansion"),
    [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
        ("%{h}", "mx.example.org"),
        ("%%%_%-", "% %20"),
    ],
)
def test_rfc7208_examples(macro: str, expansion: str) -> None:
    assert macro_problem(macro) is None
    assert expand(macro, RFC_CONTEXT) == expansion


def test_ipv6_i_macro_is_nibbles() -> None:
    context = MacroContext(
        "strong-bad@email.example.com", "email.example.com", ipaddress.ip_address("2001:db8::cb01")
    )
    assert expand("%{ir}.%{v}._spf.%{d2}", context).lower() == (
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    )
    assert expand("%{c}", context, explanation=True) == "2001:db8::cb01"


def test_upper_case_letters_are_url_escaped() -> None:
    context = MacroContext("~jack&jill=up-a_b3.c@example.com", "example.com", RFC_CONTEXT.ip)
    assert expand("%{L}", context) == "~jack%26jill%3Dup-a_b3.c"
    assert expand("%{l}", context) == "~jack&jill=up-a_b3.c"


def test_explanation_only_letters() -> None:
    context = MacroContext(
        RFC_CONTEXT.sender,
        RFC_CONTEXT.domain,
        RFC_CONTEXT.ip,
        receiver="mx.rcpt.example",
        timestamp=42,
    )
    assert expand("%{c} %{r} %{t}", context, explanation=True) == "192.0.2.3 mx.rcpt.example 42"
    for letter in "crt":
        problem = macro_problem(f"%{{{letter}}}.example.com")
        assert problem is not None
        assert "exp=" in problem
        with pytest.raises(MacroSyntaxError):
            expand(f"%{{{letter}}}", context)


@pytest.mark.parametrize(
    "text",
    ["%", "abc%", "%x", "%(ir)", "%{", "%{}", "%{a}", "%{d0}", "%{dx}", "%{d2r*}", "with space"],
)
def test_invalid_macro_strings(text: str) -> None:
    assert macro_problem(text) is not None


def test_spaces_allowed_only_in_explanations() -> None:
    assert macro_problem("Mail from %{i} refused", explanation=True) is None
    assert macro_problem("Mail from %{i} refused") is not None


def test_p_needs_a_lookup_and_defaults_to_unknown() -> None:
    assert uses_ptr("%{p}.example.com")
    assert not uses_ptr("%{d}.example.com")
    assert expand("%{p}", RFC_CONTEXT) == "unknown"
    named = MacroContext(
        RFC_CONTEXT.sender, RFC_CONTEXT.domain, RFC_CONTEXT.ip, validated_domain="mx.example.com"
    )
    assert expand("%{p2}", named) == "example.com"


def test_long_domain_loses_left_labels() -> None:
    context = MacroContext("x@" + "a" * 60 + ".example.com", "example.com", RFC_CONTEXT.ip)
    name = expand_domain("%{o}.%{o}.%{o}.%{o}.%{o}.tail.example", context)
    assert len(name) <= 253
    assert name.endswith(".tail.example")
    assert not name.startswith(".")
