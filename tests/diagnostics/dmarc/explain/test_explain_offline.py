"""explain() when DNS cannot be read: the catalogue's copied networks and reverse DNS recognise the
sources, each diagnosis says which evidence it used, and an address nothing recognises is
"undetermined" rather than a confident "forwarded" or "unauthorized". The scenario corpus holds
the single-include cases (timeout, SERVFAIL, no record); these are the whole-resolver ones."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from diagnostics.dmarc import ActionCode, Category, explain
from diagnostics.dmarc.explain._categories import Signals, classify
from diagnostics.dns import Resolver
from diagnostics.enrich import MemoryCache, describe
from tests.diagnostics.dmarc.conftest import record_row
from tests.support.nameserver import LoopbackNameserver

PROVIDER_ZONE = yaml.safe_load(
    (Path(__file__).parents[3] / "scenarios" / "_providers.yaml").read_text()
)
Start = Callable[..., LoopbackNameserver]

BAKERY = "bluebird-bakery.example"
HARBOR = "harborandpine.example"


def _row(ip: str, count: int, domain: str = BAKERY, **verdicts: str) -> dict[str, Any]:
    return record_row(ip, count, domain, **verdicts)


# The demo reports' situations (admin/sample_reports.py): SendGrid without its include, DKIM
# carrying DMARC; an unsigned stranger; SES on its own MAIL FROM and d=.
DEMO = pd.DataFrame(
    [
        _row("167.89.12.34", 180),
        _row("167.89.12.35", 95),
        _row("198.51.100.77", 12, dkim_aligned="fail", dkim_domains="", dkim_results=""),
        _row(
            "54.240.8.21",
            420,
            HARBOR,
            envelope_from="eu-west-1.amazonses.com",
            spf_result="pass",
            dkim_aligned="fail",
            dkim_domains="amazonses.com",
            dkim_results="pass",
        ),
    ]
)


@pytest.fixture
def silent_dns() -> Iterator[Resolver]:
    """A resolver whose nameserver (a bound loopback UDP socket nobody reads) never answers: a
    laptop without network."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield Resolver(["127.0.0.1"], port=sock.getsockname()[1], timeout=0.2)
    finally:
        sock.close()


def test_without_any_dns_the_demo_keeps_its_headline_and_says_why(silent_dns: Resolver) -> None:
    found = {(d.domain, d.source): d for d in explain(DEMO, resolver=silent_dns)}
    assert set(found) == {(BAKERY, "SendGrid"), (BAKERY, "198.51.100.77"), (HARBOR, "Amazon SES")}

    sendgrid = found[(BAKERY, "SendGrid")]
    assert sendgrid.category is Category.SPF_INCLUDE_MISSING
    assert sendgrid.messages == 275
    assert sendgrid.evidence.recognised_by == "catalogue"
    assert sendgrid.evidence.networks_as_of is not None
    assert "sendgrid.net" in sendgrid.evidence.unreadable
    text = sendgrid.explanation
    assert f"as of {sendgrid.evidence.networks_as_of.isoformat()}" in text
    assert "could not read sendgrid.net" in text
    # The customer's own record could not be read either: no claim it is still failing.
    assert "still failing" not in text
    assert "whether it has been fixed since is not known" in text
    add = sendgrid.actions[0]
    assert add.code is ActionCode.ADD_SPF_INCLUDE
    assert add.record is None  # no record to paste over one nobody could read
    assert "SendGrid" in add.message
    assert "run this again" in add.message

    stranger = found[(BAKERY, "198.51.100.77")]
    assert stranger.category is Category.UNDETERMINED
    assert "could not be told" in stranger.explanation
    assert [a.code for a in stranger.actions] == [ActionCode.NO_ACTION]

    ses = found[(HARBOR, "Amazon SES")]
    assert ses.category is Category.DKIM_NOT_ALIGNED
    assert ses.evidence.recognised_by == "catalogue"
    assert "could not read amazonses.com" in ses.explanation


def test_readable_dns_outranks_the_catalogue_copy(nameserver: Start) -> None:
    # 149.72.4.9 is in the catalogue's copy of SendGrid's networks but not in today's (test)
    # record: today's record is the answer, so the address is not SendGrid's.
    server = nameserver({**PROVIDER_ZONE, "example.com": {"TXT": ["v=spf1 -all"]}})
    rows = pd.DataFrame(
        [_row("149.72.4.9", 10, "example.com"), _row("167.89.3.3", 5, "example.com")]
    )
    found = {d.source: d for d in explain(rows, resolver=server.resolver())}
    assert found["SendGrid"].ips == ("167.89.3.3",)
    assert found["SendGrid"].evidence.recognised_by == "spf"
    assert found["SendGrid"].evidence.networks_as_of is None
    assert "Recognised as" not in found["SendGrid"].explanation
    assert found["149.72.4.9"].category is Category.FORWARDED


def _signals(**changes: Any) -> Signals:
    base: dict[str, Any] = {
        "spf_aligned": False,
        "dkim_aligned": True,
        "spf_result": "fail",
        "own_envelope": True,
        "authorized_today": None,
        "provider": None,
        "return_path": False,
        "unaligned_dkim_pass": False,
        "unreadable": True,
    }
    return Signals(**(base | changes))


@pytest.mark.parametrize(
    ("changes", "category"),
    [
        ({}, Category.UNDETERMINED),
        ({"dkim_aligned": False}, Category.UNDETERMINED),
        ({"unreadable": False}, Category.FORWARDED),
        ({"unreadable": False, "dkim_aligned": False}, Category.UNAUTHORIZED),
        # Evidence that does not come from the providers' DNS still decides.
        ({"service_type": "Email Provider"}, Category.FORWARDED),
        ({"override_reasons": frozenset({"forwarded"})}, Category.FORWARDED),
        ({"provider": "sendgrid"}, Category.SPF_INCLUDE_MISSING),
    ],
)
def test_classify_when_a_provider_include_was_unreadable(
    changes: dict[str, Any], category: Category
) -> None:
    assert classify(_signals(**changes)) is category


def test_the_enrichment_cache_names_a_source_dns_cannot(nameserver: Start) -> None:
    # sendgrid.net answers SERVFAIL (a CNAME loop) and 159.183.7.7 is outside the catalogue's
    # copy: only the reverse DNS an earlier run stored in the cache can name it.
    server = nameserver(
        {
            **PROVIDER_ZONE,
            "example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
            "sendgrid.net": {"CNAME": ["loop.test"]},
            "loop.test": {"CNAME": ["sendgrid.net"]},
        }
    )
    rows = pd.DataFrame([_row("159.183.7.7", 40, "example.com")])
    [unknown] = explain(rows, resolver=server.resolver())
    assert unknown.category is Category.UNDETERMINED

    cache = MemoryCache()
    cache.put_many([describe("159.183.7.7", "o7.ptr4242.sendgrid.net")], ttl=60)
    [known] = explain(rows, resolver=server.resolver(), cache=cache)
    assert known.source == "SendGrid"
    assert known.category is Category.SPF_INCLUDE_MISSING
    assert known.evidence.recognised_by == "ptr"
    assert "reverse DNS o7.ptr4242.sendgrid.net" in known.explanation
    assert known.actions[0].record == "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
