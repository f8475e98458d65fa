"""`analyze()` against a loopback nameserver: the tree, RFC 7208 4.6.4 look-up counting, and every
finding code, including the cases other tools count wrong and input that must not raise."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from diagnostics.findings import Severity
from diagnostics.spf import SpfAnalysis, analyze, analyze_async, check_host
from diagnostics.spf.tree import FINDING_CODES
from tests.support.nameserver import TIMEOUT, LoopbackNameserver

StartServer = Callable[..., LoopbackNameserver]

# Provider records as they look in the wild (shapes and realistic ranges, written for these tests).
PROVIDERS: dict[str, Any] = {
    "spf.trekmail.net": {"TXT": ["v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:7e0::/48 -all"]},
    "sendgrid.net": {"TXT": ["v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 ip4:168.245.0.0/17 ~all"]},
    "amazonses.com": {
        "TXT": ["v=spf1 ip4:54.240.0.0/18 ip4:199.255.192.0/22 ip4:76.223.176.0/20 -all"]
    },
    "mailgun.org": {"TXT": ["v=spf1 include:_spf.mailgun.org include:_spf.eu.mailgun.org ~all"]},
    "_spf.mailgun.org": {"TXT": ["v=spf1 ip4:209.61.151.0/24 ip4:166.78.68.0/22 ~all"]},
    "_spf.eu.mailgun.org": {"TXT": ["v=spf1 ip4:141.193.32.0/23 ip4:161.38.192.0/20 ~all"]},
    "_spf.google.com": {
        "TXT": ["v=spf1 include:_netblocks.google.com include:_netblocks2.google.com ~all"]
    },
    "_netblocks.google.com": {"TXT": ["v=spf1 ip4:64.233.160.0/19 ip4:74.125.0.0/16 ~all"]},
    "_netblocks2.google.com": {"TXT": ["v=spf1 ip6:2001:4860:4000::/36 ~all"]},
    "spf.protection.outlook.com": {"TXT": ["v=spf1 ip4:40.92.0.0/15 ip4:52.100.0.0/14 -all"]},
    "spf.mtasv.net": {"TXT": ["v=spf1 ip4:50.31.156.0/23 ip4:104.245.209.192/26 ~all"]},
}


def zone(data: Mapping[str, Any]) -> dict[str, Any]:
    return {**PROVIDERS, **data}


def run(
    nameserver: StartServer, data: Mapping[str, Any], domain: str = "example.com"
) -> SpfAnalysis:
    server = nameserver(zone(data))
    return analyze(domain, resolver=server.resolver(timeout=0.3))


def codes(analysis: SpfAnalysis) -> list[str]:
    return [f.code for f in analysis.findings]


def test_clean_record_builds_the_tree_with_networks(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 include:spf.trekmail.net include:_spf.example.com mx -all"],
                "MX": ["10 mx1.example.com", "20 mx2.example.com"],
            },
            "mx1.example.com": {"A": ["192.0.2.10"], "AAAA": ["2001:db8::10"]},
            "mx2.example.com": {"A": ["192.0.2.11"]},
            "_spf.example.com": {"TXT": ["v=spf1 include:sendgrid.net ip4:198.51.100.0/24 -all"]},
        },
    )
    assert result.findings == ()
    assert result.record == "v=spf1 include:spf.trekmail.net include:_spf.example.com mx -all"
    # include, include, mx at the top; include:sendgrid.net below. MX host addresses are free.
    assert result.lookups == 4
    assert result.void_lookups == 0
    tree = result.tree
    assert [n.domain for n in tree.walk()] == [
        "example.com",
        "spf.trekmail.net",
        "_spf.example.com",
        "sendgrid.net",
    ]
    assert tree.lookups == 3
    assert tree.total_lookups == 4
    assert tree.children[1].via == "include:_spf.example.com"
    assert [n.running_total for n in tree.walk()] == [4, 1, 3, 3]
    assert set(tree.networks) == {
        ipaddress.ip_network("192.0.2.10/32"),
        ipaddress.ip_network("192.0.2.11/32"),
        ipaddress.ip_network("2001:db8::10/128"),
    }
    # "Is this IP authorized?" through the networks, two includes deep.
    assert result.authorizes("167.89.12.34") is True
    assert result.authorizes("2001:db8:7e0::5") is True
    assert result.authorizes("192.0.2.99") is False
    assert tree.find("sendgrid.net") is not None
    assert tree.is_static()


def test_mx_costs_one_lookup_whatever_its_hosts(nameserver: StartServer) -> None:
    hosts = {f"mx{i}.example.com": {"A": [f"192.0.2.{i}"]} for i in range(1, 10)}
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 mx a -all"],
                "MX": [f"{i} mx{i}.example.com" for i in range(1, 10)],
                "A": ["192.0.2.200"],
            },
            **hosts,
        },
    )
    # Nine MX hosts need nine address queries; only the mx term itself counts (pyspf-style
    # counters that add each MX host get 11 here and call it a permerror).
    assert result.lookups == 2
    assert "too_many_lookups" not in codes(result)
    assert len(result.tree.networks) == 10


def test_more_than_ten_mx_names_is_reported(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 mx -all"],
                "MX": [f"{i} mx{i}.example.com" for i in range(11)],
            },
            **{f"mx{i}.example.com": {"A": [f"192.0.2.{i + 1}"]} for i in range(11)},
        },
    )
    assert result.lookups == 1
    finding = next(f for f in result.findings if f.code == "too_many_lookups")
    assert finding.term == "mx"
    assert "11 MX records" in finding.message
    # Only the first ten hosts are ever considered.
    assert len(result.tree.networks) == 10


def test_exp_is_not_counted_and_redirect_counts_once(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 a redirect=_spf.example.net exp=explain.example.com"]},
            "explain.example.com": {"TXT": ["Not authorized"]},
            "_spf.example.net": {"TXT": ["v=spf1 include:sendgrid.net -all"]},
        }
        | {
            "example.com": {
                "TXT": ["v=spf1 a redirect=_spf.example.net exp=explain.example.com"],
                "A": ["192.0.2.1"],
            }
        },
    )
    # a (1) + redirect (1, the target's TXT fetch is part of it) + include:sendgrid.net (1).
    assert result.lookups == 3
    assert result.tree.children[0].via == "redirect=_spf.example.net"
    assert result.tree.children[0].domain == "_spf.example.net"
    # The redirect target's -all is the domain's policy: no no_all for the top record.
    assert "no_all" not in codes(result)
    assert result.findings == ()


def test_too_many_lookups_names_the_include_that_crosses_ten(nameserver: StartServer) -> None:
    chain = {f"_spf{i}.example.com": {"TXT": [f"v=spf1 ip4:198.51.100.{i}"]} for i in range(1, 4)}
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": [
                    "v=spf1 include:spf.trekmail.net include:_spf.google.com include:mailgun.org "
                    "include:_spf1.example.com include:_spf2.example.com include:sendgrid.net "
                    "include:_spf3.example.com include:amazonses.com -all"
                ]
            },
            **chain,
        },
    )
    # 8 top-level includes + 2 under google + 2 under mailgun = 12.
    assert result.lookups == 12
    finding = next(f for f in result.findings if f.code == "too_many_lookups")
    assert finding.severity is Severity.ERROR
    # trekmail (1), google (2, 3, 4), mailgun (5, 6, 7), _spf1 (8), _spf2 (9), sendgrid (10),
    # _spf3 is the 11th.
    assert finding.term == "include:_spf3.example.com"
    assert "12" in finding.message
    assert [n.running_total for n in result.tree.children][-1] == 12


def test_crossing_inside_an_include_names_the_top_level_include(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": [
                    "v=spf1 include:_a.example.com include:_spf.google.com include:mailgun.org "
                    "include:_b.example.com -all"
                ]
            },
            "_a.example.com": {
                "TXT": ["v=spf1 a:h1.example.com a:h2.example.com a:h3.example.com ~all"]
            },
            "_b.example.com": {
                "TXT": ["v=spf1 include:spf.mtasv.net include:spf.protection.outlook.com ~all"]
            },
            "h1.example.com": {"A": ["192.0.2.1"]},
            "h2.example.com": {"A": ["192.0.2.2"]},
            "h3.example.com": {"A": ["192.0.2.3"]},
        },
    )
    # _a (1) + 3 a (4) + google (5,6,7) + mailgun (8,9,10) + _b (11) + 2 = 13
    assert result.lookups == 13
    finding = next(f for f in result.findings if f.code == "too_many_lookups")
    assert finding.term == "include:_b.example.com"


def test_void_lookups_under_includes_add_up(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 a:gone1.example.com include:_spf.example.com -all"]},
            "_spf.example.com": {
                "TXT": ["v=spf1 a:gone2.example.com mx:nomx.example.com ip4:192.0.2.0/24 ~all"]
            },
            "nomx.example.com": {"A": ["192.0.2.7"]},  # exists, no MX: NODATA is void too
        },
    )
    assert result.void_lookups == 3
    assert result.tree.void_lookups == 1
    assert result.tree.children[0].void_lookups == 2
    finding = next(f for f in result.findings if f.code == "too_many_void_lookups")
    assert finding.term == "include:_spf.example.com"
    assert "mx:nomx.example.com" in finding.message


def test_two_void_lookups_are_allowed(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {"example.com": {"TXT": ["v=spf1 a:gone1.example.com a:gone2.example.com -all"]}},
    )
    assert result.void_lookups == 2
    assert "too_many_void_lookups" not in codes(result)


def test_terms_after_all_still_count(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all include:sendgrid.net"]}},
    )
    assert result.lookups == 2
    finding = next(f for f in result.findings if f.code == "terms_after_all")
    assert finding.term == "include:sendgrid.net"
    assert result.tree.children[1].domain == "sendgrid.net"


def test_redirect_with_all_is_reported(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 ip4:192.0.2.1 ~all redirect=_spf.example.net"]},
            "_spf.example.net": {"TXT": ["v=spf1 -all"]},
        },
    )
    assert [f.term for f in result.findings if f.code == "terms_after_all"] == [
        "redirect=_spf.example.net"
    ]


@pytest.mark.parametrize(
    ("record", "code", "severity", "term"),
    [
        ("v=spf1 include:spf.trekmail.net +all", "pass_all", Severity.ERROR, "+all"),
        ("v=spf1 include:spf.trekmail.net all", "pass_all", Severity.ERROR, "all"),
        ("v=spf1 include:spf.trekmail.net ?all", "neutral_all", Severity.WARNING, "?all"),
        ("v=spf1 include:spf.trekmail.net", "no_all", Severity.WARNING, None),
        ("v=spf1 ptr -all", "ptr_mechanism", Severity.WARNING, "ptr"),
        (
            "v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.128/25 -all",
            "overlapping_networks",
            Severity.INFO,
            "ip4:192.0.2.128/25",
        ),
        (
            "v=spf1 include:sendgrid.net include:sendgrid.net -all",
            "duplicate_include",
            Severity.WARNING,
            "include:sendgrid.net",
        ),
        ("v=spf1 ip4:192.0.2.300 -all", "syntax_error", Severity.ERROR, "ip4:192.0.2.300"),
        ("v=spf1 include:spf.trekmail.net foo -all", "syntax_error", Severity.ERROR, "foo"),
    ],
)
def test_record_level_findings(
    nameserver: StartServer, record: str, code: str, severity: Severity, term: str | None
) -> None:
    result = run(nameserver, {"example.com": {"TXT": [record]}})
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, codes(result)
    assert found[0].severity is severity
    assert found[0].term == term
    assert len(found[0].message) > 60  # what, why, what to do


def test_neutral_all_in_an_include_is_normal(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 include:_spf.example.com -all"]},
            "_spf.example.com": {"TXT": ["v=spf1 ip4:192.0.2.0/24 ?all"]},
        },
    )
    assert result.findings == ()


def test_pass_all_in_an_include_opens_the_domain(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 include:_spf.example.com -all"]},
            "_spf.example.com": {"TXT": ["v=spf1 ip4:192.0.2.0/24 +all"]},
        },
    )
    assert codes(result) == ["pass_all"]
    assert "included record" in result.findings[0].message


def test_literal_range_inside_an_include_overlaps(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {"example.com": {"TXT": ["v=spf1 include:sendgrid.net ip4:167.89.10.0/24 -all"]}},
    )
    found = [f for f in result.findings if f.code == "overlapping_networks"]
    assert [f.term for f in found] == ["ip4:167.89.10.0/24"]
    assert "167.89.0.0/17" in found[0].message


def test_no_record(nameserver: StartServer) -> None:
    result = run(
        nameserver, {"example.com": {"TXT": ["google-site-verification=abc"], "A": ["192.0.2.1"]}}
    )
    assert result.record is None
    assert codes(result) == ["no_record"]
    assert result.lookups == 0
    missing = run(nameserver, {}, domain="nowhere.example.com")
    assert codes(missing) == ["no_record"]
    assert "does not exist" in missing.findings[0].message


def test_multiple_records(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 include:spf.trekmail.net -all", "v=spf1 include:sendgrid.net -all"]
            }
        },
    )
    assert codes(result) == ["multiple_records"]
    assert result.record is None
    assert "2 SPF records" in result.findings[0].message


def test_include_loop(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 include:_a.example.com -all"]},
            "_a.example.com": {"TXT": ["v=spf1 include:_b.example.com ~all"]},
            "_b.example.com": {"TXT": ["v=spf1 include:example.com ~all"]},
        },
    )
    finding = next(f for f in result.findings if f.code == "include_loop")
    assert finding.term == "include:example.com"
    assert "example.com -> _a.example.com -> _b.example.com -> example.com" in finding.message
    assert result.lookups == 3


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({}, "does not exist"),
        ({"_spf.example.com": {"TXT": ["some verification token"]}}, "v=spf1"),
        ({"_spf.example.com": {"A": ["192.0.2.1"]}}, "no TXT record"),
    ],
)
def test_include_without_record(nameserver: StartServer, data: dict[str, Any], detail: str) -> None:
    result = run(
        nameserver, {"example.com": {"TXT": ["v=spf1 include:_spf.example.com -all"]}, **data}
    )
    assert codes(result) == ["include_without_record"]
    assert result.findings[0].term == "include:_spf.example.com"
    assert detail in result.findings[0].message


def test_redirect_without_record(nameserver: StartServer) -> None:
    result = run(nameserver, {"example.com": {"TXT": ["v=spf1 redirect=_spf.example.com"]}})
    assert codes(result) == ["include_without_record"]
    assert "redirect" in result.findings[0].message


def test_duplicate_include_across_the_tree(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 include:sendgrid.net include:_spf.example.com -all"]},
            "_spf.example.com": {"TXT": ["v=spf1 include:sendgrid.net ~all"]},
        },
    )
    assert codes(result) == ["duplicate_include"]
    assert result.lookups == 3  # evaluation fetches it twice, and counts it twice


def test_record_too_long(nameserver: StartServer) -> None:
    ranges = " ".join(f"ip4:198.51.{i}.0/24" for i in range(30))
    result = run(nameserver, {"example.com": {"TXT": [f"v=spf1 {ranges} -all"]}})
    assert len(result.record or "") > 450
    assert "record_too_long" in codes(result)


def test_badly_split_strings(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": [["v=spf1 include:spf.trekmail.net", "include:sendgrid.net -all"]]
            }
        },
    )
    finding = next(f for f in result.findings if f.code == "record_too_long")
    assert finding.severity is Severity.ERROR
    assert finding.term == "include:spf.trekmail.net"


def test_split_with_a_space_is_fine(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": [["v=spf1 include:spf.trekmail.net ", "include:sendgrid.net -all"]]
            }
        },
    )
    assert result.findings == ()
    assert result.lookups == 2


def test_deprecated_spf_rr(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"], "SPF": ["v=spf1 -all"]}},
    )
    assert codes(result) == ["deprecated_spf_rr"]


def test_macros_exists_and_ptr_make_the_tree_dynamic(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 include:_spf.example.com exists:%{i}.bl.example.com -all"]
            },
            "_spf.example.com": {
                "TXT": ["v=spf1 include:%{d}.relay.example.net ip4:192.0.2.0/24 ~all"]
            },
            "_spf.example.com.relay.example.net": {"TXT": ["v=spf1 ip4:198.51.100.0/24 ~all"]},
        },
    )
    assert not result.tree.is_static()
    # %{d} names only the current domain, so the include is followed all the same.
    assert result.tree.children[0].children[0].domain == "_spf.example.com.relay.example.net"
    assert result.authorizes("198.51.100.1") is True
    assert result.authorizes("203.0.113.1") is None  # exists could still match: ask check_host
    assert result.lookups == 3


def test_timeout_is_a_finding_not_an_exception(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {
            "example.com": {"TXT": ["v=spf1 include:slow.example.net a:slowhost.example.net -all"]},
            "slow.example.net": {"TXT": TIMEOUT},
            "slowhost.example.net": TIMEOUT,
        },
    )
    found = [f for f in result.findings if f.code == "dns_error"]
    assert [f.term for f in found] == ["include:slow.example.net", "a:slowhost.example.net"]
    assert result.tree.children[0].error is not None
    root = run(nameserver, {"example.com": TIMEOUT})
    assert codes(root) == ["dns_error"]
    assert root.record is None


def test_garbage_bytes_in_txt(nameserver: StartServer) -> None:
    result = run(
        nameserver, {"example.com": {"TXT": [b"v=spf1 include:spf.trekmail.net \xff\xfe -all"]}}
    )
    assert "syntax_error" in codes(result)
    assert result.record is not None


@pytest.mark.parametrize(
    ("domain", "code"),
    [
        ("a" * 64 + ".example.com", "invalid_domain"),
        (".".join(["abcdefghij"] * 26), "invalid_domain"),
        ("exa mple..com", "invalid_domain"),
        ("", "invalid_domain"),
    ],
)
def test_bad_names_give_findings(nameserver: StartServer, domain: str, code: str) -> None:
    result = run(nameserver, {}, domain=domain)
    assert codes(result) == [code]
    assert result.lookups == 0


def test_idn_is_looked_up_as_punycode(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {"xn--bcher-kva.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}},
        domain="Bücher.example.",
    )
    assert result.domain == "xn--bcher-kva.example"
    assert result.findings == ()
    assert result.lookups == 1


def test_a_pasted_address_means_its_domain(nameserver: StartServer) -> None:
    result = run(
        nameserver,
        {"example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}},
        domain=" Info@Example.COM ",
    )
    assert result.domain == "example.com"
    assert result.lookups == 1


def test_include_with_an_invalid_name_is_not_followed(nameserver: StartServer) -> None:
    long_label = "a" * 70
    result = run(
        nameserver, {"example.com": {"TXT": [f"v=spf1 include:{long_label}.example.net -all"]}}
    )
    assert result.lookups == 1
    assert result.tree.children == ()


async def test_async_gives_the_same_analysis(nameserver: StartServer) -> None:
    data = {"example.com": {"TXT": ["v=spf1 include:_spf.google.com include:sendgrid.net ~all"]}}
    server = nameserver(zone(data))
    sync = analyze("example.com", resolver=server.resolver())
    asynchronous = await analyze_async("example.com", resolver=server.resolver())
    assert asynchronous == sync
    assert asynchronous.lookups == 4


def test_to_dict_is_plain_data(nameserver: StartServer) -> None:
    result = run(nameserver, {"example.com": {"TXT": ["v=spf1 include:sendgrid.net ?all"]}})
    data = result.to_dict()
    assert data["lookups"] == 1
    assert data["findings"][0]["code"] == "neutral_all"  # type: ignore[index]
    assert data["tree"]["children"][0]["networks"][0] == "167.89.0.0/17"  # type: ignore[index]


# Trees where an IPv4 client matching nothing walks every term: `check_host` (which passes the
# OpenSPF suite) must then spend exactly the look-ups and void look-ups the analysis counts.
AGREEMENT = [
    {
        "example.com": {"TXT": ["v=spf1 a:g1.example.com include:_b.example.com -all"]},
        "_b.example.com": {"TXT": ["v=spf1 a:g2.example.com a:g3.example.com ~all"]},
    },
    {
        "example.com": {
            "TXT": ["v=spf1 mx a:gone.example.com include:_spf.google.com -all"],
            "MX": ["10 mx.example.com"],
        },
        "mx.example.com": {"A": ["192.0.2.1"]},
    },
    {
        "example.com": {
            "TXT": ["v=spf1 include:mailgun.org redirect=_spf.example.net exp=why.example.com"]
        },
        "_spf.example.net": {"TXT": ["v=spf1 a:gone.example.net mx:gone.example.net ~all"]},
    },
    {
        "example.com": {"TXT": ["v=spf1 include:_a.example.com exists:gone.example.com -all"]},
        "_a.example.com": {"TXT": ["v=spf1 mx:nomx.example.com ~all"]},
        "nomx.example.com": {"A": ["192.0.2.2"]},
    },
    {
        "example.com": {
            "TXT": ["v=spf1 mx -all"],
            "MX": [f"{i} mx{i}.example.com" for i in range(10)],
        },
        **{f"mx{i}.example.com": {"A": [f"192.0.2.{i + 10}"]} for i in range(10)},
    },
]


@pytest.mark.parametrize("data", AGREEMENT)
def test_counts_agree_with_check_host(nameserver: StartServer, data: dict[str, Any]) -> None:
    server = nameserver(zone(data))
    resolver = server.resolver()
    analysis = analyze("example.com", resolver=resolver)
    verdict = check_host("198.18.0.1", "someone@example.com", resolver=resolver)
    assert verdict.result in ("fail", "softfail", "neutral", "permerror")
    assert (verdict.lookups, verdict.void_lookups) == (analysis.lookups, analysis.void_lookups)
    assert (verdict.result == "permerror") == analysis.has("too_many_void_lookups")


def test_every_code_is_documented_and_reachable() -> None:
    # Each code is produced by a test above; this guards the list against typos and drift.
    source = (Path(__file__).parent / "test_analyze.py").read_text()
    for code in FINDING_CODES:
        assert f'"{code}"' in source, code
    package = Path(__file__).parents[3] / "diagnostics" / "spf"
    emitted = (package / "analyze.py").read_text() + (package / "lint.py").read_text()
    for code in FINDING_CODES:
        assert f'"{code}"' in emitted, code


def test_running_total_continues_through_includes_without_a_record(
    nameserver: StartServer,
) -> None:
    # A record-less include still sits at its place in the 10-lookup budget: the running total
    # a person reads against 10 must not drop back to 0 there.
    result = run(
        nameserver,
        {
            "example.com": {
                "TXT": ["v=spf1 include:spf.trekmail.net include:gone.example.net -all"]
            },
        },
    )
    assert codes(result) == ["include_without_record"]
    assert [n.running_total for n in result.tree.walk()] == [2, 1, 2]
