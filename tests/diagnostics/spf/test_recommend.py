"""`recommend()` against a loopback nameserver: the exact record to publish, what is already
authorized (by walking the tree), the return-path cases and the ways out of the look-up limit."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from diagnostics.errors import InvalidInput
from diagnostics.spf import SpfRecommendation, analyze, check_host, recommend, recommend_async
from tests.diagnostics.spf.test_analyze import PROVIDERS
from tests.support.nameserver import TIMEOUT, LoopbackNameserver

StartServer = Callable[..., LoopbackNameserver]


def serve(nameserver: StartServer, data: Mapping[str, Any]) -> LoopbackNameserver:
    server: LoopbackNameserver = nameserver({**PROVIDERS, **data})
    return server


def advise(
    nameserver: StartServer,
    data: Mapping[str, Any],
    providers: list[str],
    domain: str = "example.com",
) -> SpfRecommendation:
    server = serve(nameserver, data)
    return recommend(domain, providers, resolver=server.resolver(timeout=0.3))


def test_seed_example(nameserver: StartServer) -> None:
    rec = advise(
        nameserver, {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}}, ["sendgrid"]
    )
    assert rec.domain == "example.com"
    assert rec.current == "v=spf1 include:spf.trekmail.net -all"
    assert rec.record == "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
    assert rec.changed
    assert rec.added == ("sendgrid",)
    assert rec.already_authorized == ()
    assert rec.lookups_after == 2
    assert rec.findings == ()
    assert rec.strings == (rec.record,)
    # SendGrid's envelope sender is its own by default: the notes say so, naming the domain.
    assert any("sendgrid.net" in note and "DKIM" in note for note in rec.notes)


def test_the_recommended_record_really_authorizes_the_provider(nameserver: StartServer) -> None:
    server = serve(nameserver, {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}})
    resolver = server.resolver()
    before = check_host("167.89.20.1", "info@example.com", resolver=resolver)
    assert before.result == "fail"
    rec = recommend("example.com", ["sendgrid", "trekmail"], resolver=resolver)
    assert rec.record is not None
    server.update({"example.com": {"TXT": [rec.record]}})
    after = server.resolver()
    assert check_host("167.89.20.1", "info@example.com", resolver=after).result == "pass"
    assert check_host("203.0.113.9", "info@example.com", resolver=after).result == "pass"
    assert check_host("192.0.2.1", "info@example.com", resolver=after).result == "fail"
    assert (
        check_host("167.89.20.1", "info@example.com", resolver=after).lookups == rec.lookups_after
    )


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("v=spf1 mx ~all", "v=spf1 mx include:sendgrid.net ~all"),
        ("v=spf1 ip4:192.0.2.1 ?all", "v=spf1 ip4:192.0.2.1 include:sendgrid.net ?all"),
        ("v=spf1 a -all mx", "v=spf1 a include:sendgrid.net -all mx"),
        (
            "v=spf1 a redirect=_spf.example.net",
            "v=spf1 a include:sendgrid.net redirect=_spf.example.net",
        ),
        ("v=spf1 ip4:192.0.2.1", "v=spf1 ip4:192.0.2.1 include:sendgrid.net"),
        ("V=SPF1  ip4:192.0.2.1   -ALL", "v=spf1 ip4:192.0.2.1 include:sendgrid.net -ALL"),
    ],
)
def test_insertion_keeps_terms_order_and_qualifier(
    nameserver: StartServer, current: str, expected: str
) -> None:
    rec = advise(
        nameserver,
        {
            "example.com": {"TXT": [current], "A": ["192.0.2.1"], "MX": ["10 example.com"]},
            "_spf.example.net": {"TXT": ["v=spf1 -all"]},
        },
        ["sendgrid"],
    )
    assert rec.record == expected


def test_no_record_gets_a_fresh_one_with_minus_all(nameserver: StartServer) -> None:
    rec = advise(
        nameserver,
        {"example.com": {"A": ["192.0.2.1"]}},
        ["trekmail", "sendgrid", "google-workspace"],
    )
    assert rec.current is None
    assert rec.record == (
        "v=spf1 include:spf.trekmail.net include:sendgrid.net include:_spf.google.com -all"
    )
    assert rec.lookups_after == 5
    assert rec.added == ("trekmail", "sendgrid", "google-workspace")


def test_already_authorized_through_a_nested_include(nameserver: StartServer) -> None:
    rec = advise(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 include:_spf.company.com -all"]},
            "_spf.company.com": {"TXT": ["v=spf1 include:_spf2.company.com ~all"]},
            "_spf2.company.com": {"TXT": ["v=spf1 include:sendgrid.net ip4:192.0.2.0/24 ~all"]},
        },
        ["sendgrid", "microsoft-365"],
    )
    assert rec.already_authorized == ("sendgrid",)
    assert rec.added == ("microsoft-365",)
    assert rec.record == "v=spf1 include:_spf.company.com include:spf.protection.outlook.com -all"
    note = next(n for n in rec.notes if "already authorized" in n)
    assert "include:_spf.company.com -> include:_spf2.company.com -> include:sendgrid.net" in note


def test_nothing_to_add_leaves_the_record_unchanged(nameserver: StartServer) -> None:
    current = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
    rec = advise(nameserver, {"example.com": {"TXT": [current]}}, ["sendgrid", "trekmail"])
    assert rec.record == current
    assert not rec.changed
    assert rec.already_authorized == ("trekmail", "sendgrid")  # platform first, then catalogue


def test_a_look_alike_name_is_not_mistaken_for_the_provider(nameserver: StartServer) -> None:
    rec = advise(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 include:notsendgrid.net include:sendgrid.net.example.org -all"]
            },
            "notsendgrid.net": {"TXT": ["v=spf1 ip4:198.51.100.0/24 -all"]},
            "sendgrid.net.example.org": {"TXT": ["v=spf1 ip4:198.51.101.0/24 -all"]},
        },
        ["sendgrid"],
    )
    assert rec.already_authorized == ()
    assert rec.added == ("sendgrid",)


def test_a_negative_include_does_not_authorize(nameserver: StartServer) -> None:
    rec = advise(
        nameserver, {"example.com": {"TXT": ["v=spf1 -include:sendgrid.net ~all"]}}, ["sendgrid"]
    )
    assert rec.already_authorized == ()
    assert rec.record == "v=spf1 -include:sendgrid.net include:sendgrid.net ~all"


def test_flattened_ranges_that_cover_the_provider_count_as_authorized(
    nameserver: StartServer,
) -> None:
    rec = advise(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 ip4:167.89.0.0/16 ip4:149.72.0.0/16 ip4:168.245.0.0/17 -all"]
            }
        },
        ["sendgrid"],
    )
    assert rec.already_authorized == ("sendgrid",)
    assert not rec.changed
    assert any("kept up to date" in n for n in rec.notes)
    partial = advise(
        nameserver, {"example.com": {"TXT": ["v=spf1 ip4:167.89.0.0/16 -all"]}}, ["sendgrid"]
    )
    assert partial.added == ("sendgrid",)


def test_lookups_after_counts_the_provider_trees(nameserver: StartServer) -> None:
    rec = advise(
        nameserver, {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}}, ["mailgun"]
    )
    # trekmail 1 + mailgun.org 1 + its two includes 2.
    assert rec.lookups_after == 4
    assert any("mg.example.com" in n for n in rec.notes)


def test_shared_include_is_added_once(nameserver: StartServer) -> None:
    server = serve(
        nameserver,
        {
            "bounces.example.com": {"TXT": ["v=spf1 -all"]},
            "sparkpostmail.com": {"TXT": ["v=spf1 ip4:192.174.80.0/20 ~all"]},
        },
    )
    # SparkPost's include belongs on its bounce (return-path) domain, never on the From domain.
    rec = recommend(
        "bounces.example.com",
        ["sparkpost", "sparkpost-eu"],
        resolver=server.resolver(),
        return_path=True,
    )
    assert rec.record == "v=spf1 include:sparkpostmail.com -all"
    assert rec.added == ("sparkpost", "sparkpost-eu")
    assert any("not confirmed" in n for n in rec.notes)


def test_resend_goes_on_its_return_path_subdomain(nameserver: StartServer) -> None:
    current = "v=spf1 include:spf.trekmail.net -all"
    rec = advise(nameserver, {"example.com": {"TXT": [current]}}, ["resend"])
    assert rec.record == current
    assert rec.added == ()
    assert [(r.name, r.rdtype) for r in rec.other_records] == [
        ("send.example.com", "TXT"),
        ("send.example.com", "MX"),
    ]
    assert rec.other_records[0].value == "v=spf1 include:amazonses.com ~all"
    assert "feedback-smtp." in rec.other_records[1].value
    assert any("send.example.com" in n for n in rec.notes)
    done = advise(
        nameserver,
        {
            "example.com": {"TXT": [current]},
            "send.example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]},
        },
        ["resend"],
    )
    assert done.already_authorized == ("resend",)
    assert done.other_records == ()


def test_ses_include_never_goes_on_the_from_domain(nameserver: StartServer) -> None:
    # SES's mail is SPF-checked on amazonses.com (its own MAIL FROM), where it passes: its
    # include on the From domain changes nothing for DMARC, and SES says not to add it.
    current = "v=spf1 include:spf.trekmail.net -all"
    rec = advise(nameserver, {"example.com": {"TXT": [current]}}, ["trekmail", "ses", "postmark"])
    assert rec.record == current
    assert not rec.changed
    assert rec.added == ()
    assert rec.left_out == ("ses", "postmark")
    note = next(n for n in rec.notes if "Amazon SES" in n)
    assert "include:amazonses.com" in note
    assert "would change nothing for DMARC" in note
    assert "custom return path" in note
    assert "feedback-smtp" in note


def test_on_a_return_path_domain_the_ses_include_is_added(nameserver: StartServer) -> None:
    server = serve(nameserver, {"bounce.example.com": {"MX": ["10 feedback-smtp.x.amazonses.com"]}})
    rec = recommend("bounce.example.com", ["ses"], resolver=server.resolver(), return_path=True)
    assert rec.record == "v=spf1 include:amazonses.com -all"
    assert rec.added == ("ses",)
    assert rec.left_out == ()


@pytest.mark.parametrize(
    "named",
    [
        ["trekmail", "sendgrid", "google-workspace", "microsoft-365"],
        ["microsoft-365", "google-workspace", "sendgrid", "trekmail"],
        ["sendgrid", "microsoft-365", "trekmail", "google-workspace", "sendgrid"],
        ["google-workspace", "trekmail", "microsoft-365", "sendgrid"],
    ],
)
def test_the_same_providers_give_the_same_record_in_any_order(
    nameserver: StartServer, named: list[str]
) -> None:
    rec = advise(nameserver, {"example.com": {}}, named)
    # The platform first, then the catalogue's order: byte-identical on every surface.
    assert rec.record == (
        "v=spf1 include:spf.trekmail.net include:sendgrid.net include:_spf.google.com "
        "include:spf.protection.outlook.com -all"
    )
    assert rec.added == ("trekmail", "sendgrid", "google-workspace", "microsoft-365")


def test_the_platform_named_by_the_caller_comes_first(nameserver: StartServer) -> None:
    server = serve(nameserver, {"example.com": {"TXT": ["v=spf1 -all"]}})
    rec = recommend(
        "example.com", ["microsoft-365", "sendgrid"], resolver=server.resolver(), platform=None
    )
    assert rec.record == "v=spf1 include:sendgrid.net include:spf.protection.outlook.com -all"
    other = recommend(
        "example.com",
        ["sendgrid", "microsoft-365"],
        resolver=server.resolver(),
        platform="microsoft-365",
    )
    assert other.record == "v=spf1 include:spf.protection.outlook.com include:sendgrid.net -all"


def test_provider_include_missing_from_dns_is_not_added(nameserver: StartServer) -> None:
    rec = advise(nameserver, {"example.com": {"TXT": ["v=spf1 -all"]}}, ["smtp2go"])
    assert rec.record == "v=spf1 -all"
    finding = next(f for f in rec.findings if f.code == "include_without_record")
    assert finding.term == "include:spf.smtp2go.com"
    assert "not confirmed" in finding.message


@pytest.mark.parametrize(
    "failure",
    [
        {"sendgrid.net": TIMEOUT},
        # A CNAME loop is what makes the loopback nameserver answer SERVFAIL.
        {"sendgrid.net": {"CNAME": ["loop.test"]}, "loop.test": {"CNAME": ["sendgrid.net"]}},
    ],
    ids=["timeout", "servfail"],
)
def test_provider_include_dns_cannot_read_is_still_added(
    nameserver: StartServer, failure: dict[str, Any]
) -> None:
    # Today's DNS failing says nothing against the include: leaving it out would propose a record
    # that still fails SendGrid's mail (what the demo showed on a machine without DNS).
    rec = advise(
        nameserver,
        {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}, **failure},
        ["sendgrid"],
    )
    assert rec.record == "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
    assert rec.added == ("sendgrid",)
    assert not any(f.code == "include_without_record" for f in rec.findings)
    note = next(n for n in rec.notes if "could not be read today" in n)
    assert "sendgrid.net" in note


def test_multiple_records_are_merged(nameserver: StartServer) -> None:
    rec = advise(
        nameserver,
        {
            "example.com": {
                "TXT": [
                    "v=spf1 include:spf.trekmail.net ip4:192.0.2.1 -all",
                    "v=spf1 ip4:192.0.2.1 include:_spf.google.com ~all",
                ]
            }
        },
        ["sendgrid", "trekmail"],
    )
    assert rec.current is None
    assert rec.already_authorized == ("trekmail",)
    assert rec.added == ("sendgrid",)
    assert rec.record is not None
    assert rec.record.startswith("v=spf1 include:spf.trekmail.net ip4:192.0.2.1 ")
    # The two records ended differently: the merged one starts soft (~all), and says so.
    assert rec.record.endswith(" include:sendgrid.net ~all")
    assert rec.record.count("ip4:192.0.2.1") == 1
    assert "include:_spf.google.com" in rec.record
    assert any("merges" in n for n in rec.notes)
    assert "multiple_records" not in [f.code for f in rec.findings]


def test_syntax_errors_are_kept_and_said(nameserver: StartServer) -> None:
    rec = advise(
        nameserver, {"example.com": {"TXT": ["v=spf1 ip4:192.0.2.300 -all"]}}, ["sendgrid"]
    )
    assert rec.record == "v=spf1 ip4:192.0.2.300 include:sendgrid.net -all"
    assert "syntax_error" in [f.code for f in rec.findings]
    assert any("syntax errors" in n for n in rec.notes)


BIG = {
    "example.com": {
        "TXT": [
            "v=spf1 include:spf.trekmail.net include:_spf.google.com include:mailgun.org "
            "include:_old.example.com include:spf.protection.outlook.com -all"
        ]
    },
    "_old.example.com": {"TXT": ["v=spf1 include:_old2.example.com ~all"]},
    "_old2.example.com": {"TXT": ["v=spf1 ip4:198.51.100.0/24 ~all"]},
    "spf.mailjet.com": {"TXT": ["v=spf1 ip4:87.253.232.0/21 ~all"]},
}


def test_over_ten_lookups_offers_the_ways_out_in_order(nameserver: StartServer) -> None:
    rec = advise(
        nameserver,
        BIG,
        ["trekmail", "google-workspace", "mailgun", "microsoft-365", "mailjet", "sendgrid"],
    )
    assert rec.added == ("sendgrid", "mailjet")
    # 1 + 3 (google) + 3 (mailgun) + 2 (_old) + 1 (outlook) + sendgrid 1 + mailjet 1 = 12
    assert rec.lookups_after == 12
    crossing = next(f for f in rec.findings if f.code == "too_many_lookups")
    assert crossing.term == "include:sendgrid.net"
    assert any("over the limit" in n for n in rec.notes)
    ways = rec.ways_out
    assert len(ways) == 4
    assert ways[0].startswith("Remove include:_old.example.com")
    assert "saves 2 look-ups" in ways[0]
    # The providers' ways in the canonical order (the catalogue's).
    assert ways[1].startswith("Move SendGrid")
    assert "saves 1" in ways[1]
    assert ways[2].startswith("Send Mailgun (US) mail from a subdomain")
    assert "saves 3 look-ups" in ways[2]
    assert "upkeep" in ways[3]
    assert rec.flattened is not None
    assert rec.flattened.startswith("v=spf1 ip4:")
    assert rec.flattened.endswith(" -all")
    assert "include:" not in rec.flattened


def test_flattened_record_authorizes_the_same_addresses(nameserver: StartServer) -> None:
    server = serve(nameserver, BIG)
    resolver = server.resolver()
    rec = recommend("example.com", ["sendgrid", "mailjet"], resolver=resolver)
    assert rec.flattened is not None
    nested = analyze("example.com", resolver=resolver, record=rec.record)
    flat = analyze("example.com", resolver=resolver, record=rec.flattened)
    assert flat.lookups == 0
    assert flat.authorized_networks() == nested.authorized_networks()
    assert ipaddress.ip_network("2001:4860:4000::/36") in flat.authorized_networks()
    # Published, the flattened record passes both edges of every range (where the nested one,
    # at 12 look-ups, gives permerror past the 10th) and fails what is outside them.
    server.update({"example.com": {"TXT": [rec.flattened]}})
    fresh = server.resolver()
    for network in flat.authorized_networks():
        for edge in (network.network_address, network.broadcast_address):
            assert check_host(str(edge), "a@example.com", resolver=fresh).result == "pass"
    assert check_host("192.0.2.200", "a@example.com", resolver=fresh).result == "fail"


def test_dynamic_tree_gets_no_flattened_variant(nameserver: StartServer) -> None:
    data = {
        "example.com": {
            "TXT": [
                "v=spf1 exists:%{i}.allow.example.com include:_spf.google.com include:mailgun.org "
                "include:spf.protection.outlook.com include:spf.mtasv.net a -all"
            ],
            "A": ["192.0.2.1"],
        }
    }
    rec = advise(nameserver, data, ["sendgrid", "mailjet"])
    assert rec.lookups_after > 10
    assert rec.flattened is None
    assert "not offered" in rec.ways_out[-1]


def test_unknown_provider_is_an_argument_error(nameserver: StartServer) -> None:
    with pytest.raises(InvalidInput) as caught:
        advise(nameserver, {}, ["sendgird"])
    assert "sendgrid" in str(caught.value)


@pytest.mark.parametrize("domain", ["a" * 64 + ".com", "exa mple.com"])
def test_bad_domain_gives_a_result(nameserver: StartServer, domain: str) -> None:
    rec = advise(nameserver, {}, ["sendgrid"], domain=domain)
    assert rec.record is None
    assert [f.code for f in rec.findings] == ["invalid_domain"]
    assert "No record can be proposed" in rec.notes[0]


def test_timeout_gives_no_record_rather_than_a_guess(nameserver: StartServer) -> None:
    rec = advise(nameserver, {"example.com": TIMEOUT}, ["sendgrid"])
    assert rec.record is None
    assert [f.code for f in rec.findings] == ["dns_error"]


def test_idn_domain(nameserver: StartServer) -> None:
    rec = advise(
        nameserver,
        {"xn--bcher-kva.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}},
        ["sendgrid"],
        domain="bücher.example",
    )
    assert rec.domain == "xn--bcher-kva.example"
    assert rec.record == "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"


def test_long_result_is_cut_into_strings_at_spaces(nameserver: StartServer) -> None:
    ranges = " ".join(f"ip4:198.51.{i}.0/24" for i in range(25))
    rec = advise(nameserver, {"example.com": {"TXT": [f"v=spf1 {ranges} -all"]}}, ["sendgrid"])
    assert rec.record is not None
    assert len(rec.strings) == 2
    assert "".join(rec.strings) == rec.record
    assert all(len(s.encode()) <= 255 for s in rec.strings)
    assert rec.strings[0].endswith(" ")
    assert "record_too_long" in [f.code for f in rec.findings]


async def test_async_matches_sync(nameserver: StartServer) -> None:
    server = serve(nameserver, {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}})
    sync = recommend("example.com", ["sendgrid", "resend"], resolver=server.resolver())
    other = await recommend_async("example.com", ["sendgrid", "resend"], resolver=server.resolver())
    assert other == sync
    assert other.to_dict()["record"] == "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"


def test_long_flattened_record_says_how_to_split_it(nameserver: StartServer) -> None:
    wide = {
        "_wide.example.com": {
            "TXT": ["v=spf1 " + " ".join(f"ip4:10.{i}.0.0/16" for i in range(0, 80, 2)) + " ~all"]
        }
    }
    data = {
        "example.com": {
            "TXT": [BIG["example.com"]["TXT"][0].replace("-all", "include:_wide.example.com -all")]
        },
        **{k: v for k, v in BIG.items() if k != "example.com"},
        **wide,
    }
    rec = advise(nameserver, data, ["sendgrid"])
    assert rec.flattened is not None
    assert len(rec.flattened) > 450
    assert "_spf1.example.com" in rec.ways_out[-1]


def test_confirmed_include_without_record_today_is_still_added(nameserver: StartServer) -> None:
    # A resolver that knows no provider names (a sandbox, a filtering proxy): the catalogue's
    # confirmed include is what the provider documents, so it stays in the proposed record.
    server = nameserver({"example.com": {"TXT": ["v=spf1 -all"]}})
    rec = recommend("example.com", ["sendgrid"], resolver=server.resolver(timeout=0.3))
    assert rec.record == "v=spf1 include:sendgrid.net -all"
    assert rec.added == ("sendgrid",)
    note = next(n for n in rec.notes if "could not be read today" in n)
    assert "SendGrid documents it" in note
