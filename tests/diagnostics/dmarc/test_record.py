"""The DMARC record of a domain: parsing, org-domain fallback, report destinations, on loopback DNS."""

from __future__ import annotations

import pytest

from diagnostics.dmarc.record import (
    check_dmarc,
    check_dmarc_async,
    parse_dmarc,
)
from diagnostics.findings import Severity
from diagnostics.verdict import Verdict


def codes(findings):
    return [f.code for f in findings]


def severities(record):
    return {f.code: f.severity for f in record.findings}


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
        ("v=DMARC1; p=none; pct=150", "bad_pct"),
        ("v=DMARC1; p=none; adkim=x", "syntax_error"),
        ("v=DMARC1; p=none; rua=dmarc@example.com", "bad_report_uri"),
        ("v=DMARC1; p=none; garbage", "malformed_tag"),
    ],
)
def test_syntax_errors_are_findings(text, code):
    assert code in codes(parse_dmarc(text, domain="example.com").findings)


# --- read as receivers read it (RFC 7489, RFC 9989), issue 13 ------------------------------------


@pytest.mark.parametrize(
    "text",
    ["v=DMARC1; p=none; p=reject", "v=DMARC1; p=reject; P=reject", "v=DMARC1; p=none; v=DMARC1"],
)
def test_a_repeated_tag_voids_the_record(text):
    record = parse_dmarc(text, domain="example.com")
    assert not record.valid
    assert record.policy is None
    assert severities(record)["duplicate_tag"] is Severity.ERROR


def test_rua_without_p_means_p_none_and_reports_keep_coming():
    record = parse_dmarc("v=DMARC1; rua=mailto:d@example.com", domain="example.com")
    assert record.valid
    assert (record.policy, record.subdomain_policy) == ("none", "none")
    assert [d.address for d in record.rua] == ["d@example.com"]
    (finding,) = [f for f in record.findings if f.code == "no_policy"]
    assert finding.severity is Severity.WARNING
    assert "p=none" in finding.message
    assert "ignore" not in finding.message


def test_no_p_and_no_rua_is_ignored_and_says_which_rfc():
    record = parse_dmarc("v=DMARC1; adkim=s", domain="example.com")
    assert not record.valid
    (finding,) = [f for f in record.findings if f.code == "no_policy"]
    assert finding.severity is Severity.ERROR
    assert "RFC 7489" in finding.message
    assert "RFC 9989" in finding.message


def test_a_bad_sp_is_never_reported_as_the_p_it_sits_beside():
    # RFC 7489 6.6.3 step 6: with a usable rua=, as if "v=DMARC1; p=none"; without, no DMARC.
    alone = parse_dmarc("v=DMARC1; p=reject; sp=bogus", domain="example.com")
    assert not alone.valid
    assert (alone.policy, alone.subdomain_policy) == (None, None)
    assert severities(alone)["syntax_error"] is Severity.ERROR
    reported = parse_dmarc(
        "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", domain="example.com"
    )
    assert reported.valid
    assert (reported.policy, reported.subdomain_policy) == ("none", "none")
    (finding,) = [f for f in reported.findings if f.term == "sp"]
    assert "p=none" in finding.message
    assert "p=reject is not applied" in finding.message


@pytest.mark.parametrize("bad", ["tagonly", "=value", "p reject", "1x=2"])
def test_one_malformed_tag_is_skipped_and_the_rest_applies(bad):
    record = parse_dmarc(f"v=DMARC1; p=reject; {bad}; adkim=s", domain="example.com")
    assert record.valid
    assert (record.policy, record.adkim) == ("reject", "s")
    assert severities(record) == {"malformed_tag": Severity.WARNING}


def test_tag_names_may_have_underscores():
    record = parse_dmarc("v=DMARC1; p=reject; ignore_me=true; x_1=y", domain="example.com")
    assert record.valid
    assert record.findings == ()
    assert ("ignore_me", "true") in record.tags


@pytest.mark.parametrize(
    ("value", "stored"), [("0", "0"), ("1", "1"), ("d:s", "d:s"), (" 0 : 1 ", "0:1"), ("D", "d")]
)
def test_fo_values(value, stored):
    record = parse_dmarc(f"v=DMARC1; p=none; fo={value}", domain="example.com")
    assert record.failure_options == stored
    assert record.findings == ()


@pytest.mark.parametrize("value", ["x", "invalid_value", "01", "", "1:2", "0:"])
def test_a_bad_fo_is_an_error_and_drops_to_zero(value):
    record = parse_dmarc(f"v=DMARC1; p=none; fo={value}", domain="example.com")
    assert record.valid
    assert record.failure_options == "0"
    assert severities(record) == {"syntax_error": Severity.ERROR}
    assert record.findings[0].term == "fo"


@pytest.mark.parametrize(
    "text",
    [" v=DMARC1; p=reject", "\tv=DMARC1; p=reject", "v=dmarc1; p=reject", "v=DMARC1 p=reject"],
)
def test_the_record_begins_with_v_dmarc1_exactly(text):
    record = parse_dmarc(text, domain="example.com")
    assert not record.valid
    assert severities(record)["syntax_error"] is Severity.ERROR


@pytest.mark.parametrize(
    "text", ["V=DMARC1; p=reject", "v = DMARC1 ; p = reject", "v=DMARC1;p=reject;"]
)
def test_v_may_be_capital_and_spaced(text):
    assert parse_dmarc(text, domain="example.com").valid


def test_the_tags_may_follow_v_in_any_order():
    record = parse_dmarc("v=DMARC1; sp=none; p=reject", domain="example.com")
    assert (record.policy, record.subdomain_policy) == ("reject", "none")


@pytest.mark.parametrize(
    ("tag", "good", "bad"),
    [("np", "quarantine", "invalid"), ("psd", "n", "x"), ("t", "y", "x")],
)
def test_rfc9989_tags_are_checked(tag, good, bad):
    record = parse_dmarc(f"v=DMARC1; p=reject; {tag}={good}", domain="example.com")
    assert record.findings == ()
    broken = parse_dmarc(f"v=DMARC1; p=reject; {tag}={bad}", domain="example.com")
    assert broken.valid
    (finding,) = broken.findings
    assert (finding.code, finding.severity, finding.term) == ("syntax_error", Severity.ERROR, tag)
    assert "RFC 9989" in finding.message


def test_rfc9989_values_are_kept():
    record = parse_dmarc("v=DMARC1; p=reject; np=quarantine; psd=y; t=y", domain="example.com")
    assert (record.non_existent_policy, record.psd, record.testing) == ("quarantine", "y", True)


@pytest.mark.parametrize("value", ["150", "-1", "abc", ""])
def test_a_bad_pct_only_warns_and_the_policy_applies_in_full(value):
    record = parse_dmarc(f"v=DMARC1; p=reject; pct={value}", domain="example.com")
    assert record.valid
    assert record.pct == 100
    (finding,) = record.findings
    assert (finding.code, finding.severity) == ("bad_pct", Severity.WARNING)
    assert "RFC 9989" in finding.message


def test_removed_tags_are_noted():
    record = parse_dmarc("v=DMARC1; p=reject; rf=afrf; ri=86400", domain="example.com")
    assert [(f.code, f.severity) for f in record.findings] == [("removed_tag", Severity.INFO)]


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
    "_dmarc.leading.example": {"TXT": " v=DMARC1; p=reject"},
    "_dmarc.nop.example": {"TXT": "v=DMARC1; rua=mailto:d@nop.example"},
    "_dmarc.test.example": {"TXT": "v=DMARC1; p=reject; t=y; rua=mailto:d@test.example"},
    "_dmarc.unrelated.example": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@x.example", "hello"]},
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


def test_a_record_with_a_leading_space_is_discarded_and_said_so(resolver):
    check = check_dmarc("leading.example", resolver=resolver)
    assert check.status is Verdict.ERROR
    assert check.applied_policy is None
    assert check.record is not None
    assert not check.record.valid
    assert "white space" in check.findings[0].message


def test_a_record_without_p_but_with_rua_applies_p_none(resolver):
    check = check_dmarc("nop.example", resolver=resolver)
    assert check.applied_policy == "none"
    assert check.status is Verdict.WARNING
    assert codes(check.findings) == ["no_policy", "policy_none"]


def test_test_mode_is_a_warning(resolver):
    check = check_dmarc("test.example", resolver=resolver)
    assert check.applied_policy == "reject"
    assert codes(check.findings) == ["testing_mode"]


def test_other_txt_records_beside_the_record_do_not_count(resolver):
    check = check_dmarc("unrelated.example", resolver=resolver)
    assert check.applied_policy == "reject"


def test_dns_failure_and_bad_name_are_values(resolver):
    assert codes(check_dmarc("slow.example", resolver=resolver).findings) == ["dns_error"]
    assert codes(check_dmarc("bad..name", resolver=resolver).findings) == ["invalid_domain"]


async def test_async_gives_the_same_answer(resolver):
    sync = check_dmarc("external.example", resolver=resolver)
    concurrent = await check_dmarc_async("external.example", resolver=resolver)
    assert concurrent.to_dict() == sync.to_dict()
