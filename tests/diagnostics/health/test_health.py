"""check_domain against loopback DNS: one status per part, findings with the record to publish."""

from __future__ import annotations

import pytest

from diagnostics.errors import InvalidInput
from diagnostics.findings import Severity
from diagnostics.health import PLATFORM_SELECTOR, check_domain, check_domain_async
from diagnostics.verdict import Verdict
from tests.diagnostics.health.keys import ed25519_p, rsa_record, split

PROVIDER_ZONES = {
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
    "sendgrid.net": {"TXT": "v=spf1 ip4:167.89.0.0/17 ~all"},
    "amazonses.com": {"TXT": "v=spf1 ip4:54.240.0.0/18 ~all"},
    "s1.domainkey.u77.wl88.sendgrid.net": {"TXT": [split(rsa_record(2048))]},
    "s2.domainkey.u77.wl88.sendgrid.net": {"TXT": [split(rsa_record(2048))]},
    "mx.mailhost.example": {"A": "192.0.2.25"},
}


def domain_zone(name, *, spf, dmarc="v=DMARC1; p=reject; rua=mailto:d@{name}", extra=None):
    zone = {
        name: {"TXT": spf, "MX": "10 mx.mailhost.example"},
        f"_dmarc.{name}": {"TXT": dmarc.format(name=name)},
        f"{PLATFORM_SELECTOR}._domainkey.{name}": {"TXT": [split(rsa_record(2048))]},
    }
    zone.update(extra or {})
    return zone


ZONE = {
    **PROVIDER_ZONES,
    # The seed's example: SendGrid relays, but SPF only names the platform.
    **domain_zone(
        "seed.example",
        spf="v=spf1 include:spf.trekmail.net -all",
        extra={
            "s1._domainkey.seed.example": {"CNAME": "s1.domainkey.u77.wl88.sendgrid.net"},
            "s2._domainkey.seed.example": {"CNAME": "s2.domainkey.u77.wl88.sendgrid.net"},
        },
    ),
    # Everything right for SendGrid.
    **domain_zone(
        "good.example",
        spf="v=spf1 include:spf.trekmail.net include:sendgrid.net -all",
        extra={
            "s1._domainkey.good.example": {"CNAME": "s1.domainkey.u77.wl88.sendgrid.net"},
            "s2._domainkey.good.example": {"CNAME": "s2.domainkey.u77.wl88.sendgrid.net"},
        },
    ),
    # SES with a custom MAIL FROM, but no platform key and a revoked SES token key.
    **domain_zone(
        "ses.example",
        spf="v=spf1 include:spf.trekmail.net include:amazonses.com -all",
        dmarc="v=DMARC1; p=none",
        extra={
            "mail.ses.example": {"MX": "10 feedback-smtp.eu-west-1.amazonses.com"},
            "abcdefabcdefabcdefabcdefabcdef12._domainkey.ses.example": {
                "CNAME": "abcdefabcdefabcdefabcdefabcdef12.dkim.amazonses.com"
            },
            "abcdefabcdefabcdefabcdefabcdef12.dkim.amazonses.com": {"TXT": "v=DKIM1; p="},
        },
    ),
    # Microsoft 365: one CNAME right (key in testing), one pointing at the wrong host.
    **domain_zone(
        "m365.example",
        spf="v=spf1 include:spf.trekmail.net include:spf.protection.outlook.com -all",
        extra={
            "spf.protection.outlook.com": {"TXT": "v=spf1 ip4:203.0.113.0/24 -all"},
            "selector1._domainkey.m365.example": {
                "CNAME": "selector1-m365-example._domainkey.contoso.onmicrosoft.com"
            },
            "selector1-m365-example._domainkey.contoso.onmicrosoft.com": {
                "TXT": [split(rsa_record(2048, extra="t=y; "))]
            },
            "selector2._domainkey.m365.example": {
                "CNAME": "selector2-m365-example._domainkey.contoso.example"
            },
            "selector2-m365-example._domainkey.contoso.example": {"TXT": [split(rsa_record(2048))]},
        },
    ),
    # Resend: the include belongs on send.<domain>, which is missing; strict SPF alignment.
    **domain_zone(
        "resend.example",
        spf="v=spf1 include:spf.trekmail.net -all",
        dmarc="v=DMARC1; p=reject; aspf=s; rua=mailto:d@{name}",
        extra={"resend._domainkey.resend.example": {"TXT": f"v=DKIM1; k=ed25519; p={ed25519_p()}"}},
    ),
    # Already at the 10 look-up limit: adding SendGrid goes over it.
    **domain_zone(
        "busy.example",
        spf="v=spf1 "
        + " ".join(f"include:_s{i}.busy.example" for i in range(9))
        + " include:spf.trekmail.net -all",
    ),
    **{f"_s{i}.busy.example": {"TXT": f"v=spf1 ip4:192.0.2.{i}/32 -all"} for i in range(9)},
    # Issue 12 finding 4: SES with its own MAIL FROM (amazonses.com) and Easy DKIM.
    **domain_zone(
        "sesdefault.example",
        spf="v=spf1 include:spf.trekmail.net -all",
        extra={
            "abcdefabcdefabcdefabcdefabcdef34._domainkey.sesdefault.example": {
                "CNAME": "abcdefabcdefabcdefabcdefabcdef34.dkim.amazonses.com"
            },
            "abcdefabcdefabcdefabcdefabcdef34.dkim.amazonses.com": {
                "TXT": [split(rsa_record(2048))]
            },
        },
    ),
    # Nothing works: no SPF, no DKIM, no DMARC, no MX.
    "bare.example": {"A": "192.0.2.80"},
}
# ses.example has no platform key: remove it.
del ZONE[f"{PLATFORM_SELECTOR}._domainkey.ses.example"]


@pytest.fixture(scope="module")
def server():
    from tests.support.nameserver import LoopbackNameserver

    with LoopbackNameserver(ZONE) as ns:
        yield ns


@pytest.fixture
def resolver(server):
    return server.resolver(timeout=0.5)


def codes(part):
    return [f.code for f in part.findings]


def test_seed_example_sendgrid_include_missing(resolver):
    health = check_domain("seed.example", providers=["sendgrid"], resolver=resolver)
    # SendGrid's mail is SPF-checked on its own bounce domain: its include on the From domain is
    # advised (by SendGrid and the platform's help), not a DMARC failure, so a warning.
    assert health.spf.status is Verdict.WARNING
    assert "provider_not_authorized" not in codes(health.spf)
    (missing,) = [f for f in health.spf.findings if f.code == "provider_include_advised"]
    assert missing.severity is Severity.WARNING
    assert "This is not a DMARC failure" in missing.message
    assert "SPF-checked on sendgrid.net" in missing.message
    assert "v=spf1 include:spf.trekmail.net include:sendgrid.net -all" in missing.message
    assert "it replaces the current record, v=spf1 include:spf.trekmail.net -all" in missing.message
    assert health.dkim.status is Verdict.OK
    assert [c.selector for c in health.dkim_selectors] == [PLATFORM_SELECTOR, "s1", "s2"]
    assert health.dmarc.status is Verdict.OK
    assert health.mx.status is Verdict.OK
    assert health.status is Verdict.WARNING


def test_all_good_for_sendgrid(resolver):
    health = check_domain("good.example", providers=["sendgrid"], resolver=resolver)
    assert [p.status for p in health.parts] == [Verdict.OK] * 9
    assert [p.name for p in health.parts if not p.checked] == ["mx_tls"]  # network checks off
    assert "provider_authorized" in codes(health.spf)
    # SendGrid's own envelope domain: SPF aligns only with its numbered return path.
    assert health.spf_recommendation is not None
    assert health.spf_recommendation.record == health.spf_analysis.record


def test_ses_custom_mail_from_revoked_key_and_no_platform_key(resolver):
    health = check_domain(
        "ses.example",
        providers=["ses"],
        selectors={"ses": ["abcdefabcdefabcdefabcdefabcdef12"]},
        resolver=resolver,
    )
    assert health.spf.status is Verdict.OK
    assert "return_path_aligned" in codes(health.spf)
    assert health.dkim.status is Verdict.ERROR
    assert "revoked" in codes(health.dkim)
    assert "no_working_key" in codes(health.dkim)
    assert health.dmarc.status is Verdict.WARNING
    assert codes(health.dmarc) == ["policy_none", "no_rua"]


def test_ses_selectors_not_given_are_named(resolver):
    health = check_domain("ses.example", providers=["ses"], resolver=resolver)
    assert "selector_unknown" in codes(health.dkim)


def test_missing_provider_key_is_a_warning_when_platform_signs(resolver):
    health = check_domain("seed.example", providers=["microsoft-365"], resolver=resolver)
    assert health.dkim.status is Verdict.WARNING
    warned = [f for f in health.dkim.findings if f.code == "cname_missing"]
    assert len(warned) == 2
    assert all("still passes DKIM" in f.message for f in warned)
    assert all(f.severity == "warning" for f in warned)
    # The CNAME to publish is the fix; "no key" would only repeat it.
    assert "no_key" not in codes(health.dkim)


def test_microsoft_365_cnames_right_testing_and_wrong(resolver):
    health = check_domain("m365.example", providers=["microsoft-365"], resolver=resolver)
    by_selector = {c.selector: c for c in health.dkim_selectors}
    assert by_selector["selector1"].status is Verdict.WARNING
    assert by_selector["selector1"].key.testing
    assert [f.code for f in by_selector["selector2"].findings] == ["cname_wrong"]
    # The platform's key and selector1 still verify: a wrong selector2 is a warning here.
    assert health.dkim.status is Verdict.WARNING
    assert {"testing", "cname_wrong"} <= set(codes(health.dkim))
    wrong = next(f for f in health.dkim.findings if f.code == "cname_wrong")
    assert (
        "(a name of the form selector2-<name>._domainkey.<name>.onmicrosoft.com)" in wrong.message
    )
    assert "still passes DKIM" in wrong.message
    assert health.spf.status is Verdict.OK


def test_resend_return_path_subdomain_and_strict_alignment(resolver):
    health = check_domain("resend.example", providers=["resend"], resolver=resolver)
    (missing,) = [f for f in health.spf.findings if f.code == "return_path_not_authorized"]
    assert "send.resend.example" in missing.message
    assert "include:amazonses.com" in missing.message
    assert health.spf.status is Verdict.ERROR
    assert "resend" in [c.selector for c in health.dkim_selectors]
    assert health.dkim.status is Verdict.OK
    assert codes(health.dmarc) == ["strict_spf_alignment"]
    assert health.dmarc.status is Verdict.WARNING


def test_adding_a_provider_over_the_lookup_limit_gives_ways_out(resolver):
    health = check_domain("busy.example", providers=["sendgrid"], resolver=resolver)
    assert health.spf_analysis.lookups == 10
    assert health.spf_recommendation.lookups_after == 11
    (over,) = [f for f in health.spf.findings if f.code == "recommended_record_too_long"]
    assert "11 DNS look-ups" in over.message
    assert "flattened" in over.message


def test_given_selector_of_the_wrong_shape_is_noted(resolver):
    health = check_domain(
        "ses.example", providers=["ses"], selectors={"ses": ["short"]}, resolver=resolver
    )
    assert "selector_unexpected" in codes(health.dkim)


def test_bare_domain_every_part_failing(resolver):
    health = check_domain("bare.example", providers=["sendgrid"], resolver=resolver)
    assert health.spf.status is Verdict.ERROR
    assert health.dkim.status is Verdict.ERROR
    assert health.dmarc.status is Verdict.ERROR
    assert codes(health.mx) == ["no_mx"]
    # The required include (the platform's) is an error with the one record to publish, which
    # also lists the advised one (SendGrid's), said apart as a warning.
    (missing,) = [f for f in health.spf.findings if f.code == "provider_not_authorized"]
    assert "authorize TrekMail managed sending (include:spf.trekmail.net), so its mail" in (
        missing.message
    )
    assert missing.message.endswith(
        "Publish this TXT record at bare.example: "
        "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
    )
    (advised,) = [f for f in health.spf.findings if f.code == "provider_include_advised"]
    assert advised.message.endswith("Publish the record above.")
    assert codes(health.dmarc) == ["no_record"]
    assert "(nor does" not in health.dmarc.findings[0].message
    document = health.to_dict()
    assert document["status"] == "error"
    assert list(document["parts"]) == [
        *("spf", "dkim", "dmarc", "mx"),
        *("mta_sts", "tls_rpt", "bimi", "mx_tls", "dnssec"),
    ]


async def test_async_and_from_inside_a_running_loop(resolver):
    direct = await check_domain_async("good.example", providers=["sendgrid"], resolver=resolver)
    # A notebook calls the sync function with a loop already running.
    wrapped = check_domain("good.example", providers=["sendgrid"], resolver=resolver)
    assert direct.to_dict() == wrapped.to_dict()


def test_unknown_provider_is_invalid_input(resolver):
    with pytest.raises(InvalidInput, match="known providers"):
        check_domain("good.example", providers=["nosuch"], resolver=resolver)


def test_platform_selector_comes_from_the_catalogue():
    from diagnostics import providers

    assert providers.get("trekmail").dkim.selectors == (PLATFORM_SELECTOR,)


def test_unanswered_spf_is_not_called_missing(nameserver):
    # A timeout must not read as "publishes no SPF record": that advice would add a second record.
    server = nameserver({"slow.example": {"TIMEOUT": True}})
    health = check_domain("slow.example", resolver=server.resolver(timeout=0.3))
    assert health.spf.status is Verdict.ERROR
    assert health.spf.summary == "slow.example's SPF record could not be read"
    assert "dns_error" in codes(health.spf)
    bare = check_domain("bare.example", resolver=nameserver({}).resolver(timeout=0.3))
    assert bare.spf.summary == "bare.example publishes no SPF record"


SES_TOKEN = "abcdefabcdefabcdefabcdefabcdef34"
SES_HOST = "email-smtp.eu-west-1.amazonaws.com"


def test_ses_own_mail_from_is_no_spf_problem_and_the_fix_is_exact(resolver):
    # Issue 12 finding 4: SPF passes for amazonses.com (not aligned), DKIM passes. The include
    # on the From domain would change nothing for DMARC: no problem, and not the fix.
    health = check_domain(
        "sesdefault.example",
        providers=["ses"],
        selectors={"ses": [SES_TOKEN]},
        hosts=[SES_HOST],
        resolver=resolver,
    )
    assert health.spf.status is Verdict.OK
    assert not [f for f in health.spf.findings if f.severity is not Severity.INFO]
    assert health.spf_recommendation.record == health.spf_analysis.record
    assert health.spf_recommendation.left_out == ("ses",)
    for finding in health.spf.findings:
        assert "fails SPF" not in finding.message
        assert "include:amazonses.com -all" not in finding.message
    # The alignment fix is a custom MAIL FROM, as exact records: the region is the SMTP host's.
    (path,) = [f for f in health.spf.findings if f.code == "return_path_missing"]
    assert (
        'mail.sesdefault.example MX "10 feedback-smtp.eu-west-1.amazonses.com"; '
        'mail.sesdefault.example TXT "v=spf1 include:amazonses.com ~all"'
    ) in path.message
    assert "<" not in path.message
    assert health.dkim.status is Verdict.OK
    assert SES_TOKEN in [c.selector for c in health.dkim_selectors]


def test_without_the_ses_host_the_region_is_marked_not_guessed(resolver):
    health = check_domain("sesdefault.example", providers=["ses"], resolver=resolver)
    (path,) = [f for f in health.spf.findings if f.code == "return_path_missing"]
    assert "feedback-smtp.<your Amazon SES region>.amazonses.com" in path.message
    assert "REGION" not in path.message
    assert "email-smtp.<region>.amazonaws.com" in path.message  # where to find it


def test_a_host_names_its_provider(resolver):
    health = check_domain("sesdefault.example", hosts=[SES_HOST], resolver=resolver)
    assert health.providers == ("trekmail", "ses")


def test_selectors_seen_in_reports_are_checked_with_the_catalogues(resolver):
    health = check_domain(
        "m365.example",
        providers=["microsoft-365"],
        # As diagnostics.dmarc.selectors_seen gives them: per provider, "" for nobody known.
        selectors={"microsoft-365": ["selector1"], "": ["k1"]},
        resolver=resolver,
    )
    checked = [c.selector for c in health.dkim_selectors]
    assert checked == [PLATFORM_SELECTOR, "selector1", "selector2", "k1"]
    (unknown,) = [f for f in health.dkim.findings if "selector k1" in f.message]
    assert unknown.message.startswith("A sender in your DMARC reports, selector k1:")


def test_selectors_of_an_unknown_provider_are_invalid_input(resolver):
    with pytest.raises(InvalidInput, match="known providers"):
        check_domain("good.example", selectors={"nosuch": ["s1"]}, resolver=resolver)
