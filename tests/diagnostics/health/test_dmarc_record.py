"""The DMARC record of a domain: parsing, org-domain fallback, report destinations, on loopback DNS."""

from __future__ import annotations

import pytest

from diagnostics.dmarc_record import (
    check_dmarc,
    check_dmarc_async,
    organizational_domain,
    parse_dmarc,
)
from diagnostics.verdict import Verdict


def codes(findings):
    return [f.code for f in findings]


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("mail.example.co.uk", "example.co.uk"),
        ("a.b.example.com", "example.com"),
        ("example.com", "example.com"),
        ("co.uk", "co.uk"),
    ],
)
def test_organizational_domain(name, org):
    assert organizational_domain(name) == org


def test_defaults_filled_in():
    record = parse_dmarc("v=DMARC1; p=reject", domain="example.com")
    assert record.valid
    assert (record.policy, record.subdomain_policy, record.pct) == ("reject", "reject", 100)
    assert (record.adkim, record.aspf) == ("r", "r")


def test_every_tag_read():
    record = parse_dmarc(
        "v=DMARC1; p=quarantine; sp=none; pct=25; adkim=s; aspf=s; "
        "rua=mailto:a@example.com,mailto:b@reports.example.net!10m; ruf=mailto:f@example.com",
        domain="example.com",
    )
    assert (record.policy, record.subdomain_policy, record.pct) == ("quarantine", "none", 25)
    assert (record.adkim, record.aspf) == ("s", "s")
    assert [d.address for d in record.rua] == ["a@example.com", "b@reports.example.net"]
    assert [d.external for d in record.rua] == [False, True]
    assert record.ruf[0].domain == "example.com"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("p=reject", "syntax_error"),
        ("v=DMARC1; p=block", "syntax_error"),
        ("v=DMARC1", "no_policy"),
        ("v=DMARC1; p=none; pct=150", "syntax_error"),
        ("v=DMARC1; p=none; adkim=x", "syntax_error"),
        ("v=DMARC1; p=none; rua=dmarc@example.com", "bad_report_uri"),
        ("v=DMARC1; p=none; garbage", "syntax_error"),
    ],
)
def test_syntax_errors_are_findings(text, code):
    assert code in codes(parse_dmarc(text, domain="example.com").findings)


ZONE = {
    "_dmarc.none.example": {"TXT": "v=DMARC1; p=none; rua=mailto:d@none.example"},
    "_dmarc.quarantine.example": {
        "TXT": "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@quarantine.example"
    },
    "_dmarc.reject.example": {
        "TXT": "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:d@reject.example"
    },
    "_dmarc.external.example": {
        "TXT": "v=DMARC1; p=reject; rua=mailto:agg@reports.example.net,mailto:x@noauth.example.org"
    },
    "external.example._report._dmarc.reports.example.net": {"TXT": "v=DMARC1"},
    "noauth.example.org": {"MX": "10 mx.noauth.example.org"},
    "_dmarc.wild.example": {"TXT": "v=DMARC1; p=reject; rua=mailto:agg@wildcard.example.net"},
    "*._report._dmarc.wildcard.example.net": {"TXT": "v=DMARC1"},
    "_dmarc.broken.example": {"TXT": "v=DMARC1; p=rejected; rua=mailto:d@broken.example"},
    "_dmarc.twice.example": {"TXT": ["v=DMARC1; p=none", "v=DMARC1; p=reject"]},
    "_dmarc.norua.example": {"TXT": "v=DMARC1; p=reject"},
    "_dmarc.opensub.example": {"TXT": "v=DMARC1; p=reject; sp=none; rua=mailto:d@opensub.example"},
    "nodmarc.example": {"A": "192.0.2.1"},
    "_dmarc.slow.example": {"TIMEOUT": True},
}


@pytest.fixture
def resolver(nameserver):
    return nameserver(ZONE).resolver(timeout=0.5)


@pytest.mark.parametrize(
    ("domain", "policy", "status", "expected"),
    [
        ("none.example", "none", Verdict.WARNING, ["policy_none"]),
        ("quarantine.example", "quarantine", Verdict.WARNING, ["pct_partial"]),
        ("reject.example", "reject", Verdict.OK, []),
        ("norua.example", "reject", Verdict.WARNING, ["no_rua"]),
        ("opensub.example", "reject", Verdict.WARNING, ["subdomains_unprotected"]),
    ],
)
def test_policies(resolver, domain, policy, status, expected):
    check = check_dmarc(domain, resolver=resolver)
    assert check.applied_policy == policy
    assert check.status is status
    assert codes(check.findings) == expected


def test_subdomain_of_open_sp_gets_none(resolver):
    check = check_dmarc("news.opensub.example", resolver=resolver)
    assert check.applied_policy == "none"
    assert "policy_none" in [f.code for f in check.findings]


def test_subdomain_falls_back_to_org_domain_with_sp(resolver):
    check = check_dmarc("news.reject.example", resolver=resolver)
    assert check.found_at == "reject.example"
    assert check.inherited
    assert check.applied_policy == "quarantine"
    assert codes(check.findings) == ["inherited"]


def test_external_destinations_authorized_or_not(resolver):
    check = check_dmarc("external.example", resolver=resolver)
    assert check.record is not None
    assert [(d.domain, d.authorized) for d in check.record.rua] == [
        ("reports.example.net", True),
        ("noauth.example.org", False),
    ]
    (finding,) = [f for f in check.findings if f.code == "external_destination_unauthorized"]
    assert "external.example._report._dmarc.noauth.example.org" in finding.message
    assert check.status is Verdict.WARNING


def test_wildcard_authorization_counts(resolver):
    check = check_dmarc("wild.example", resolver=resolver)
    assert check.record is not None
    assert check.record.rua[0].authorized is True
    assert check.status is Verdict.OK


def test_no_record_gives_the_record_to_publish(resolver):
    check = check_dmarc("nodmarc.example", resolver=resolver)
    assert check.status is Verdict.ERROR
    assert codes(check.findings) == ["no_record"]
    assert '_dmarc.nodmarc.example: "v=DMARC1; p=none;' in check.findings[0].message


def test_broken_and_duplicate_records(resolver):
    broken = check_dmarc("broken.example", resolver=resolver)
    assert broken.status is Verdict.ERROR
    assert "syntax_error" in codes(broken.findings)
    twice = check_dmarc("twice.example", resolver=resolver)
    assert codes(twice.findings) == ["multiple_records"]
    assert twice.record is None


def test_dns_failure_and_bad_name_are_values(resolver):
    assert codes(check_dmarc("slow.example", resolver=resolver).findings) == ["dns_error"]
    assert codes(check_dmarc("bad..name", resolver=resolver).findings) == ["invalid_domain"]


async def test_async_gives_the_same_answer(resolver):
    sync = check_dmarc("external.example", resolver=resolver)
    concurrent = await check_dmarc_async("external.example", resolver=resolver)
    assert concurrent.to_dict() == sync.to_dict()
