"""The provider catalogue: every required key present, host and PTR recognition, credential shapes."""

from __future__ import annotations

import re

import pytest

from diagnostics import providers
from diagnostics.providers import EnvelopeOwner, SpfAtFromDomain, TlsMode

REQUIRED = [
    "ses",
    "sendgrid",
    "mailgun",
    "mailgun-eu",
    "postmark",
    "sparkpost",
    "sparkpost-eu",
    "mailjet",
    "brevo",
    "mandrill",
    "smtp2go",
    "resend",
    "zoho",
    "google-workspace",
    "microsoft-365",
    "trekmail",
]


def test_catalogue_has_exactly_the_required_keys_in_order() -> None:
    assert list(providers.keys()) == REQUIRED
    assert [p.key for p in providers.all()] == REQUIRED


@pytest.mark.parametrize("key", REQUIRED)
def test_every_entry_is_complete_and_consistent(key: str) -> None:
    provider = providers.get(key)
    assert provider.name
    assert provider.docs.startswith("https://")
    assert provider.ports, "every provider lists at least one port"
    assert provider.spf_include
    # The example host must be recognised as this provider, by the catalogue-wide lookup too.
    assert provider.matches_host(provider.example_host)
    assert providers.match_host(provider.example_host) is provider
    for pattern in (*provider.hosts, *provider.ptr, *provider.dkim.selectors):
        re.compile(pattern)
    known_fields = set(provider.__dataclass_fields__)
    assert set(provider.unconfirmed) <= known_fields, "unconfirmed names real fields"


def test_get_is_case_insensitive_and_unknown_key_lists_the_keys() -> None:
    assert providers.get("SendGrid").key == "sendgrid"
    with pytest.raises(KeyError) as caught:
        providers.get("sendgird")
    message = str(caught.value)
    assert "sendgird" in message
    assert all(key in message for key in REQUIRED)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("email-smtp.eu-west-1.amazonaws.com", "ses"),
        ("EMAIL-SMTP.us-east-1.AMAZONAWS.com.", "ses"),
        ("email-smtp-fips.us-gov-west-1.amazonaws.com", "ses"),
        ("smtp.sendgrid.net", "sendgrid"),
        ("smtp.mailgun.org", "mailgun"),
        ("smtp.eu.mailgun.org", "mailgun-eu"),
        ("smtp.sparkpostmail.com", "sparkpost"),
        ("smtp.eu.sparkpostmail.com", "sparkpost-eu"),
        ("in-v3.mailjet.com", "mailjet"),
        ("smtp-relay.sendinblue.com", "brevo"),
        ("smtp.zoho.eu", "zoho"),
        ("smtp.gmail.com", "google-workspace"),
        ("contoso-com.mail.protection.outlook.com", "microsoft-365"),
        (" smtp.trekmail.net ", "trekmail"),
    ],
)
def test_match_host(host: str, key: str) -> None:
    found = providers.match_host(host)
    assert found is not None
    assert found.key == key


@pytest.mark.parametrize(
    "host",
    [
        "smtp.example.com",
        "email-smtp.amazonaws.com",  # no region
        "evil-smtp.sendgrid.net.example.com",  # a provider's name inside someone else's domain
        "xsmtp.sendgrid.net",
        "",
    ],
)
def test_match_host_rejects_lookalikes(host: str) -> None:
    assert providers.match_host(host) is None


def test_ses_region() -> None:
    assert providers.ses_region("email-smtp.eu-west-1.amazonaws.com") == "eu-west-1"
    assert providers.ses_region("Email-Smtp.AP-SOUTHEAST-2.amazonaws.com.") == "ap-southeast-2"
    assert providers.ses_region("smtp.sendgrid.net") is None
    ses = providers.get("ses")
    assert "eu-west-1" in ses.regions
    assert "us-east-1" in ses.regions
    # A well-formed but unlisted region is still SES: callers report "unknown region", not "not SES".
    assert providers.ses_region("email-smtp.xx-north-9.amazonaws.com") == "xx-north-9"
    assert "xx-north-9" not in ses.regions


@pytest.mark.parametrize(
    ("ptr", "key"),
    [
        ("a8-30.smtp-out.amazonses.com", "ses"),
        ("e226-55.smtp-out.us-east-2.amazonses.com.", "ses"),
        ("o1.ptr2401.sendgrid.net", "sendgrid"),
        ("m228-4.mailgun.net", "mailgun"),
        ("m228-4.eu.mailgun.net", "mailgun-eu"),
        ("mta213a-12.mtasv.net", "postmark"),
        ("mta-70-91.sparkpostmail.com", "sparkpost"),
        ("o12.p34.mailjet.com", "mailjet"),
        ("mail-sor-f41.google.com", "google-workspace"),
        ("mail-db3eur04on0701.outbound.protection.outlook.com", "microsoft-365"),
    ],
)
def test_match_ptr(ptr: str, key: str) -> None:
    found = providers.match_ptr(ptr)
    assert found is not None
    assert found.key == key


def test_match_ptr_unknown_is_none() -> None:
    assert providers.match_ptr("host-192-0-2-1.isp.example") is None
    assert providers.match_ptr("mail.sendgrid.net.attacker.example") is None


def test_ports_and_tls_modes() -> None:
    ses = providers.get("ses")
    assert ses.port(587) is not None
    assert ses.port(587).tls is TlsMode.STARTTLS
    assert ses.port(465) is not None
    assert ses.port(465).tls is TlsMode.IMPLICIT
    assert ses.port(2525) is None
    postmark = providers.get("postmark")
    assert postmark.port(465) is None, "Postmark has no implicit-TLS port"
    assert [p.number for p in providers.get("microsoft-365").ports] == [587]


def test_credential_shapes_and_mistakes() -> None:
    ses = providers.get("ses")
    assert ses.username.matches("AKIAIOSFODNN7EXAMPLE") is True
    assert ses.username.matches("apikey") is False
    iam_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example, 40 chars
    smtp_password = "B" + "A" * 43
    assert ses.secret.matches(smtp_password) is True
    assert ses.secret.matches(iam_secret) is False
    mistakes = ses.credential_mistakes("AKIAIOSFODNN7EXAMPLE", iam_secret)
    assert [m.field for m in mistakes] == ["secret"]
    assert "IAM secret" in mistakes[0].message
    assert ses.credential_mistakes("AKIAIOSFODNN7EXAMPLE", smtp_password) == ()

    sendgrid = providers.get("sendgrid")
    key = "SG." + "a" * 22 + "." + "b" * 43
    assert len(key) == 69
    assert sendgrid.secret.matches(key) is True
    assert sendgrid.credential_mistakes("apikey", key) == ()
    assert [m.field for m in sendgrid.credential_mistakes("me@example.com", key)] == ["username"]
    # A provider that accepts any value says so with None rather than guessing.
    assert providers.get("mandrill").username.matches("anything") is None


def test_envelope_and_return_path() -> None:
    ses = providers.get("ses")
    assert ses.envelope.owner is EnvelopeOwner.PROVIDER
    assert ses.envelope.domain == "amazonses.com"
    assert ses.return_path is not None
    assert ses.return_path.target_for("eu-west-1") == "feedback-smtp.eu-west-1.amazonses.com"
    assert ses.return_path.record_type == "MX"
    resend = providers.get("resend")
    assert resend.envelope.owner is EnvelopeOwner.SUBDOMAIN
    assert resend.return_path is not None
    assert resend.return_path.label == "send"
    assert providers.get("google-workspace").envelope.owner is EnvelopeOwner.CUSTOMER
    assert providers.get("trekmail").spf_include == "spf.trekmail.net"
    assert not providers.get("mailgun-eu").is_confirmed("spf_include")
    assert providers.get("mailgun").is_confirmed("spf_include")


def test_dkim_selectors() -> None:
    assert providers.get("sendgrid").dkim.matches_selector("s1")
    assert not providers.get("sendgrid").dkim.matches_selector("s3")
    assert providers.get("ses").dkim.record_type == "CNAME"
    assert providers.get("ses").dkim.matches_selector("a" * 32)
    assert providers.get("postmark").dkim.matches_selector("20240101120000pm")


def test_copied_spf_networks_are_dated_and_sourced() -> None:
    with_networks = {p.key: p.spf_networks for p in providers.all() if p.spf_networks is not None}
    # Only providers whose published ranges could be sourced carry them; the rest rely on PTR.
    assert set(with_networks) == {"ses", "sendgrid", "microsoft-365"}
    for known in with_networks.values():
        assert known.as_of.year >= 2023
        assert known.source
        assert known.ranges
    sendgrid = with_networks["sendgrid"]
    assert sendgrid.contains("167.89.12.34")  # the demo reports' SendGrid addresses
    assert sendgrid.contains("149.72.4.9")
    assert not sendgrid.contains("159.183.7.7")  # not in the copied record
    assert not sendgrid.contains("not an address")
    assert with_networks["ses"].contains("54.240.8.21")
    assert with_networks["microsoft-365"].contains("2a01:111:f400::25")
    assert not with_networks["microsoft-365"].contains("167.89.12.34")


def test_spf_at_the_from_domain_follows_whose_envelope_it_is() -> None:
    at = {p.key: p.spf_at_from_domain for p in providers.all()}
    for provider in providers.all():
        owner = provider.envelope.owner
        if owner is EnvelopeOwner.CUSTOMER:
            # Their mail is SPF-checked on the customer's own domain: without it, SPF fails.
            assert at[provider.key] is SpfAtFromDomain.REQUIRED, provider.key
        else:
            # Checked on the provider's domain or a return-path subdomain: the From domain's
            # include changes nothing for DMARC.
            assert at[provider.key] is not SpfAtFromDomain.REQUIRED, provider.key
    assert at["ses"] is SpfAtFromDomain.NEVER
    assert at["postmark"] is SpfAtFromDomain.NEVER
    # The platform's help article: v=spf1 include:spf.trekmail.net include:sendgrid.net -all.
    assert at["sendgrid"] is SpfAtFromDomain.ADVISED
    assert at[providers.PLATFORM] is SpfAtFromDomain.REQUIRED


@pytest.mark.parametrize(
    ("selector", "key"),
    [
        ("selector1", "microsoft-365"),
        ("Selector2", "microsoft-365"),
        ("google", "google-workspace"),
        ("s1", "sendgrid"),
        ("awbr2rp4egb35wbg4umq4e5dcoe5kc4n", "ses"),
        ("20240101120000pm", "postmark"),
        ("trekmail", "trekmail"),
        ("zmail", "zoho"),
        ("mte1", "mandrill"),
    ],
)
def test_a_selector_convention_names_its_provider(selector: str, key: str) -> None:
    found = providers.by_selector(selector)
    assert found is not None
    assert found.key == key


@pytest.mark.parametrize("selector", ["default", "k1", "mail", "dkim", "s3x", ""])
def test_a_selector_anyone_uses_names_nobody(selector: str) -> None:
    assert providers.by_selector(selector) is None
