"""The records a provider's set-up asks for: real values where the desk knows them (region, tokens,
published CNAMEs), templates marked in words where it does not, never a value that looks real."""

from __future__ import annotations

import re

import pytest

from diagnostics import providers
from diagnostics.provider_records import dkim_records, return_path_records

# What a placeholder used to look like: a value a person could take for a real one.
LOOKS_REAL = re.compile(r"REGION|NNNN|TOKEN\d|SELECTOR|\bKEY\b")


def test_ses_mail_from_with_the_region_of_the_smtp_host() -> None:
    region = providers.get("ses").region_of("email-smtp.eu-west-1.amazonaws.com")
    records = return_path_records(providers.get("ses"), "example.com", region)
    assert [(r.name, r.rdtype, r.value, r.template) for r in records] == [
        ("mail.example.com", "MX", "10 feedback-smtp.eu-west-1.amazonses.com", False),
        ("mail.example.com", "TXT", "v=spf1 include:amazonses.com ~all", False),
    ]  # fmt: skip


def test_ses_mail_from_without_a_region_is_a_marked_template() -> None:
    mx, txt = return_path_records(providers.get("ses"), "example.com")
    assert mx.template
    assert mx.value == "10 feedback-smtp.<your Amazon SES region>.amazonses.com"
    assert mx.fill_in is not None
    assert "email-smtp.<region>.amazonaws.com" in mx.fill_in
    assert not txt.template  # its own SPF record is fixed text


def test_a_numbered_label_is_marked() -> None:
    (cname,) = return_path_records(providers.get("sendgrid"), "example.com")
    assert cname.template
    assert (cname.name, cname.value) == (
        "em<number>.example.com",
        "u<number>.wl<number>.sendgrid.net",
    )


def test_customer_envelopes_have_no_return_path() -> None:
    assert return_path_records(providers.get("mailgun"), "example.com") == ()
    assert return_path_records(providers.get("mailjet"), "example.com") == ()


def test_ses_tokens_seen_are_the_ones_listed() -> None:
    tokens = ["a" * 32, "b" * 32, "c" * 32]
    records = dkim_records(providers.get("ses"), "example.com", tokens)
    assert [(r.name, r.value, r.template) for r in records] == [
        (f"{t}._domainkey.example.com", f"{t}.dkim.amazonses.com", False) for t in tokens
    ]


def test_a_published_cname_fills_its_pair() -> None:
    records = dkim_records(
        providers.get("microsoft-365"),
        "example.com",
        cnames={"selector1": "selector1-example-com._domainkey.contoso.onmicrosoft.com."},
    )
    assert [(r.name, r.value, r.template) for r in records] == [
        ("selector1._domainkey.example.com",
         "selector1-example-com._domainkey.contoso.onmicrosoft.com", False),
        ("selector2._domainkey.example.com",
         "selector2-example-com._domainkey.contoso.onmicrosoft.com", False),
    ]  # fmt: skip


def test_a_cname_elsewhere_is_not_taken_for_the_providers() -> None:
    records = dkim_records(
        providers.get("sendgrid"), "example.com", cnames={"s1": "s1.attacker.example"}
    )
    assert all(r.template for r in records)


@pytest.mark.parametrize("key", providers.keys())
def test_no_record_looks_real_when_it_is_not(key: str) -> None:
    provider = providers.get(key)
    for record in (
        *return_path_records(provider, "example.com"),
        *dkim_records(provider, "example.com"),
    ):
        assert not LOOKS_REAL.search(record.name + " " + record.value), record
        if record.template:
            assert "<" in record.name + record.value
            assert record.fill_in
        else:
            assert "<" not in record.name + record.value
            assert record.fill_in is None
